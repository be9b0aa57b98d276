"""Swarm, nodes, services and tasks: the calls the builders make, the `scale` and `rollback`
flows, and the clients on recorded daemon answers (a scripted transport, no daemon).

The recorded answers are what Docker 20.10 (API 1.41) and Docker 28.5 (API 1.51) sent in the
live tests, plus what cannot happen on these machines: a locked manager after a restart
(``swarm.unlock`` succeeding) and a CSI cluster volume being updated.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engineapi import AsyncClient, Client, ServiceUnavailable
from engineapi.api import nodes, services, swarm, tasks
from engineapi.api._call import Call, Reply
from engineapi.http import Headers
from engineapi.models import (
    NodeSpec,
    Service,
    ServiceSpec,
    ServiceUpdateResponse,
    SwarmInitRequest,
    SwarmJoinRequest,
    SwarmSpec,
    SwarmUnlockRequest,
    VolumeUpdateRequest,
)
from engineapi.streams.stdcopy import STDERR, STDOUT


def query_of(call: Call[Any]) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.target("1.51")).query))


def body_of(call: Call[Any]) -> Any:
    assert isinstance(call.body, bytes)
    return json.loads(call.body)


def reply(body: object, status: int = 200) -> Reply:
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return Reply(status, Headers([("Content-Type", "application/json")]), raw)


# ------------------------------------------------------------------------------ builders


def test_init_fills_the_cli_defaults() -> None:
    call = swarm.init(
        SwarmInitRequest(advertise_addr="10.0.0.5", default_addr_pool=["10.20.0.0/16"])
    )
    assert (call.operation_id, call.method, call.path) == ("SwarmInit", "POST", "/swarm/init")
    assert body_of(call) == {
        "AdvertiseAddr": "10.0.0.5",
        "DefaultAddrPool": ["10.20.0.0/16"],
        "ListenAddr": "0.0.0.0:2377",
        "SubnetSize": 24,  # Docker 20.10's allocator fails on 0
    }
    assert body_of(swarm.init()) == {"ListenAddr": "0.0.0.0:2377"}
    given = {"ListenAddr": "127.0.0.1:2377", "DefaultAddrPool": ["10.1.0.0/16"], "SubnetSize": 26}
    assert body_of(swarm.init(given)) == given
    # The answer is the node ID as a JSON string.
    assert call.decode(reply("i5ufy4qgkski7djdmoahy8c11")) == "i5ufy4qgkski7djdmoahy8c11"


def test_join_leave_update_unlock() -> None:
    call = swarm.join(SwarmJoinRequest(remote_addrs=["10.0.0.5:2377"], join_token="SWMTKN-1-x"))
    assert body_of(call) == {
        "RemoteAddrs": ["10.0.0.5:2377"],
        "JoinToken": "SWMTKN-1-x",
        "ListenAddr": "0.0.0.0:2377",
    }
    assert query_of(swarm.leave()) == {}
    call = swarm.leave(force=True)
    assert query_of(call) == {"force": "1"} and call.response_timeout is None
    # A full update (spec and version given) is one request: the flow's first step.
    call = next(swarm.update(SwarmSpec(labels={"a": "b"}), version=10, rotate_worker_token=True))
    assert query_of(call) == {"version": "10", "rotateWorkerToken": "1"}
    assert body_of(call) == {"Labels": {"a": "b"}}
    call = next(
        swarm.update({}, version=3, rotate_manager_token=True, rotate_manager_unlock_key=True)
    )
    assert query_of(call) == {
        "version": "3",
        "rotateManagerToken": "1",
        "rotateManagerUnlockKey": "1",
    }
    assert body_of(swarm.unlock("SWMKEY-1-abc")) == {"UnlockKey": "SWMKEY-1-abc"}
    assert body_of(swarm.unlock(SwarmUnlockRequest(unlock_key="k"))) == {"UnlockKey": "k"}
    key = swarm.unlock_key().decode(reply({"UnlockKey": "SWMKEY-1-abc"}))
    assert key.unlock_key == "SWMKEY-1-abc"


def test_nodes() -> None:
    call = nodes.list(filters={"role": ["worker"]})
    assert (call.path, json.loads(query_of(call)["filters"])) == ("/nodes", {"role": ["worker"]})
    assert nodes.inspect("self").path == "/nodes/self"
    call = next(
        nodes.update(
            "n1", NodeSpec.from_wire({"Role": "worker", "Availability": "drain"}), version=5
        )
    )
    assert (call.method, call.path, query_of(call)) == (
        "POST",
        "/nodes/n1/update",
        {"version": "5"},
    )
    assert body_of(call) == {"Role": "worker", "Availability": "drain"}
    call = nodes.delete("n1", force=True)
    assert (call.method, query_of(call)) == ("DELETE", {"force": "1"})


def test_services() -> None:
    spec = ServiceSpec.from_wire(
        {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "busybox"}}}
    )
    call = services.create(spec)
    assert (call.operation_id, call.path) == ("ServiceCreate", "/services/create")
    assert body_of(call)["TaskTemplate"] == {"ContainerSpec": {"Image": "busybox"}}
    assert not any(name == "X-Registry-Auth" for name, _ in call.headers)
    call = services.create(spec, auth={"username": "u", "password": "p"})
    assert any(name == "X-Registry-Auth" for name, _ in call.headers)
    created = call.decode(reply({"ID": "svc1", "Warnings": None}, 201))
    assert created.id == "svc1"

    call = next(services.update("web", spec, version=4, rollback="previous"))
    assert query_of(call) == {"version": "4", "rollback": "previous"}
    call = next(services.update("web", spec, version=4, registry_auth_from="previous-spec"))
    assert query_of(call) == {"version": "4", "registryAuthFrom": "previous-spec"}
    answer = call.decode(reply({"Warnings": ["image could not be accessed on a registry"]}))
    assert answer.warnings == ["image could not be accessed on a registry"]

    call = services.list(filters={"mode": ["replicated"]}, status=True)
    assert query_of(call)["status"] == "1"
    assert query_of(services.inspect("web", insert_defaults=True)) == {"insertDefaults": "1"}
    assert services.delete("web").method == "DELETE"


def test_logs_calls_and_their_tty_probes() -> None:
    call = services.logs("web", since=1700000000, tail=10, timestamps=True, details=True)
    assert (call.operation_id, call.path) == ("ServiceLogs", "/services/web/logs")
    assert query_of(call) == {
        "details": "1",
        "stdout": "1",
        "stderr": "1",
        "since": "1700000000",
        "timestamps": "1",
        "tail": "10",
    }
    probe = call.tty_probe
    assert probe is not None and probe.path == "/services/web"
    tty = {"Spec": {"TaskTemplate": {"ContainerSpec": {"Image": "b", "TTY": True}}}}
    assert probe.decode(reply(tty)) is True
    assert probe.decode(reply({"Spec": {"TaskTemplate": {"ContainerSpec": {}}}})) is False

    call = tasks.logs("t1", stderr=False, follow=True)
    assert query_of(call) == {"follow": "1", "stdout": "1", "stderr": "0"}
    probe = call.tty_probe
    assert probe is not None and probe.path == "/tasks/t1"
    assert probe.decode(reply({"Spec": {"ContainerSpec": {"TTY": True}}})) is True
    assert tasks.list(filters={"service": ["web"]}).path == "/tasks"
    assert tasks.inspect("t1").path == "/tasks/t1"


# --------------------------------------------------------------------------------- flows


def _service(version: int, replicas: int | None = 2, mode: str = "Replicated") -> Service:
    mode_body: dict[str, Any] = {mode: {"Replicas": replicas} if mode == "Replicated" else {}}
    return Service.from_wire(
        {
            "ID": "svc1",
            "Version": {"Index": version},
            "Spec": {
                "Name": "web",
                "TaskTemplate": {"ContainerSpec": {"Image": "busybox", "Env": ["A=1"]}},
                "Mode": mode_body,
            },
        }
    )


def drive(flow: Iterator[Any], answers: list[Any]) -> tuple[list[Call[Any]], Any]:
    """Run a flow by hand: the calls it makes, and what it returns."""
    calls: list[Call[Any]] = []
    result: Any = None
    try:
        step = next(flow)
        for answer in answers:
            calls.append(step)
            step = flow.send(answer)
        raise AssertionError(f"the flow wants more: {step!r}")
    except StopIteration as stop:
        result = stop.value
    return calls, result


def test_scale_keeps_the_spec_and_sets_replicas() -> None:
    done = ServiceUpdateResponse.from_wire({})
    calls, result = drive(services.scale("web", 5), [_service(41), done])
    assert [c.operation_id for c in calls] == ["ServiceInspect", "ServiceUpdate"]
    assert query_of(calls[1]) == {"version": "41"}
    body = body_of(calls[1])
    assert body["Mode"] == {"Replicated": {"Replicas": 5}}
    assert body["TaskTemplate"] == {"ContainerSpec": {"Image": "busybox", "Env": ["A=1"]}}
    assert result is done


def test_scale_refuses_a_global_service() -> None:
    with pytest.raises(ValueError, match="not replicated"):
        drive(services.scale("web", 5), [_service(3, mode="Global")])


def test_rollback_sends_the_current_spec_with_rollback_previous() -> None:
    calls, _ = drive(services.rollback("web"), [_service(17), ServiceUpdateResponse.from_wire({})])
    assert query_of(calls[1]) == {"version": "17", "rollback": "previous"}
    assert body_of(calls[1])["Name"] == "web"


# ------------------------------------------------------------- recorded daemon answers


class Scripted:
    """A transport that answers each request with the next recorded response."""

    address = "unix:///scripted.sock"

    def __init__(self, responses: list[bytes]) -> None:
        self.responses = list(responses)
        self.requests: list[bytes] = []

    def connect(self, timeout: float | None) -> ScriptedStream:
        return ScriptedStream(self)

    async def aconnect(self, timeout: float | None) -> AsyncScriptedStream:
        return AsyncScriptedStream(ScriptedStream(self))


class ScriptedStream:
    def __init__(self, script: Scripted) -> None:
        self.script = script
        self.inbox = b""
        self.outbox = b""

    def write(self, data: bytes, timeout: float | None) -> None:
        self.inbox += data
        while b"\r\n\r\n" in self.inbox:
            head, _, rest = self.inbox.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.script.requests.append(head + b"\r\n\r\n" + rest[:length])
            self.inbox = rest[length:]
            self.outbox += self.script.responses.pop(0)

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        data, self.outbox = self.outbox[:max_bytes], self.outbox[max_bytes:]
        return data

    def close_write(self) -> None:
        pass

    def close(self) -> None:
        pass

    def is_readable(self) -> bool:
        return False


class AsyncScriptedStream:
    def __init__(self, stream: ScriptedStream) -> None:
        self.stream = stream

    async def write(self, data: bytes, timeout: float | None) -> None:
        self.stream.write(data, timeout)

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        return self.stream.read(max_bytes, timeout)

    async def close_write(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    def is_readable(self) -> bool:
        return False


def http(status: str, body: bytes = b"", content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nApi-Version: 1.51\r\nContent-Type: {content_type}\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def paths(script: Scripted) -> list[str]:
    return [r.split(b"\r\n", 1)[0].decode() for r in script.requests]


def test_service_logs_on_api_1_41_probe_the_tty_flag() -> None:
    """Docker 20.10 labels every log body a raw stream: the service's TTY flag decides."""
    inspect = json.dumps({"Spec": {"TaskTemplate": {"ContainerSpec": {"Image": "busybox"}}}})
    logs = frame(1, b"out-1\n") + frame(2, b"err-1\n")
    script = Scripted(
        [
            http("200 OK", inspect.encode()),
            http("200 OK", logs, "application/vnd.docker.raw-stream"),
        ]
    )
    with Client("unix:///scripted.sock", version="1.41", transport=script) as client:
        assert client.services.logs("web").read_split() == (b"out-1\n", b"err-1\n")
    assert paths(script) == [
        "GET /v1.41/services/web HTTP/1.1",
        "GET /v1.41/services/web/logs?stdout=1&stderr=1 HTTP/1.1",
    ]


