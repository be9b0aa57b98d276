"""resolve_api_version: explicit > DOCKER_API_VERSION > negotiate."""

from __future__ import annotations

import pytest

from engineapi.config import MIN_API_VERSION, ConfigError, resolve_api_version


def test_negotiate_when_nothing_is_set() -> None:
    assert resolve_api_version(None, {}) is None
    assert resolve_api_version(None, {"DOCKER_API_VERSION": ""}) is None
    assert resolve_api_version("", {"DOCKER_API_VERSION": "  "}) is None


def test_environment() -> None:
    assert resolve_api_version(None, {"DOCKER_API_VERSION": "1.47"}) == "1.47"
    assert resolve_api_version(None, {"DOCKER_API_VERSION": " v1.41 "}) == "1.41"


def test_explicit_wins() -> None:
    assert resolve_api_version("1.45", {"DOCKER_API_VERSION": "1.47"}) == "1.45"
    # An explicit value is checked, the environment is then never read.
    assert resolve_api_version("1.45", {"DOCKER_API_VERSION": "junk"}) == "1.45"


def test_too_old_from_environment() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_api_version(None, {"DOCKER_API_VERSION": "1.40"})
    assert str(info.value).startswith(
        f"engineapi supports API {MIN_API_VERSION} and newer; DOCKER_API_VERSION=1.40"
    )
    assert info.value.source == "DOCKER_API_VERSION"


def test_too_old_explicit() -> None:
    with pytest.raises(ConfigError, match=r"; version=1\.24") as info:
        resolve_api_version("1.24", {})
    assert info.value.source == "argument version="


def test_the_error_names_the_clients_parameter() -> None:
    """`Client(version=…)` is the parameter: the error must not send users looking for
    an `api_version=` that does not exist."""
    from engineapi import Client

    with pytest.raises(ConfigError) as info:
        Client("unix:///nowhere.sock", version="1.x", environ={})
    assert "version='1.x'" in str(info.value) and "api_version" not in str(info.value)
    assert info.value.source == "argument version="


@pytest.mark.parametrize("value", ["1", "1.", "1.x", "2.0", "1.041", "1.47.1", "latest", "1,47"])
def test_malformed(value: str) -> None:
    with pytest.raises(ConfigError, match=r"expected the form 1\.NN") as info:
        resolve_api_version(None, {"DOCKER_API_VERSION": value})
    assert info.value.source == "DOCKER_API_VERSION"


def test_reads_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_API_VERSION", "1.44")
    assert resolve_api_version() == "1.44"
