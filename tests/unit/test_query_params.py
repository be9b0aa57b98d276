"""Every spec parameter has a keyword; list-valued parameters are encoded as the daemons read
them; `extra_query=` is validated; remote build contexts send no body; version gating."""

from __future__ import annotations

import importlib
import inspect
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from engineapi import APIVersionError, Client
from engineapi.api import images
from engineapi.api._call import _KEYWORDS, Call, encode_platform, with_extra_query
from engineapi.api._operations import OPERATIONS

#: Spec parameters whose keyword has another name: (operation, python_name) → keyword — the
#: library's own table (wire names there), which the argument checks name keywords by.
RENAMED = {
    (operation_id, OPERATIONS[operation_id].params[wire].python_name): keyword
    for (operation_id, wire), keyword in _KEYWORDS.items()
}
# X-Registry-Config: a mapping of registries to credentials (default: the CLI's own).
RENAMED[("ImageBuild", "x_registry_config")] = "registry_config"

#: X-Registry-Auth is derived from `auth=` (or the credentials the docker CLI would use).
_AUTH = "auth"
for _op in ("ImageCreate", "ImagePush", "PluginPull", "PluginUpgrade"):
    RENAMED[(_op, "x_registry_auth")] = _AUTH
RENAMED[("ServiceCreate", "x_registry_auth")] = _AUTH
RENAMED[("ServiceUpdate", "x_registry_auth")] = _AUTH

#: Spec parameters deliberately without a keyword, and why.
EXEMPT = {
    # Chosen by the method: stats() sends stream=false, stats_stream() stream=true.
    ("ContainerStats", "stream"),
    # Always "1", the classic builder: BuildKit ("2") needs the gRPC session engineapi leaves
    # out (the Session operation).
    ("ImageBuild", "version"),
    # application/x-tar, with Content-Encoding: gzip when gzip=True.
    ("ImageBuild", "content_type"),
}


def builder(operation_id: str) -> inspect.Signature:
    op = OPERATIONS[operation_id]
    module = importlib.import_module(f"engineapi.api.{op.namespace}")
    return inspect.signature(getattr(module, op.method_name))


def test_every_spec_parameter_has_a_keyword() -> None:
    missing = []
    for operation_id, op in OPERATIONS.items():
        if op.namespace == "session":
            continue  # the deprecated BuildKit Session is left out (see the README)
        keywords = set(builder(operation_id).parameters)
        for param in op.params.values():
            if param.location not in ("query", "header"):
                continue  # path parameters are positional, bodies are models
            key = (operation_id, param.python_name)
            if key in EXEMPT:
                continue
            keyword = RENAMED.get(key, param.python_name)
            if keyword not in keywords:
                missing.append(f"{operation_id}: {param.location} {param.name!r} ({keyword})")
    assert not missing, "spec parameters without a keyword:\n" + "\n".join(missing)


def test_the_exemptions_are_still_needed() -> None:
    for operation_id, python_name in [*EXEMPT, *RENAMED]:
        names = {p.python_name for p in OPERATIONS[operation_id].params.values()}
        assert python_name in names, (operation_id, python_name)


def test_every_single_call_method_takes_extra_query() -> None:
    client = Client("unix:///nonexistent/engineapi.sock", version="1.51")
    for op in OPERATIONS.values():
        if op.namespace == "session":
            continue
        method = getattr(getattr(client, op.namespace), op.method_name)
        assert "extra_query" in inspect.signature(method).parameters, op.operation_id


def query(call: Call[object], *, podman: bool = False) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.target(None, podman=podman)).query)


def test_extra_hosts_are_repeated_for_docker_and_one_json_array_for_podman() -> None:
    call = images.build(b"", extra_hosts=["a.test:127.0.0.1", "b.test:127.0.0.2"])
    docker = [v for k, v in query(call) if k == "extrahosts"]
    assert docker == ["a.test:127.0.0.1", "b.test:127.0.0.2"]
    podman = [v for k, v in query(call, podman=True) if k == "extrahosts"]
    assert [json.loads(v) for v in podman] == [["a.test:127.0.0.1", "b.test:127.0.0.2"]]
    assert "extrahosts" not in dict(query(images.build(b"")))


