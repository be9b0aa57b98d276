"""Every GET endpoint's real answer, on every engine, decodes into its model without loss.

The raw JSON is fetched, decoded with the model the operations table names, encoded again, and
must equal the raw JSON (key order aside): nothing dropped, nothing invented, whatever the
engine version. Swarm-only endpoints are exercised once a swarm exists (networks/swarm issue).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from engineapi import OPERATIONS, Client, RemoteProtocolError, models
from engineapi.api._call import Call, path_param
from tests.conftest import Engine


@pytest.fixture
def objects(engine: Engine, busybox_container: str) -> Iterator[dict[str, str]]:
    """One of each object the GET endpoints inspect, created with the docker CLI."""
    suffix = busybox_container[:8]
    volume = engine.docker("volume", "create", f"engineapi-rt-{suffix}").strip()
    network = engine.docker("network", "create", f"engineapi-rt-{suffix}").strip()
    engine.docker("exec", busybox_container, "sh", "-c", "echo changed > /tmp/changed")
    with Client(engine.host) as client:
        exec_id = client.send(
            Call(
                "ContainerExec",
                method="POST",
                path=f"/containers/{busybox_container}/exec",
                json_body={"Cmd": ["true"], "AttachStdout": True},
                decode=lambda r: r.json()["Id"],
            )
        )
    try:
        yield {
            "container": busybox_container,
            "image": "busybox",
            "volume": volume,
            "network": network,
            "exec": exec_id,
        }
    finally:
        engine.docker("network", "rm", network, check=False)
        engine.docker("volume", "rm", "-f", volume, check=False)


def fetch(client: Client, operation_id: str, path: str, query: dict[str, object]) -> Any:
    call: Call[Any] = Call(
        operation_id, method="GET", path=path, query=query, decode=lambda r: json.loads(r.body)
    )
    return client.send(call)


# operationId → (path parameter kind, query)
CASES: dict[str, tuple[str | None, dict[str, object]]] = {
    "ContainerList": (None, {"all": True, "size": True}),
    "ContainerInspect": ("container", {"size": True}),
    "ContainerTop": ("container", {}),
    "ContainerChanges": ("container", {}),
    "ContainerStats": ("container", {"stream": False}),
    "ImageList": (None, {"all": True}),
    "ImageInspect": ("image", {}),
    "ImageHistory": ("image", {}),
    "SystemInfo": (None, {}),
    "SystemVersion": (None, {}),
    "SystemDataUsage": (None, {}),
    "ExecInspect": ("exec", {}),
    "VolumeList": (None, {}),
    "VolumeInspect": ("volume", {}),
    "NetworkList": (None, {}),
    "NetworkInspect": ("network", {}),
    # PluginList, PluginInspect: with the plugins of the networks/plugins issue (none installed).
}


@pytest.mark.parametrize("operation_id", CASES)
def test_get_endpoint_round_trips(
    engine: Engine, objects: dict[str, str], operation_id: str
) -> None:
    operation = OPERATIONS[operation_id]
    kind, query = CASES[operation_id]
    path = operation.path
    if kind is not None:
        name = next(p.name for p in operation.params.values() if p.location == "path")
        path = path.replace(f"{{{name}}}", path_param(objects[kind]))
    with Client(engine.host) as client:
        raw = fetch(client, operation_id, path, query)
    assert operation.response_model is not None
    model = getattr(models, operation.response_model)
    if operation.response_is_list:
        assert isinstance(raw, list) and raw, f"{operation_id} returned nothing to check"
        decoded = [model.from_wire(item) for item in raw]
        assert [item.to_wire() for item in decoded] == raw
    else:
        assert isinstance(raw, dict) and raw
        decoded_one = model.from_wire(raw)
        assert decoded_one.to_wire() == raw
        assert model.from_wire(decoded_one.to_wire()) == decoded_one


def test_event_stream_round_trips(engine: Engine) -> None:
    import time

    engine.docker("run", "--rm", "busybox", "true")
    with Client(engine.host) as client:
        call: Call[Any] = Call(
            "SystemEvents",
            method="GET",
            path="/events",
            query={"since": f"{time.time() - 60:.3f}", "until": f"{time.time() + 1:.3f}"},
            decode=lambda r: r.body,
        )
        body = client.send(call)
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert lines
    for raw in lines:
        assert models.EventMessage.from_wire(raw).to_wire() == raw


def test_typed_fields_are_really_typed(engine: Engine, objects: dict[str, str]) -> None:
    with Client(engine.host) as client:
        inspect = fetch(client, "ContainerInspect", f"/containers/{objects['container']}/json", {})
    decoded = models.ContainerInspectResponse.from_wire(inspect)
    assert decoded.id == objects["container"]
    assert decoded.state is not None and decoded.state.running is True
    assert decoded.state.status == "running"
    assert decoded.config is not None and decoded.config.cmd == ["sleep", "300"]
    assert decoded.host_config is not None


def test_podman_empty_body_is_a_typed_protocol_error(engine: Engine) -> None:
    """Podman 4.3 answers GET /images/json?digests=1 with 200 and no body at all."""
    with Client(engine.host) as client:
        if not engine.is_podman:
            assert client.images.list(digests=True)
            return
        with pytest.raises(RemoteProtocolError, match="empty body"):
            client.images.list(digests=True)
