"""Registry credentials as the docker CLI finds them: ``config.json`` ``auths``, ``credHelpers``,
``credsStore``, ``DOCKER_AUTH_CONFIG``, and credential helpers — real executables on ``PATH``
speaking the helper protocol, and an injected runner.

tests/conformance/test_build_context_vs_cli.py compares the same lookups with what the real
CLI sends.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import engineapi.config.auth as auth_module
from engineapi.api import images
from engineapi.config import ConfigWarning
from engineapi.config.auth import (
    INDEX_SERVER,
    CredentialsError,
    CredentialsNeeded,
    auth_for,
    auth_for_registry,
    credential_headers,
    registry_auth_value,
    registry_config,
    registry_domain,
    registry_key,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def decode_header(value: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


HELPER = r"""#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
name = os.path.basename(__file__)[len("docker-credential-"):]
action, data = sys.argv[1], sys.stdin.read()
with open(os.path.join(here, "calls.log"), "a") as log:
    log.write(json.dumps([name, action, data]) + "\n")
with open(os.path.join(here, name + ".json")) as f:
    spec = json.load(f)
if "fail" in spec:
    print(spec["fail"])
    sys.exit(1)
store = spec.get("store", {{}})
if action == "list":
    print(json.dumps({{k: v.get("Username", "") for k, v in store.items()}}))
elif action == "get" and data in store:
    print(json.dumps({{"ServerURL": data, **store[data]}}))
else:
    print("credentials not found in native keychain")
    sys.exit(1)
