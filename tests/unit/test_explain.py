"""Connect errors say which host was tried, how it was chosen and what to check.

The failures are real (a socket path nothing listens on; a context made by the real docker
CLI), except the permission case: root, who runs the tests, may open any socket.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engineapi import Client, ConnectError
from engineapi._explain import explain_connect_error
from engineapi.config import resolve_endpoint


def _failure(environ: dict[str, str], **kwargs: str) -> str:
    with Client(environ=environ, **kwargs) as client:  # type: ignore[arg-type]
        with pytest.raises(ConnectError) as info:
            client.system.ping()
    return str(info.value)


def test_docker_host_pointing_nowhere(tmp_path: Path) -> None:
    socket = tmp_path / "nothing.sock"
    text = _failure({"DOCKER_HOST": f"unix://{socket}", "DOCKER_CONFIG": str(tmp_path)})
    assert f"cannot connect to unix://{socket}" in text
    assert f"The host unix://{socket} was chosen by DOCKER_HOST." in text
    assert "Is the engine running there?" in text
    assert text.endswith("Check DOCKER_HOST, or unset it to use the current docker context.")


def test_a_host_given_as_an_argument_gets_no_environment_advice(tmp_path: Path) -> None:
    socket = tmp_path / "nothing.sock"
    text = _failure({"DOCKER_CONFIG": str(tmp_path)}, host=f"unix://{socket}")
    assert "chosen by argument host=" in text and "Is the engine running there?" in text
    assert "DOCKER_HOST" not in text and "context" not in text


def test_a_context_pointing_nowhere(tmp_path: Path) -> None:
    socket = tmp_path / "nothing.sock"
    config = tmp_path / "docker-config"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DOCKER_CONFIG": str(config)}
    subprocess.run(
        ["docker", "context", "create", "away", "--docker", f"host=unix://{socket}"],
        env=env,
        check=True,
        capture_output=True,
    )
    text = _failure({"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "away"})
    assert "chosen by context 'away' from DOCKER_CONTEXT" in text
    assert "Check the context's endpoint with 'docker context inspect away'" in text


def test_the_default_socket() -> None:
    endpoint = resolve_endpoint(environ={"DOCKER_CONFIG": "/nonexistent"})
    error = ConnectError("cannot connect to unix:///var/run/docker.sock: No such file or directory")
    text = str(explain_connect_error(error, endpoint))
    assert text == (
        "cannot connect to unix:///var/run/docker.sock: No such file or directory. "
        "The host unix:///var/run/docker.sock was chosen by default "
        "(unix:///var/run/docker.sock). Is the engine running there? "
        "Set DOCKER_HOST or a docker context to use another engine."
    )


def test_a_socket_this_user_may_not_open() -> None:
    endpoint = resolve_endpoint(environ={"DOCKER_CONFIG": "/nonexistent"})
    error = ConnectError("cannot connect to unix:///var/run/docker.sock: Permission denied")
    text = str(explain_connect_error(error, endpoint))
    assert "join the socket's group (usually 'docker')" in text
    assert "Is the engine running there?" not in text
