"""Secrets and configs: bytes in, base64 on the wire; Docker's ``{"ID": …}`` answers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from engineapi.api import configs, secrets
from engineapi.api._call import Call, Reply
from engineapi.http import Headers
from engineapi.models import ConfigSpec, Driver, SecretSpec


def body_of(call: Call[Any]) -> Any:
    assert isinstance(call.body, bytes)
    return json.loads(call.body)


def reply(body: object, status: int = 200) -> Reply:
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return Reply(status, Headers([("Content-Type", "application/json")]), raw)


def test_secret_data_bytes_are_base64_encoded() -> None:
    call = secrets.create(name="db", data=b"\x00s3cret\xff", labels={"a": "1"})
    assert (call.operation_id, call.method, call.path) == (
        "SecretCreate",
        "POST",
        "/secrets/create",
    )
    body = body_of(call)
    assert body == {
        "Name": "db",
        "Labels": {"a": "1"},
        "Data": base64.b64encode(b"\x00s3cret\xff").decode(),
    }


def test_text_data_is_utf8() -> None:
    body = body_of(configs.create(name="app.conf", data="port = 80 é\n"))
    assert base64.b64decode(body["Data"]) == "port = 80 é\n".encode()


def test_a_spec_is_taken_and_keywords_override_it() -> None:
    spec = SecretSpec(name="old", data=base64.b64encode(b"x").decode(), labels={"k": "v"})
    body = body_of(secrets.create(spec, name="new", driver=Driver(name="vault")))
    assert body == {
        "Name": "new",
        "Data": base64.b64encode(b"x").decode(),
        "Labels": {"k": "v"},
        "Driver": {"Name": "vault"},
    }
    # A mapping whose Data is bytes: encoded here too.
    body = body_of(configs.create({"Name": "c", "Data": b"raw"}))
    assert body == {"Name": "c", "Data": base64.b64encode(b"raw").decode()}
    body = body_of(configs.create(ConfigSpec(name="c"), templating={"Name": "golang"}))
    assert body == {"Name": "c", "Templating": {"Name": "golang"}}


@pytest.mark.parametrize("module", [secrets, configs])
def test_create_reads_dockers_ID_and_the_specs_Id(module: Any) -> None:
    call = module.create(name="x", data=b"y")
    assert call.decode(reply({"ID": "abc"}, 201)).id == "abc"  # what Docker sends
    assert call.decode(reply({"Id": "def"}, 201)).id == "def"  # what the spec says


@pytest.mark.parametrize(("module", "kind"), [(secrets, "secrets"), (configs, "configs")])
def test_list_inspect_update_delete(module: Any, kind: str) -> None:
    call = module.list(filters={"label": ["a=b"]})
    assert call.path == f"/{kind}"
    assert "filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D" in call.target(None)
    assert module.inspect("x y").path == f"/{kind}/x%20y"
    call = next(module.update("id1", {"Name": "x", "Labels": {"new": "1"}}, version=12))
    assert (call.method, call.path) == ("POST", f"/{kind}/id1/update")
    assert call.target(None).endswith("?version=12")
    assert body_of(call) == {"Name": "x", "Labels": {"new": "1"}}
    assert call.decode(reply(b"")) is None
    call = module.delete("id1")
    assert (call.method, call.path, call.decode(reply(b"", 204))) == (
        "DELETE",
        f"/{kind}/id1",
        None,
    )
