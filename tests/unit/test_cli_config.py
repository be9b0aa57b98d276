"""config.json's ``proxies`` and ``detachKeys``: reading them, and what they add to a call
(no engine; the CLI comparison is tests/conformance/test_cli_config_vs_cli.py and the live
proof tests/live/test_cli_config.py)."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

from engineapi.api import containers, exec, images
from engineapi.config import ConfigWarning, parse_host
from engineapi.config.cli import CliSettings, load_cli_settings, proxy_key, proxy_variables


def write_config(tmp_path: Path, doc: object) -> dict[str, str]:
    (tmp_path / "config.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return {"DOCKER_CONFIG": str(tmp_path)}


def test_settings_are_read_as_the_cli_reads_them(tmp_path: Path) -> None:
    env = write_config(
        tmp_path,
        {
            "Proxies": {
                "default": {"HTTPPROXY": "http://p:1", "noProxy": "", "ftpProxy": "ftp://f"},
                "unix:///x.sock": {"allProxy": "socks5://a"},
            },
            "detachKeys": "ctrl-x,y",
        },
    )
    settings = load_cli_settings(env)
    assert settings.detach_keys == "ctrl-x,y"
    assert proxy_variables(settings, "tcp://other:2375") == {
        "HTTP_PROXY": "http://p:1",
        "http_proxy": "http://p:1",
        "FTP_PROXY": "ftp://f",
        "ftp_proxy": "ftp://f",
    }
    # The daemon's own entry replaces default (not merged).
    assert proxy_variables(settings, "unix:///x.sock") == {
        "ALL_PROXY": "socks5://a",
        "all_proxy": "socks5://a",
    }


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    env = write_config(tmp_path, {"detachKeys": "ctrl-a"})
    assert load_cli_settings(env).detach_keys == "ctrl-a"
    write_config(tmp_path, {"detachKeys": "ctrl-bb"})
    os.utime(tmp_path / "config.json", ns=(1, 1))
    assert load_cli_settings(env).detach_keys == "ctrl-bb"


@pytest.mark.parametrize(
    "doc",
    ["{not json", "[1]", {"proxies": []}, {"detachKeys": 5}, {"proxies": {"default": 3}}],
    ids=["not-json", "not-object", "proxies-list", "keys-number", "entry-number"],
)
def test_a_broken_file_warns_and_counts_as_empty(tmp_path: Path, doc: object) -> None:
    env = write_config(tmp_path, doc)
    with pytest.warns(ConfigWarning, match="ignoring it, as the docker CLI does"):
        settings = load_cli_settings(env)
    assert proxy_variables(settings, "default") == {} and settings.detach_keys == ""


def test_a_missing_file_is_empty(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_cli_settings({"DOCKER_CONFIG": str(tmp_path / "none")}) == CliSettings()


def test_the_proxy_key_is_the_clis_daemon_host() -> None:
    assert proxy_key(parse_host("unix:///run/d.sock")) == "unix:///run/d.sock"
    assert proxy_key(parse_host("tcp://h")) == "tcp://h:2375"
    assert proxy_key(parse_host("ssh://me@h")) == "http://docker.example.com"


PROXIES = {"HTTP_PROXY": "http://p", "http_proxy": "http://p"}


def test_create_adds_the_names_env_does_not_set() -> None:
    call = containers.create(image="busybox", env=["http_proxy=mine", "A"])
    assert call.cli_config is not None
    sent = call.cli_config.apply(call, PROXIES, "")
    assert json.loads(sent.body)["Env"] == ["http_proxy=mine", "A", "HTTP_PROXY=http://p"]  # type: ignore[arg-type]
    assert json.loads(call.body)["Env"] == ["http_proxy=mine", "A"]  # type: ignore[arg-type]
    assert call.cli_config.apply(call, {}, "ctrl-a") is call


def test_build_adds_build_args() -> None:
    call = images.build(b"tar", build_args={"HTTP_PROXY": "mine"}, registry_config={})
    assert call.cli_config is not None
    sent = call.cli_config.apply(call, PROXIES, "")
    assert json.loads(dict(sent.query)["buildargs"]) == {
        "HTTP_PROXY": "mine",
        "http_proxy": "http://p",
    }
    bare = images.build(b"tar", registry_config={})
    assert bare.cli_config is not None
    assert json.loads(dict(bare.cli_config.apply(bare, PROXIES, "").query)["buildargs"]) == PROXIES


def test_detach_keys_go_where_the_cli_sends_them() -> None:
    attach = containers.attach("c")
    assert attach.cli_config is not None
    assert dict(attach.cli_config.apply(attach, PROXIES, "ctrl-x,y").query)["detachKeys"] == (
        "ctrl-x,y"
    )
    assert containers.attach("c", detach_keys="ctrl-a").cli_config is None
    created = exec.create("c", {"Cmd": ["sh"]})
    assert created.cli_config is not None
    sent = created.cli_config.apply(created, PROXIES, "ctrl-x,y")
    assert json.loads(sent.body)["DetachKeys"] == "ctrl-x,y"  # type: ignore[arg-type]
    given = exec.create("c", {"Cmd": ["sh"], "DetachKeys": "ctrl-a"})
    assert given.cli_config is not None
    assert given.cli_config.apply(given, PROXIES, "ctrl-x,y") is given
