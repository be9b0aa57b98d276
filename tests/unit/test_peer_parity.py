"""Issue #16 (peer parity), what needs no daemon: argument checks and model null tracking."""

from __future__ import annotations

import pytest

from engineapi import InvalidArgument, PortMapping
from engineapi.api import containers


@pytest.mark.parametrize("bad", ["80/tcpx", "http", "", True, 8.0, "80-81"])
def test_port_refuses_what_is_not_a_container_port(bad: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        containers.port("c", bad)  # type: ignore[arg-type]
    assert caught.value.argument == "private_port"


def test_port_mapping_prints_as_the_cli() -> None:
    assert str(PortMapping("80/tcp", "::", 8080)) == "80/tcp -> [::]:8080"
    assert PortMapping("53/udp", "", 5353).host == ":5353"


def test_is_null_tells_an_explicit_null_from_an_absent_key() -> None:
    from engineapi.models import ContainerConfig, has_key, is_null

    config = ContainerConfig.from_wire({"Image": "busybox", "Env": None})
    assert config.env is None and config.entrypoint is None  # alike as attributes…
    assert is_null(config, "env") and is_null(config, "Env")  # attribute or wire name
    assert not is_null(config, "entrypoint") and not has_key(config, "entrypoint")
    assert has_key(config, "env") and has_key(config, "image") and not is_null(config, "image")
    config.env = ["A=1"]  # a value replaces the null
    assert not is_null(config, "env") and has_key(config, "env")
    assert config.to_wire() == {"Image": "busybox", "Env": ["A=1"]}
    with pytest.raises(AttributeError, match="no wire field 'nope'"):
        is_null(config, "nope")


def test_set_null_sends_an_explicit_null() -> None:
    from engineapi.models import ContainerConfig, has_key, is_null, set_null

    config = ContainerConfig(image="busybox", cmd=["true"])
    assert not has_key(config, "entrypoint")
    set_null(config, "entrypoint")
    set_null(config, "Cmd")
    assert is_null(config, "entrypoint") and config.cmd is None
    assert config.to_wire() == {"Cmd": None, "Image": "busybox", "Entrypoint": None}


def test_null_bits_of_a_subclass_follow_field_info() -> None:
    # HostConfig builds on Resources: base fields first, for the bits as for field_info.
    from engineapi.models import HostConfig, field_info, has_key, is_null

    wire = [info.wire for info in field_info(HostConfig).values()]
    for position in (0, len(wire) // 2, len(wire) - 1):
        decoded = HostConfig.from_wire({wire[position]: None, "Privileged": False})
        assert [w for w in wire if is_null(decoded, w)] == [wire[position]]
        assert {w for w in wire if has_key(decoded, w)} == {wire[position], "Privileged"}


def test_changes_are_one_parameter_per_instruction_for_commit_and_import() -> None:
    from engineapi.api import images

    text = 'ENV A=1\nLABEL a=b \\\n  c=d\n\nCMD ["sh"]'
    wanted = [("changes", "ENV A=1"), ("changes", "LABEL a=b \\\n  c=d"), ("changes", 'CMD ["sh"]')]
    for changes in (text, ["ENV A=1", "LABEL a=b \\\n  c=d", 'CMD ["sh"]']):
        commit = images.commit("c", changes=changes)
        imported = images.import_image(b"", changes=changes)
        assert [q for q in commit.query if q[0] == "changes"] == wanted
        assert [q for q in imported.query if q[0] == "changes"] == wanted
    assert [q for q in images.commit("c", changes="CMD x").query if q[0] == "changes"] == [
        ("changes", "CMD x")
    ]
    for bad in (3, [b"CMD x"], ["CMD x", None]):
        with pytest.raises(InvalidArgument) as caught:
            images.commit("c", changes=bad)  # type: ignore[arg-type]
        assert caught.value.argument == "changes"


def test_tls_config_takes_a_context_or_paths_not_both() -> None:
    import ssl

    from engineapi.config import TLSConfig, resolve_endpoint

    context = ssl.create_default_context()
    assert TLSConfig(context=context).ssl_context() is context
    with pytest.raises(ValueError, match="not both \\(ca_cert with context=\\)"):
        TLSConfig(ca_cert="/ca.pem", context=context)
    with pytest.raises(ValueError, match="verify=False"):
        TLSConfig(verify=False, context=context)
    with pytest.raises(TypeError, match="takes an ssl.SSLContext"):
        TLSConfig(context="/ca.pem")  # type: ignore[arg-type]
    endpoint = resolve_endpoint("tcp://127.0.0.1:2376", context, environ={})
    assert endpoint.tls is not None and endpoint.tls.ssl_context() is context
    assert endpoint.tls_source == "argument tls="
    with pytest.raises(TypeError, match="ssl.SSLContext"):
        resolve_endpoint("tcp://127.0.0.1:2376", "yes", environ={})  # type: ignore[arg-type]


def test_partial_service_update_merges_and_retries_out_of_sequence() -> None:
    from engineapi import Client
    from engineapi.testing import MockBackend, MockResponse

    state = {"index": 10, "refuse": 1}
    spec = {
        "Name": "web",
        "Labels": {"keep": "1", "drop": "x"},
        "TaskTemplate": {"ContainerSpec": {"Image": "busybox", "Env": ["A=1", "B=2"]}},
        "Mode": {"Replicated": {"Replicas": 1}},
    }

    def handler(request):  # type: ignore[no-untyped-def]
        if request.operation_id == "ServiceInspect":
            return MockResponse(
                json={"ID": "s1", "Version": {"Index": state["index"]}, "Spec": spec}
            )
        if request.operation_id == "ServiceUpdate":
            if state["refuse"]:
                state["refuse"] -= 1
                state["index"] += 1  # someone else updated it meanwhile
                return MockResponse.error(
                    500, "rpc error: code = Unknown desc = update out of sequence"
                )
            return MockResponse(json={"Warnings": ["w"]})
        return None

    mock = MockBackend(handler)
    with Client(backend=mock, host="unix:///mock.sock") as client:
        result = client.services.update(
            "web",
            image="busybox:1.36",
            env={"B": "3", "A": None, "C": "4"},
            labels={"drop": None, "team": "a"},
            replicas=3,
            extra_query={"someFlag": True},
        )
    assert result.warnings == ["w"]
    sent = [r for r in mock.requests if not r.operation_id.startswith("SystemPing")]
    assert [r.operation_id for r in sent] == [
        "ServiceInspect",
        "ServiceUpdate",
        "ServiceInspect",
        "ServiceUpdate",
    ]
    assert [r.param("version") for r in sent[1::2]] == ["10", "11"]
    assert [r.param("someFlag") for r in sent] == [None, "1", None, "1"]  # the update only
    body = sent[3].json()
    assert body["TaskTemplate"]["ContainerSpec"] == {"Image": "busybox:1.36", "Env": ["B=3", "C=4"]}
    assert body["Labels"] == {"keep": "1", "team": "a"}
    assert body["Mode"] == {"Replicated": {"Replicas": 3}}
    assert spec["Labels"] == {"keep": "1", "drop": "x"}  # what the daemon sent is not changed


def test_a_full_update_is_one_request_and_a_given_version_is_not_retried() -> None:
    from engineapi import Client, ServerError
    from engineapi.testing import MockBackend, MockResponse

    def handler(request):  # type: ignore[no-untyped-def]
        if request.operation_id == "NodeUpdate":
            return MockResponse.error(500, "update out of sequence")
        if request.operation_id == "SecretUpdate":
            return MockResponse(status=200, content=b"")
        return None

    mock = MockBackend(handler)
    with Client(backend=mock, host="unix:///mock.sock") as client:
        client.secrets.update("s1", {"Name": "pw", "Labels": {"a": "b"}}, version=4)
        with pytest.raises(ServerError, match="out of sequence"):
            client.nodes.update("n1", {"Availability": "drain"}, version=7)
    sent = [r for r in mock.requests if not r.operation_id.startswith("SystemPing")]
    assert [(r.operation_id, r.param("version")) for r in sent] == [
        ("SecretUpdate", "4"),
        ("NodeUpdate", "7"),
    ]