def test_task_logs_of_a_tty_task_are_raw() -> None:
    script = Scripted(
        [
            http("200 OK", json.dumps({"Spec": {"ContainerSpec": {"TTY": True}}}).encode()),
            http("200 OK", b"raw tty output\r\n", "application/vnd.docker.raw-stream"),
        ]
    )
    with Client("unix:///scripted.sock", version="1.41", transport=script) as client:
        frames = list(client.tasks.logs("t1"))
    assert frames == [(STDOUT, b"raw tty output\r\n")]


def test_logs_on_api_1_42_follow_the_content_type_without_a_probe() -> None:
    logs = frame(2, b"err\n")
    script = Scripted([http("200 OK", logs, "application/vnd.docker.multiplexed-stream")])

    async def run() -> list[tuple[int, bytes]]:
        async with AsyncClient("unix:///scripted.sock", version="1.51", transport=script) as c:
            return [f async for f in c.services.logs("web", stdout=False)]

    assert asyncio.run(run()) == [(STDERR, b"err\n")]
    assert paths(script) == ["GET /v1.51/services/web/logs?stdout=0&stderr=1 HTTP/1.1"]


def test_unlock_of_a_locked_manager() -> None:
    """A restarted autolocked manager: `info` says locked, `unlock` answers an empty 200."""
    info = {"Swarm": {"LocalNodeState": "locked", "ControlAvailable": False}}
    locked = {"message": "Swarm is encrypted and needs to be unlocked before it can be used."}
    script = Scripted(
        [
            http("200 OK", json.dumps(info).encode()),
            http("503 Service Unavailable", json.dumps(locked).encode()),
            http("200 OK"),
        ]
    )
    with Client("unix:///scripted.sock", version="1.51", transport=script) as client:
        swarm_info = client.system.info().swarm
        assert swarm_info is not None and swarm_info.local_node_state == "locked"
        with pytest.raises(ServiceUnavailable, match="needs to be unlocked"):
            client.swarm.inspect()
        assert client.swarm.unlock("SWMKEY-1-abc") is None
    assert json.loads(script.requests[-1].split(b"\r\n\r\n", 1)[1]) == {"UnlockKey": "SWMKEY-1-abc"}


