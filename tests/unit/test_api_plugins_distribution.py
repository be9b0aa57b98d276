"""Plugins, distribution and registry login: the calls the builders make — no I/O."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engineapi.api import distribution, plugins, system
from engineapi.api._call import Call, ProgressCall, Reply
from engineapi.archive.local import TarOfPath
from engineapi.errors import MissingFieldError
from engineapi.http import Headers
from engineapi.models import AuthConfig, PluginPrivilege, lenient_decoding

USR = PluginPrivilege(name="mount", description="host path to mount", value=["/usr"])


def query_of(call: Call[Any]) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.target("1.51")).query))


def body_of(call: Call[Any]) -> Any:
    assert isinstance(call.body, bytes)
    return json.loads(call.body)


def auth_of(call: Call[Any]) -> Any:
    values = [value for name, value in call.headers if name == "X-Registry-Auth"]
    return json.loads(base64.urlsafe_b64decode(values[0])) if values else None


def reply(body: object, status: int = 200) -> Reply:
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return Reply(status, Headers([("Content-Type", "application/json")]), raw)


def test_privileges_pull_and_upgrade_grant_exactly_what_is_given() -> None:
    call = plugins.privileges("reg:5000/team/p:1", auth={"username": "u", "password": "p"})
    assert (call.path, query_of(call)) == ("/plugins/privileges", {"remote": "reg:5000/team/p:1"})
    assert auth_of(call) == {"username": "u", "password": "p"}
    assert plugins.privileges("p").headers == ()
    listed = call.decode(reply([{"Name": "mount", "Description": "d", "Value": ["/usr"]}]))
    assert listed == [PluginPrivilege(name="mount", description="d", value=["/usr"])]

    call = plugins.pull("reg:5000/team/p:1", name="p:local", privileges=[USR])
    assert isinstance(call, ProgressCall) and call.response_timeout is None
    assert query_of(call) == {"remote": "reg:5000/team/p:1", "name": "p:local"}
    assert body_of(call) == [
        {"Name": "mount", "Description": "host path to mount", "Value": ["/usr"]}
    ]
    assert auth_of(call) == {}  # always sent: an empty credential object
    assert body_of(plugins.pull("p")) == []

    call = plugins.upgrade(
        "p:local", remote="reg:5000/team/p:2", privileges=[{"Name": "network", "Value": ["host"]}]
    )
    assert (call.path, query_of(call)) == (
        "/plugins/p%3Alocal/upgrade",
        {"remote": "reg:5000/team/p:2"},
    )
    assert body_of(call) == [{"Name": "network", "Value": ["host"]}]


def test_enable_always_sends_a_timeout() -> None:
    # Docker 20.10 answers 500 `strconv.Atoi: parsing ""` to an enable without one.
    assert query_of(plugins.enable("p")) == {"timeout": "0"}
    assert query_of(plugins.enable("p", timeout=30)) == {"timeout": "30"}
    call = plugins.disable("p", force=True)
    assert (call.path, query_of(call)) == ("/plugins/p/disable", {"force": "1"})


def test_set_takes_a_mapping_or_key_value_strings() -> None:
    call = plugins.set("p", {"DEBUG": "1", "mymount.source": "/data"})
    assert (call.method, call.path) == ("POST", "/plugins/p/set")
    assert body_of(call) == ["DEBUG=1", "mymount.source=/data"]
    assert body_of(plugins.set("p", ["DEBUG=0"])) == ["DEBUG=0"]


def test_delete_decodes_dockers_empty_answer_and_the_specs_plugin() -> None:
    call = plugins.delete("p", force=True)
    assert (call.method, query_of(call)) == ("DELETE", {"force": "1"})
    assert call.decode(reply(b"")) is None
    partial = reply({"Name": "p", "Enabled": False})  # the spec's plugin lacks Settings, Config
    with pytest.raises(MissingFieldError, match=r"Plugin\.settings \(JSON key 'Settings'\)"):
        call.decode(partial)
    with lenient_decoding():
        removed = call.decode(partial)
    assert removed is not None and removed.name == "p" and removed.config is None


def test_create_from_a_directory_streams_a_tar(tmp_path: Path) -> None:
    (tmp_path / "rootfs" / "bin").mkdir(parents=True)
    (tmp_path / "rootfs" / "bin" / "server").write_text("#!/bin/sh\n")
    (tmp_path / "config.json").write_text('{"description": "x"}')
    call = plugins.create("reg:5000/team/p:1", tmp_path)
    assert (call.operation_id, call.path) == ("PluginCreate", "/plugins/create")
    assert query_of(call) == {"name": "reg:5000/team/p:1"}
    assert ("Content-Type", "application/x-tar") in call.headers
    # The builder only names the directory; the client opens it when it sends the call.
    assert call.body is None and call.local == TarOfPath(str(tmp_path), arcname="")
    local = call.local.open()
    data = b"".join(local.body)
    assert local.content_length == len(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert sorted(tar.getnames()) == [
            "config.json",
            "rootfs",
            "rootfs/bin",
            "rootfs/bin/server",
        ]
    call = plugins.create("p", b"tar bytes", content_length=9)
    assert (call.body, call.content_length) == (b"tar bytes", 9)


def test_push_inspect_list() -> None:
    call = plugins.push("reg:5000/team/p:1", auth=AuthConfig(username="u", password="p"))
    assert call.path == "/plugins/reg%3A5000%2Fteam%2Fp%3A1/push"
    assert auth_of(call) == {"username": "u", "password": "p"}
    assert plugins.inspect("p").path == "/plugins/p/json"
    call = plugins.list(filters={"capability": ["volumedriver"], "enabled": ["true"]})
    assert json.loads(query_of(call)["filters"]) == {
        "capability": ["volumedriver"],
        "enabled": ["true"],
    }


def test_distribution_inspect() -> None:
    call = distribution.inspect("reg:5000/app:1", auth={"username": "u", "password": "p"})
    assert (call.operation_id, call.path) == (
        "DistributionInspect",
        "/distribution/reg%3A5000%2Fapp%3A1/json",
    )
    assert auth_of(call) == {"username": "u", "password": "p"}
    assert distribution.inspect("busybox").headers == ()
    found = call.decode(
        reply(
            {
                "Descriptor": {
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "digest": "sha256:ab",
                    "size": 9,
                },
                "Platforms": [{"architecture": "amd64", "os": "linux"}],
            }
        )
    )
    assert found.descriptor is not None and found.descriptor.digest == "sha256:ab"
    assert found.platforms and found.platforms[0].architecture == "amd64"


def test_system_auth() -> None:
    call = system.auth(AuthConfig(username="u", password="p", serveraddress="reg:5000"))
    assert (call.operation_id, call.method, call.path) == ("SystemAuth", "POST", "/auth")
    assert body_of(call) == {"username": "u", "password": "p", "serveraddress": "reg:5000"}
    assert (
        call.decode(reply({"Status": "Login Succeeded", "IdentityToken": ""})).status
        == "Login Succeeded"
    )
    assert call.decode(reply(b"", 204)).status == "Login Succeeded"  # a 204 has no body
