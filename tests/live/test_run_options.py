"""Checked request bodies and docker run keywords on every live engine (issue #17, 2 and 3)."""

from __future__ import annotations

import socket
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from engineapi import AsyncClient, Client, InvalidArgument
from engineapi.api import Raw
from engineapi.observe import RequestInfo
from tests.conftest import Engine

LABELS = {"engineapi.test": "1"}
HTTPD = "mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"


def test_a_misspelled_key_never_reaches_the_daemon(engine: Engine) -> None:
    sent: list[RequestInfo] = []
    with Client(engine.host, event_hooks={"request": [sent.append]}) as client:
        client.system.ping()
        sent.clear()
        with pytest.raises(InvalidArgument, match="did you mean 'Cmd'"):
            client.containers.create({"Image": "busybox", "Comand": ["true"]})
        with pytest.raises(InvalidArgument, match="did you mean 'Binds'"):
            client.containers.run("busybox", "true", config={"HostConfig": {"Bind": ["/:/x"]}})
        with pytest.raises(InvalidArgument, match="not a field of ExecConfig"):
            client.exec.create("anything", {"Cmd": ["true"], "Envv": {"A": "1"}})
        assert sent == []


def test_snake_case_keys_and_an_env_mapping_reach_the_daemon(engine: Engine) -> None:
    with Client(engine.host) as client:
        cid = client.containers.create(
            {
                "image": "busybox",
                "cmd": ["true"],
                "env": {"GREETING": "hi there"},
                "labels": LABELS,
                "host_config": {"memory": 64 << 20, "Binds": []},
            }
        ).id
        try:
            found = client.containers.inspect(cid)
            assert "GREETING=hi there" in (found.config.env or [])
            assert found.host_config.memory == 64 << 20
            # Raw: sent as given (a key no spec has is ignored by the daemon).
            raw = client.containers.create(Raw({"Image": "busybox", "Labels": LABELS, "Zz": 1}))
            client.containers.delete(raw.id)
        finally:
            client.containers.delete(cid, force=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fetch(port: int) -> bytes:
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                return bytes(reply.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _host_port(client: Client, cid: str) -> int:
    deadline = time.monotonic() + 5
    while True:
        ports = client.containers.inspect(cid).network_settings.ports or {}
        bound = ports.get("80/tcp") or []
        if bound and bound[0].host_port:
            return int(bound[0].host_port)
        assert time.monotonic() < deadline, ports
        time.sleep(0.1)


@pytest.mark.parametrize("form", ["port", "ip-and-port", "random"])
def test_ports_publish_on_an_image_that_exposes_nothing(engine: Engine, form: str) -> None:
    free = _free_port()
    host: Any = {"port": free, "ip-and-port": ("127.0.0.1", free), "random": None}[form]
    with Client(engine.host) as client:
        cid = client.containers.run_detached(
            "busybox", ["sh", "-c", HTTPD], ports={"80": host}, labels=LABELS
        )
        try:
            found = client.containers.inspect(cid)
            assert "80/tcp" in (found.config.exposed_ports or {})
            port = _host_port(client, cid)
            if form != "random":
                assert port == free
            assert _fetch(port).startswith(b"hello-")
        finally:
            client.containers.delete(cid, force=True)


def test_env_volumes_labels_workdir_user_entrypoint(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("from the host\n")
    tmp_path.chmod(0o755)
    volume = f"engineapi-test-{uuid.uuid4().hex[:8]}"
    with Client(engine.host) as client:
        client.volumes.create(name=volume, labels=LABELS)
        try:
            filled = client.containers.run(
                "busybox",
                ["echo in-volume > /named/g"],  # one argument of sh -c
                entrypoint=["sh", "-c"],
                volumes=[f"{volume}:/named"],
                labels=LABELS,
                remove=True,
            )
            assert filled.exit_code == 0, filled.stderr
            result = client.containers.run(
                "busybox",
                ["echo $A $B; cat /host/f /named/g; id -u; pwd"],
                entrypoint=["sh", "-c"],
                env={"A": "a", "B": 2},
                volumes=[f"{tmp_path}:/host:ro", f"{volume}:/named"],
                user="1234",
                workdir="/made/by/daemon",
                labels={**LABELS, "run": "options"},
                remove=True,
            )
            assert result.exit_code == 0, result.stderr
            assert result.stdout == b"a 2\nfrom the host\nin-volume\n1234\n/made/by/daemon\n"
            read_only = client.containers.run(
                "busybox", "touch /host/x", volumes=[f"{tmp_path}:/host:ro"], remove=True
            )
            assert read_only.exit_code != 0 and not (tmp_path / "x").exists()
            mounted = client.containers.run(
                "busybox",
                "cat /m/f",
                mounts=[f"type=bind,src={tmp_path},dst=/m,readonly"],
                remove=True,
            )
            assert mounted.stdout == b"from the host\n"
            cid = client.containers.run_detached(
                "busybox", "sleep 300", labels={**LABELS, "run": "options"}, name=volume
            )
            try:
                found = client.containers.inspect(volume)
                assert found.config.labels == {**LABELS, "run": "options"}
                assert found.config.cmd == ["sleep", "300"]
            finally:
                client.containers.delete(cid, force=True)
            gone = client.containers.run("busybox", "true", auto_remove=True, labels=LABELS)
            assert gone.exit_code == 0
        finally:
            client.volumes.delete(volume, force=True)


async def test_async_run_with_options(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("async host file\n")
    tmp_path.chmod(0o755)
    async with AsyncClient(engine.host) as client:
        result = await client.containers.run(
            "busybox",
            "sh -c 'echo $X; cat /h/f; pwd'",
            env=["X=async"],
            volumes=f"{tmp_path}:/h",
            workdir="/w",
            labels=LABELS,
            remove=True,
        )
        assert result.stdout == b"async\nasync host file\n/w\n"
        cid = await client.containers.run_detached(
            "busybox", ["sh", "-c", HTTPD], ports={"80/tcp": ("127.0.0.1", None)}, labels=LABELS
        )
        try:
            found = await client.containers.inspect(cid)
            assert "80/tcp" in (found.config.exposed_ports or {})
            with pytest.raises(InvalidArgument, match="did you mean"):
                await client.containers.create({"Image": "busybox", "Entrypont": ["x"]})
        finally:
            await client.containers.delete(cid, force=True)