"""


class World:
    """A DOCKER_CONFIG, a directory of helper executables, and the environment naming both."""

    def __init__(self, root: Path) -> None:
        self.config = root / "config"
        self.bin = root / "bin"
        self.config.mkdir()
        self.bin.mkdir()
        self.env = {
            "DOCKER_CONFIG": str(self.config),
            "HOME": str(root),
            "PATH": f"{self.bin}{os.pathsep}/usr/bin:/bin",
        }

    def write(self, doc: dict[str, Any] | str) -> None:
        text = doc if isinstance(doc, str) else json.dumps(doc)
        (self.config / "config.json").write_text(text)

    def helper(self, name: str, spec: dict[str, Any]) -> None:
        program = self.bin / f"docker-credential-{name}"
        program.write_text(HELPER.format(python=sys.executable))
        program.chmod(0o755)
        (self.bin / f"{name}.json").write_text(json.dumps(spec))

    def calls(self) -> list[list[str]]:
        log = self.bin / "calls.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def auth(self, reference: str) -> dict[str, Any] | None:
        found = auth_for(reference, self.env)
        return None if found is None else found.to_wire()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


# ---------------------------------------------------------------------------------------------
# Which registry a reference names


@pytest.mark.parametrize(
    ("reference", "domain", "key"),
    [
        ("busybox", "docker.io", INDEX_SERVER),
        ("busybox:1.36", "docker.io", INDEX_SERVER),
        ("busybox@sha256:" + "a" * 64, "docker.io", INDEX_SERVER),
        ("library/busybox", "docker.io", INDEX_SERVER),
        ("user/app:1", "docker.io", INDEX_SERVER),
        ("docker.io/library/busybox", "docker.io", INDEX_SERVER),
        ("index.docker.io/user/app", "docker.io", INDEX_SERVER),
        ("localhost:5000/app:1", "localhost:5000", "localhost:5000"),
        ("localhost/app", "localhost", "localhost"),
        ("localhost:5000", "docker.io", INDEX_SERVER),  # no slash: a Hub repo "localhost"
        ("registry.example.com/team/app", "registry.example.com", "registry.example.com"),
        ("10.0.0.1:5000/a/b@sha256:" + "b" * 64, "10.0.0.1:5000", "10.0.0.1:5000"),
        ("[::1]:5000/app", "[::1]:5000", "[::1]:5000"),
        ("Upper/app", "Upper", "Upper"),
    ],
)
def test_the_registry_of_a_reference(reference: str, domain: str, key: str) -> None:
    assert registry_domain(reference) == domain
    assert registry_key(reference) == key


# ---------------------------------------------------------------------------------------------
# config.json auths


def test_auths_are_decoded(world: World) -> None:
    world.write(
        {
            "auths": {
                INDEX_SERVER: {"auth": b64("hub:secret"), "email": "me@example.com"},
                "localhost:5000": {"auth": b64("user:pa:ss")},
                "registry.example.com": {"identitytoken": "tok"},
                "padded.example.com": {"auth": b64("u:p\x00\x00")},
                "explicit.example.com": {"username": "plain", "password": "text"},
                "empty.example.com": {},
            }
        }
    )
    assert world.auth("busybox") == {
        "username": "hub",
        "password": "secret",
        "serveraddress": INDEX_SERVER,
        "email": "me@example.com",
    }
    assert world.auth("localhost:5000/app") == {
        "username": "user",
        "password": "pa:ss",  # split at the first colon only
        "serveraddress": "localhost:5000",
    }
    assert world.auth("registry.example.com/x") == {
        "serveraddress": "registry.example.com",
        "identitytoken": "tok",
    }
    assert world.auth("padded.example.com/x") == {
        "username": "u",
        "password": "p",
        "serveraddress": "padded.example.com",
    }
    assert world.auth("explicit.example.com/x") == {
        "username": "plain",
        "password": "text",
        "serveraddress": "explicit.example.com",
    }
    assert world.auth("empty.example.com/x") == {"serveraddress": "empty.example.com"}
    assert world.auth("elsewhere.example.com/x") is None


def test_auth_for_a_registry_key(world: World) -> None:
    world.write({"auths": {INDEX_SERVER: {"auth": b64("hub:pw")}}})
    found = auth_for_registry(INDEX_SERVER, world.env)
    assert found is not None and found.username == "hub"
    assert auth_for_registry("docker.io", world.env) is None  # keys are not references


def test_legacy_keys_match_by_host(world: World) -> None:
    world.write(
        {
            "auths": {
                "https://legacy.example.com:8080/v1/": {"auth": b64("old:pw")},
                "http://plain.example.com/v2/": {"auth": b64("p:q")},
            }
        }
    )
    found = world.auth("legacy.example.com:8080/app")
    assert found == {
        "username": "old",
        "password": "pw",
        "serveraddress": "https://legacy.example.com:8080/v1/",
    }
    assert world.auth("plain.example.com/app") is not None
    assert world.auth("legacy.example.com/app") is None  # the port is part of the host


def test_keys_are_matched_case_insensitively_like_go(world: World) -> None:
    world.write({"AUTHS": {"localhost:5000": {"Auth": b64("up:per"), "EMAIL": "e"}}})
    assert world.auth("localhost:5000/app") == {
        "username": "up",
        "password": "per",
        "serveraddress": "localhost:5000",
        "email": "e",
    }


def test_no_config_means_no_credentials(world: World) -> None:
    assert world.auth("busybox") is None
    assert registry_config(world.env) == {}
    world.write("")
    assert world.auth("busybox") is None


def test_a_malformed_config_is_ignored_with_a_warning(world: World) -> None:
    world.write("{not json")
    with pytest.warns(ConfigWarning, match="not valid JSON"):
        assert world.auth("busybox") is None


def test_an_auth_that_does_not_decode_spoils_only_its_entry(world: World) -> None:
    world.write(
        {
            "auths": {"bad.example.com": {"auth": "!!!"}, "good.example.com": {"auth": b64("a:b")}},
            "credHelpers": {},
        }
    )
    with pytest.warns(ConfigWarning, match="base64"):
        assert world.auth("bad.example.com/x") == {"auth": "!!!"}
    with pytest.warns(ConfigWarning):
        assert world.auth("good.example.com/x") == {
            "username": "a",
            "password": "b",
            "serveraddress": "good.example.com",
        }


def test_a_field_of_the_wrong_type_stops_the_decoding_like_the_cli(world: World) -> None:
    world.write({"auths": {"r.example.com": {"auth": b64("a:b")}}, "credsStore": 5})
    with pytest.warns(ConfigWarning, match="credsStore is not a string"):
        assert world.auth("r.example.com/x") == {"auth": b64("a:b")}


# ---------------------------------------------------------------------------------------------
# Credential helpers: real executables on PATH


def test_cred_helpers_take_precedence_over_the_store(world: World) -> None:
    world.helper("store", {"store": {"localhost:5000": {"Username": "s", "Secret": "1"}}})
    world.helper("special", {"store": {"localhost:5000": {"Username": "h", "Secret": "2"}}})
    world.write({"credsStore": "store", "credHelpers": {"localhost:5000": "special"}})
    assert world.auth("localhost:5000/app") == {
        "username": "h",
        "password": "2",
        "serveraddress": "localhost:5000",
    }
    assert world.calls() == [["special", "get", "localhost:5000"]]  # no newline on stdin


def test_the_store_answers_for_docker_hub(world: World) -> None:
    world.helper("desk", {"store": {INDEX_SERVER: {"Username": "hubby", "Secret": "pw"}}})
    world.write({"auths": {INDEX_SERVER: {}}, "credsStore": "desk"})
    assert world.auth("busybox") == {
        "username": "hubby",
        "password": "pw",
        "serveraddress": INDEX_SERVER,
    }
    assert world.calls() == [["desk", "get", INDEX_SERVER]]


def test_a_token_username_is_an_identity_token(world: World) -> None:
    world.helper("t", {"store": {"r.example.com": {"Username": "<token>", "Secret": "id"}}})
    world.write({"credsStore": "t"})
    assert world.auth("r.example.com/x") == {
        "serveraddress": "r.example.com",
        "identitytoken": "id",
    }


def test_not_found_in_the_helper_keeps_only_the_files_email(world: World) -> None:
    world.helper("empty", {"store": {}})
    world.write(
        {"auths": {"r.example.com": {"auth": b64("file:pw"), "email": "e"}}, "credsStore": "empty"}
    )
    assert world.auth("r.example.com/x") == {"email": "e"}


def test_a_missing_or_failing_helper_is_an_error(world: World) -> None:
    world.write({"credHelpers": {"a.example.com": "absent", "b.example.com": "broken"}})
    world.helper("broken", {"fail": "the keychain is locked"})
    with pytest.raises(CredentialsError, match="executable file not found") as missing:
        world.auth("a.example.com/x")
    assert missing.value.source == "docker-credential-absent"
    with pytest.raises(CredentialsError, match="the keychain is locked"):
        world.auth("b.example.com/x")
    assert world.auth("c.example.com/x") is None  # other registries are not affected


def test_the_default_store_is_detected_when_nothing_is_configured(world: World) -> None:
    world.helper("secretservice", {"store": {INDEX_SERVER: {"Username": "ss", "Secret": "1"}}})
    assert world.auth("busybox") == {
        "username": "ss",
        "password": "1",
        "serveraddress": INDEX_SERVER,
    }
    pass_program = world.bin / "pass"
    pass_program.write_text("#!/bin/sh\n")
    pass_program.chmod(0o755)
    assert world.auth("busybox") is None  # with `pass` installed the CLI picks the pass helper
    world.write({"auths": {"x.example.com": {}}})
    assert world.auth("busybox") is None  # any configured auth turns detection off


# ---------------------------------------------------------------------------------------------
# An injected runner


def test_an_injected_runner_speaks_the_protocol() -> None:
    calls: list[tuple[str, str, bytes]] = []

    def runner(program: str, action: str, data: bytes) -> tuple[int, bytes]:
        calls.append((program, action, data))
        if action == "list":
            return 0, b'{"r.example.com": "u"}\n'
        if data == b"r.example.com":
            return 0, b'{"ServerURL":"r.example.com","Username":"u","Secret":"s"} trailing'
        return 1, b"credentials not found in native keychain\n"

    env = {"DOCKER_CONFIG": "/nonexistent", "PATH": ""}
    config = '{"credsStore": "x"}'
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("error")
        mp.setattr("engineapi.config.auth._load", _fake_load(config, env))
        found = auth_for("r.example.com/app", env, runner=runner)
        assert found is not None and found.username == "u" and found.password == "s"
        assert auth_for("other.example.com/app", env, runner=runner) is None
        assert registry_config(env, runner=runner) == {
            "r.example.com": {"username": "u", "password": "s", "serveraddress": "r.example.com"}
        }
    assert calls[:2] == [
        ("docker-credential-x", "get", b"r.example.com"),
        ("docker-credential-x", "get", b"other.example.com"),
    ]
    assert calls[2] == ("docker-credential-x", "list", b"unused")


def _fake_load(text: str, env: dict[str, str]) -> Any:
    """A `_load` reading `text` as the config file (keeping the real parsing)."""
    from engineapi.config import auth

    real = auth._load

    def load(environ: Any) -> Any:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "config.json").write_text(text)
            return real({**environ, "DOCKER_CONFIG": tmp})

    return load


def test_helper_error_messages(world: World) -> None:
    def runner(program: str, action: str, data: bytes) -> tuple[int, bytes]:
        return 1, b"no credentials server URL\n"

    world.write({"credsStore": "x"})
    with pytest.raises(CredentialsError, match="no credentials server URL"):
        auth_for("r.example.com/a", world.env, runner=runner)

    def garbage(program: str, action: str, data: bytes) -> tuple[int, bytes]:
        return 0, b"not json"

    with pytest.raises(CredentialsError, match="invalid output"):
        auth_for("r.example.com/a", world.env, runner=garbage)


# ---------------------------------------------------------------------------------------------
# DOCKER_AUTH_CONFIG (docker CLI 28.3 and later)


def test_docker_auth_config_comes_first(world: World) -> None:
    world.helper("store", {"store": {"localhost:5000": {"Username": "s", "Secret": "1"}}})
    world.write({"credsStore": "store", "auths": {"r.example.com": {"auth": b64("f:f")}}})
    world.env["DOCKER_AUTH_CONFIG"] = json.dumps(
        {"auths": {"localhost:5000": {"auth": b64("env:pw")}}}
    )
    assert world.auth("localhost:5000/app") == {
        "username": "env",
        "password": "pw",
        "serveraddress": "localhost:5000",
    }
    assert world.calls() == []  # the helper was not asked
    assert registry_config(world.env)["localhost:5000"]["username"] == "env"


@pytest.mark.parametrize(
    "value",
    [
        "{not json",
        json.dumps({"auths": {"r.example.com": {}}}),
        json.dumps({"auths": {"r.example.com": {"auth": "!!!"}}}),
    ],
)
def test_an_unusable_docker_auth_config_is_ignored(world: World, value: str) -> None:
    world.write({"auths": {"r.example.com": {"auth": b64("file:pw")}}})
    world.env["DOCKER_AUTH_CONFIG"] = value
    with pytest.warns(ConfigWarning, match="DOCKER_AUTH_CONFIG"):
        found = world.auth("r.example.com/x")
    assert found is not None and found["username"] == "file"


# ---------------------------------------------------------------------------------------------
# Every registry, for builds


def test_registry_config_gathers_every_source(world: World) -> None:
    world.helper(
        "store",
        {
            "store": {
                INDEX_SERVER: {"Username": "hub", "Secret": "h"},
                "localhost:5000": {"Username": "<token>", "Secret": "t"},
            }
        },
    )
    world.helper("special", {"store": {"special.example.com": {"Username": "s", "Secret": "p"}}})
    world.helper("broken", {"fail": "boom"})
    world.write(
        {
            "auths": {"localhost:5000": {"email": "e"}, "file.example.com": {"auth": b64("f:f")}},
            "credsStore": "store",
            "credHelpers": {"special.example.com": "special", "broken.example.com": "broken"},
        }
    )
    with pytest.warns(ConfigWarning, match="broken.example.com"):
        found = registry_config(world.env)
    assert found == {
        INDEX_SERVER: {"username": "hub", "password": "h", "serveraddress": INDEX_SERVER},
        # the file entry's email and server address, the store's token
        "localhost:5000": {
            "email": "e",
            "serveraddress": "localhost:5000",
            "identitytoken": "t",
        },
        "special.example.com": {
            "username": "s",
            "password": "p",
            "serveraddress": "special.example.com",
        },
    }


def test_registry_config_without_a_store_is_the_auths(world: World) -> None:
    world.write({"auths": {"a.example.com": {"auth": b64("a:1")}, "b.example.com": {}}})
    assert registry_config(world.env) == {
        "a.example.com": {"username": "a", "password": "1", "serveraddress": "a.example.com"},
        "b.example.com": {"serveraddress": "b.example.com"},
    }


def test_a_store_that_cannot_list_is_skipped_with_a_warning(world: World) -> None:
    world.helper("nolist", {"fail": "cannot list"})
    world.write({"credsStore": "nolist", "auths": {"a.example.com": {"auth": b64("a:1")}}})
    with pytest.warns(ConfigWarning, match="cannot list"):
        assert registry_config(world.env) == {}


# ---------------------------------------------------------------------------------------------
# The image builders use them


def test_pull_and_push_ask_the_client_for_the_clis_credentials(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Builders look nothing up (even with the process environment pointing at credentials):
    they say what they need, and `credential_headers` finds it in the environment given."""
    world.write({"auths": {"localhost:5000": {"auth": b64("me:pw")}}})
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    expected = {"username": "me", "password": "pw", "serveraddress": "localhost:5000"}
    pull = images.pull("localhost:5000/app:1")
    push = images.push("localhost:5000/app", tag="1")
    assert pull.credentials == CredentialsNeeded("localhost:5000/app:1")
    assert push.credentials == CredentialsNeeded("localhost:5000/app")
    for call in (pull, push):
        assert "X-Registry-Auth" not in dict(call.headers)
        found = dict(credential_headers(call.credentials, world.env))  # type: ignore[arg-type]
        assert decode_header(found["X-Registry-Auth"]) == expected
        nothing = {"DOCKER_CONFIG": str(world.config.parent / "none"), "PATH": ""}
        assert credential_headers(call.credentials, nothing) == [  # type: ignore[arg-type]
            ("X-Registry-Auth", registry_auth_value({}))
        ]
    busybox = images.pull("busybox").credentials
    assert busybox is not None
    assert decode_header(dict(credential_headers(busybox, world.env))["X-Registry-Auth"]) == {}
    given = images.pull("localhost:5000/app", auth={"username": "other"})
    assert given.credentials is None
    assert decode_header(dict(given.headers)["X-Registry-Auth"]) == {"username": "other"}
    anonymous = images.push("localhost:5000/app", auth={})
    assert anonymous.credentials is None
    assert decode_header(dict(anonymous.headers)["X-Registry-Auth"]) == {}