def test_build_sends_the_new_options() -> None:
    call = images.build(
        b"",
        tag=["a:1", "b:2"],
        quiet=True,
        cache_from=["busybox"],
        shm_size=1,
        squash=True,
        memory=2,
        memory_swap=3,
        cpu_shares=4,
        cpuset_cpus="0-1",
        cpuset_mems="0",
        cpu_period=5,
        cpu_quota=6,
        cgroup_parent="p",
        isolation="hyperv",
        outputs=[{"type": "image"}],
    )
    pairs = query(call)
    assert [v for k, v in pairs if k == "t"] == ["a:1", "b:2"]
    got = dict(pairs)
    assert got["q"] == "1" and got["squash"] == "1" and got["cachefrom"] == '["busybox"]'
    assert (got["shmsize"], got["memory"], got["memswap"], got["cpushares"]) == ("1", "2", "3", "4")
    assert (got["cpusetcpus"], got["cpusetmems"], got["cpuperiod"], got["cpuquota"]) == (
        "0-1",
        "0",
        "5",
        "6",
    )
    assert (got["cgroupparent"], got["isolation"]) == ("p", "hyperv")
    assert json.loads(got["outputs"]) == [{"type": "image"}]
    assert set(call.params) >= {"q", "cachefrom", "shmsize", "outputs"}  # version-gated names


@pytest.mark.parametrize(
    "url",
    [
        "https://example.invalid/app.git",
        "http://127.0.0.1:8000/Dockerfile",
        "git://example.invalid/app",
        "git@example.invalid:me/app.git",
    ],
)
def test_a_url_context_is_sent_as_remote_with_no_body(url: str) -> None:
    for call in (images.build(url), images.build(remote=url)):
        assert dict(query(call))["remote"] == url
        assert call.body is None and call.local is None


def test_build_wants_one_context() -> None:
    with pytest.raises(TypeError):
        images.build()
    with pytest.raises(TypeError):
        images.build(b"", remote="https://example.invalid/x.git")


def test_platforms_are_json_oci_platforms() -> None:
    assert json.loads(encode_platform("linux/arm64/v8")) == {
        "os": "linux",
        "architecture": "arm64",
        "variant": "v8",
    }
    assert json.loads(encode_platform({"os": "linux", "architecture": "amd64"}))["os"] == "linux"
    assert encode_platform('{"os":"linux"}') == '{"os":"linux"}'
    with pytest.raises(ValueError):
        encode_platform("linux//x")
    call = images.get_all(["a", "b"], platform=["linux/amd64", "linux/arm64"])
    pairs = query(call)
    assert [v for k, v in pairs if k == "names"] == ["a", "b"]
    assert [json.loads(v)["architecture"] for k, v in pairs if k == "platform"] == [
        "amd64",
        "arm64",
    ]
    assert json.loads(dict(query(images.inspect("a", platform="linux/amd64")))["platform"])
    deleted = query(images.delete("a", platforms="linux/amd64"))
    assert [json.loads(v) for k, v in deleted if k == "platforms"] == [
        {"os": "linux", "architecture": "amd64"}
    ]


def test_list_parameters_are_repeated() -> None:
    changes = ["ENV A=1,2", 'CMD ["sh","-c"]']
    imported = query(images.import_image(b"", changes=changes))
    assert [v for k, v in imported if k == "changes"] == changes


def test_extra_query_is_validated_and_leaves_the_call_alone() -> None:
    call = images.list()
    extra = with_extra_query(call, {"flag": True, "n": 3, "s": "x", "many": ["a", 1, False]})
    assert query(extra) == [
        ("flag", "1"),
        ("n", "3"),
        ("s", "x"),
        ("many", "a"),
        ("many", "1"),
        ("many", "0"),
    ]
    assert query(call) == [] and extra.params == call.params  # not version-gated
    assert with_extra_query(call, None) is call
    for bad in ({"": "x"}, {1: "x"}, {"x": 1.5}, {"x": None}, {"x": {"a": 1}}):
        with pytest.raises(TypeError):
            with_extra_query(call, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        with_extra_query(call, [("x", "1")])  # type: ignore[arg-type]
    for own in ("all", "shared-size"):  # the operation's own parameters: use the keyword
        with pytest.raises(ValueError, match=own):
            with_extra_query(call, {own: True})


def test_build_prune_space_options_are_gated_before_sending() -> None:
    # A pinned API 1.41 and no daemon at all: the refusal comes before any connection.
    with Client("unix:///nonexistent/engineapi.sock", version="1.41") as client:
        for option in ("reserved_space", "max_used_space", "min_free_space"):
            with pytest.raises(APIVersionError, match="1.48"):
                client.images.build_prune(**{option: 1})  # type: ignore[arg-type]
    call = images.build_prune(reserved_space=1, max_used_space=2, min_free_space=3)
    got = dict(query(call))
    assert (got["reserved-space"], got["max-used-space"], got["min-free-space"]) == ("1", "2", "3")