def test_volume_update_of_a_cluster_volume_and_without_a_swarm() -> None:
    not_swarm = {
        "message": "volume update only valid for cluster volumes, but swarm is unavailable"
    }
    script = Scripted(
        [http("200 OK"), http("503 Service Unavailable", json.dumps(not_swarm).encode())]
    )
    request = VolumeUpdateRequest.from_wire({"Spec": {"Availability": "pause"}})
    with Client("unix:///scripted.sock", version="1.51", transport=script) as client:
        assert client.volumes.update("csi-vol", request, version=12) is None
        with pytest.raises(ServiceUnavailable) as info:
            client.volumes.update("local-vol", request, version=1)
    assert info.value.message == not_swarm["message"] and info.value.status == 503
    assert paths(script)[0] == "PUT /v1.51/volumes/csi-vol?version=12 HTTP/1.1"


def test_async_scale_is_driven_by_the_async_client() -> None:
    service = {
        "ID": "svc1",
        "Version": {"Index": 9},
        "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 1}}},
    }
    script = Scripted([http("200 OK", json.dumps(service).encode()), http("200 OK", b"{}")])

    async def run() -> ServiceUpdateResponse:
        async with AsyncClient("unix:///scripted.sock", version="1.41", transport=script) as c:
            return await c.services.scale("web", 3)

    assert asyncio.run(run()).warnings is None
    assert paths(script) == [
        "GET /v1.41/services/web HTTP/1.1",
        "POST /v1.41/services/web/update?version=9 HTTP/1.1",
    ]
    sent = json.loads(script.requests[1].split(b"\r\n\r\n", 1)[1])
    assert sent == {"Name": "web", "Mode": {"Replicated": {"Replicas": 3}}}