def test_build_asks_the_client_for_every_registrys_credentials(world: World) -> None:
    world.write({"auths": {"localhost:5000": {"auth": b64("me:pw")}}})
    call = images.build(b"tar")
    assert call.credentials == CredentialsNeeded(None)
    assert "X-Registry-Config" not in dict(call.headers)
    found = dict(credential_headers(call.credentials, world.env))
    assert decode_header(found["X-Registry-Config"]) == {
        "localhost:5000": {"username": "me", "password": "pw", "serveraddress": "localhost:5000"}
    }
    from engineapi.models import AuthConfig

    given = images.build(b"tar", registry_config={"r": AuthConfig.from_wire({"username": "u"})})
    assert given.credentials is None
    assert decode_header(dict(given.headers)["X-Registry-Config"]) == {"r": {"username": "u"}}


def test_a_helper_that_hangs_is_a_credentials_error(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    helper = tmp_path / "docker-credential-hangs"
    helper.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    helper.chmod(0o755)
    world.write({"credHelpers": {"localhost:5000": "hangs"}})
    env = {**world.env, "PATH": str(tmp_path)}
    monkeypatch.setattr(auth_module, "HELPER_TIMEOUT", 0.5)
    started = time.monotonic()
    with pytest.raises(CredentialsError, match="did not answer within 0.5 s"):
        auth_for("localhost:5000/app", env)
    assert time.monotonic() - started < 10
