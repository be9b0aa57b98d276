"""The SSH transports against a real sshd and the real engines (issue 9).

``tests/engines/engines.sh up`` runs a throwaway sshd on 127.0.0.1 (described in
``/run/engineapi/sshd.json``) whose sessions reach the local engines through ``docker system
dial-stdio``. Each test gets a home of its own (``HOME`` points there: asyncssh reads its
``.ssh``), and an ``ssh`` early on ``PATH`` that runs OpenSSH with that home's config (OpenSSH
reads the passwd home, not ``HOME``) and logs its argv. Nothing of the machine's own ``~/.ssh``
or agent is used.

Both modes (asyncssh, the system ssh binary), sync and async, on Docker 20.10 and 28.x:
system calls, containers, exec, a hijacked attach with half-close, events; the failure cases
of the issue each end in a typed error quickly.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from engineapi import AsyncClient, Client, ConnectError, ConnectionLost, TransportError
from engineapi._timeouts import Timeouts
from engineapi.api._call import Call
from engineapi.config import parse_host
from engineapi.transports.ssh import SSHTransport
from engineapi.transports.sshcmd import SSHCommandTransport
from tests.conftest import OPT_OUT, Engine, live_engines
from tests.live.test_transports import _cat_with_two_threads, _hijack_cat, _stdout_of
from tests.tools.descriptors import many_descriptors

SSHD_FILE = Path(os.environ.get("ENGINEAPI_SSHD_FILE", "/run/engineapi/sshd.json"))
MODES = ["asyncssh", "system"]
DOCKER_ENGINES = ["docker20", "docker28"]
TIMEOUTS = Timeouts(connect=30, response=30, read=30)
US = "\x1f"  # between the arguments of one logged ssh run
RS = "\x1e"  # after each run


@attrs.frozen
class SSHD:
    """The test sshd of engines.sh."""

    host: str
    port: int
    user: str
    alias: str
    identity: str
    identities: dict[str, str]
    known_hosts: str
    host_key: str
    sshd_config: str
    default_docker_host: str


def _load_sshd() -> SSHD | str:
    if os.environ.get(OPT_OUT):
        return f"{OPT_OUT}=1: live engine tests skipped on request"
    if not SSHD_FILE.exists():
        return (
            f"no test sshd: {SSHD_FILE} is missing. Run 'make engines' (tests/engines/engines.sh "
            f"up, root, Debian) or set {OPT_OUT}=1 to skip the live tests"
        )
    data = json.loads(SSHD_FILE.read_text())
    return SSHD(
        host=data["host"],
        port=data["port"],
        user=data["user"],
        alias=data["alias"],
        identity=data["identity"],
        identities=data["identities"],
        known_hosts=data["known_hosts"],
        host_key=data["host_key"],
        sshd_config=data["sshd_config"],
        default_docker_host=data["default_docker_host"],
    )


_SSHD = _load_sshd()


@pytest.fixture(scope="session")
def sshd() -> SSHD:
    if isinstance(_SSHD, str):
        if os.environ.get(OPT_OUT):
            pytest.skip(_SSHD)
        pytest.fail(_SSHD, pytrace=False)
    return _SSHD


def _engine(name: str) -> Engine:
    for engine in live_engines():
        if engine.name == name:
            return engine
    if os.environ.get(OPT_OUT):
        pytest.skip(f"{OPT_OUT}=1: live engine tests skipped on request")
    pytest.fail(f"engine {name!r} is not running: run 'make engines'", pytrace=False)


@pytest.fixture(params=DOCKER_ENGINES)
def docker(request: pytest.FixtureRequest) -> Engine:
    """Docker 20.10 and Docker 28.x."""
    return _engine(request.param)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _socket_path(engine: Engine) -> str:
    assert engine.host.startswith("unix://")
    return engine.host.removeprefix("unix://")


@attrs.define
class SSHHome:
    """A throwaway home with ``.ssh/{config,known_hosts,id_ed25519}`` and an ``ssh`` wrapper."""

    root: Path
    sshd: SSHD
    argv_log: Path
    aliases: dict[str, tuple[int, str | None, list[str]]] = attrs.field(factory=dict)

    @property
    def ssh_dir(self) -> Path:
        return self.root / ".ssh"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def identity(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    def add_alias(
        self,
        name: str,
        *,
        port: int | None = None,
        identity: str | None = None,
        extra: list[str] | None = None,
    ) -> str:
        self.aliases[name] = (port or self.sshd.port, identity, extra or [])
        self.write_config()
        return name

    def write_config(self) -> None:
        lines = []
        for name, (port, identity, extra) in self.aliases.items():
            lines += [f"Host {name}", "    HostName 127.0.0.1", f"    Port {port}", "    User root"]
            if identity:
                lines.append(f"    IdentityFile {identity}")
            lines += [f"    {line}" for line in extra]
        lines += [
            "Host *",
            f"    IdentityFile {self.identity}",
            "    IdentitiesOnly yes",
            "    IdentityAgent none",
            f"    UserKnownHostsFile {self.known_hosts}",
            "    StrictHostKeyChecking yes",
            "    BatchMode yes",
        ]
        (self.ssh_dir / "config").write_text("\n".join(lines) + "\n")

    def url(self, engine: Engine | None = None, *, alias: str | None = None) -> str:
        path = _socket_path(engine) if engine is not None else ""
        return f"ssh://{alias or self.sshd.alias}{path}"

    def explicit_url(self, engine: Engine) -> str:
        return f"ssh://root@127.0.0.1:{self.sshd.port}{_socket_path(engine)}"

    def ssh_runs(self) -> list[list[str]]:
        if not self.argv_log.exists():
            return []
        runs = self.argv_log.read_text().split(RS)[:-1]
        return [run.split(US)[:-1] for run in runs]

    def host_key_line(self, port: int) -> str:
        key = " ".join(Path(self.sshd.host_key).read_text().split()[:2])
        return f"[127.0.0.1]:{port} {key}\n"


@pytest.fixture
def ssh_home(sshd: SSHD, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SSHHome:
    root = tmp_path / "home"
    ssh_dir = root / ".ssh"
    ssh_dir.mkdir(parents=True, mode=0o700)
    shutil.copy(sshd.known_hosts, ssh_dir / "known_hosts")
    shutil.copy(sshd.identity, ssh_dir / "id_ed25519")
    (ssh_dir / "id_ed25519").chmod(0o600)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ssh-argv.log"
    wrapper = bin_dir / "ssh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do printf "%s{US}" "$a"; done >>"{log}"\n'
        f'printf "{RS}" >>"{log}"\n'
        f'exec /usr/bin/ssh -F "{ssh_dir}/config" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("HOME", str(root))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in (
        "SSH_AUTH_SOCK",
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CONFIG",
        "DOCKER_API_VERSION",
        "ENGINEAPI_SSH_MODE",
    ):
        monkeypatch.delenv(name, raising=False)
    home = SSHHome(root=root, sshd=sshd, argv_log=log)
    home.add_alias(sshd.alias)
    return home


def _client(url: str, mode: str, **kwargs: object) -> Client:
    return Client(url, ssh_mode=mode, timeout=TIMEOUTS, **kwargs)  # type: ignore[arg-type]


def _close_transport(client: Client | AsyncClient) -> None:
    """Close the SSH transport at once (Client.close() does it too), mid-test, so that the
    next step proves a closed transport reconnects or that closing twice is harmless."""
    close = getattr(client.transport, "close", None)
    if close is not None:
        close()


# -- the engine through SSH --------------------------------------------------------------------


def test_system_calls(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    with _client(ssh_home.url(docker), mode) as client:
        expected = SSHTransport if mode == "asyncssh" else SSHCommandTransport
        assert isinstance(client.transport, expected)
        assert client.endpoint.host.http_host == "docker.example.com"
        assert client.api_version() == docker.api_version
        assert client.system.ping().api_version == docker.api_version
        version = client.system.version()
        assert version.api_version == docker.api_version
        info = client.system.info()
        assert info.id
        assert isinstance(client.containers.list(all=True), list)
        assert any("busybox:latest" in (image.repo_tags or []) for image in client.images.list())
        for _ in range(20):
            client.system.ping()
        if isinstance(client.transport, SSHTransport):
            assert client.transport.handshakes == 1
        else:
            assert client.transport.processes_started == 1
        _close_transport(client)


async def test_async_system_calls(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    async with AsyncClient(ssh_home.url(docker), ssh_mode=mode, timeout=TIMEOUTS) as client:
        assert await client.api_version() == docker.api_version
        infos = await asyncio.gather(*[client.system.info() for _ in range(6)])
        assert len({info.id for info in infos}) == 1
        assert (await client.system.version()).api_version == docker.api_version
        assert isinstance(await client.containers.list(all=True), list)
        if isinstance(client.transport, SSHTransport):
            assert client.transport.handshakes == 1
            await client.transport.aclose()


def test_containers_and_exec(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    with _client(ssh_home.url(docker), mode) as client:
        created = client.containers.create(
            {"Image": "busybox", "Cmd": ["sleep", "300"], "Labels": {"engineapi.test": "1"}}
        )
        try:
            client.containers.start(created.id)
            assert client.containers.inspect(created.id).state.running  # type: ignore[union-attr]
            result = client.exec.run(created.id, ["sh", "-c", "echo out; echo err >&2; exit 3"])
            assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
            # An exec with stdin: close_write() must reach `cat` as EOF.
            exec_id = client.exec.create(
                created.id,
                {"Cmd": ["cat"], "AttachStdin": True, "AttachStdout": True, "AttachStderr": True},
            ).id
            with client.exec.start(exec_id) as attached:
                attached.write(b"through ssh\n")
                attached.close_write()
                out, err = attached.read_split()
            assert (out, err) == (b"through ssh\n", b"")
        finally:
            client.containers.delete(created.id, force=True)
        _close_transport(client)


def _tar_of(name: str, content: bytes) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_large_bodies_both_ways(ssh_home: SSHHome, mode: str) -> None:
    # Several SSH windows (2 MiB) each way: flow control on upload and download.
    docker28 = _engine("docker28")
    content = os.urandom(6 * 1024 * 1024)
    tar = _tar_of("big.bin", content)
    with _client(ssh_home.url(docker28), mode) as client:
        created = client.containers.create({"Image": "busybox", "Cmd": ["sleep", "300"]})
        try:
            client.containers.start(created.id)
            pieces = [tar[i : i + 256 * 1024] for i in range(0, len(tar), 256 * 1024)]
            client.containers.put_archive(created.id, iter(pieces), path="/tmp")
            size = b""
            with client.containers.get_archive(created.id, path="/tmp/big.bin") as stream:
                for piece in stream:
                    size += piece
            assert content in size  # the tar holds the file unchanged
        finally:
            client.containers.delete(created.id, force=True)
        _close_transport(client)


async def test_async_large_bodies_both_ways(ssh_home: SSHHome, mode: str) -> None:
    docker28 = _engine("docker28")
    content = os.urandom(6 * 1024 * 1024)
    tar = _tar_of("big.bin", content)
    async with AsyncClient(ssh_home.url(docker28), ssh_mode=mode, timeout=TIMEOUTS) as client:
        created = await client.containers.create({"Image": "busybox", "Cmd": ["sleep", "300"]})
        try:
            await client.containers.start(created.id)
            await client.containers.put_archive(created.id, tar, path="/tmp")
            received = b""
            async with client.containers.get_archive(created.id, path="/tmp/big.bin") as stream:
                async for piece in stream:
                    received += piece
            assert content in received
        finally:
            await client.containers.delete(created.id, force=True)
            if isinstance(client.transport, SSHTransport):
                await client.transport.aclose()


async def _async_hijack_cat(client: AsyncClient, engine: Engine, payload: bytes) -> bytes:
    cid = engine.docker("create", "-i", "--label", "engineapi.test=1", "busybox", "cat").strip()
    try:
        call: Call[object] = Call(
            "ContainerAttach",
            method="POST",
            path=f"/containers/{cid}/attach",
            query={"stream": True, "stdin": True, "stdout": True, "stderr": True},
            decode=lambda r: r,
        )
        async with (await client.hijack(call)).stream as stream:
            engine.docker("start", cid)
            await stream.write(payload)
            await stream.close_write()
            out = bytearray()
            while chunk := await stream.read(65536, timeout=30):
                out += chunk
        return bytes(out)
    finally:
        engine.docker("rm", "-f", cid, check=False)


def test_hijacked_attach_with_half_close(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    payload = os.urandom(48 * 1024).hex().encode()  # more than one SSH window packet
    with _client(ssh_home.url(docker), mode) as client:
        assert _stdout_of(_hijack_cat(client, docker, payload)) == payload
        assert client.system.ping().api_version  # the pool still works afterwards
        _close_transport(client)


async def test_async_hijacked_attach_with_half_close(
    ssh_home: SSHHome, docker: Engine, mode: str
) -> None:
    payload = b"async over ssh\n" * 1000
    async with AsyncClient(ssh_home.url(docker), ssh_mode=mode, timeout=TIMEOUTS) as client:
        assert _stdout_of(await _async_hijack_cat(client, docker, payload)) == payload
        if isinstance(client.transport, SSHTransport):
            await client.transport.aclose()


def test_events_stream(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    label = f"engineapi.ssh-events={os.getpid()}-{mode}"
    with _client(ssh_home.url(docker), mode) as client:
        client.system.ping()
        events = client.system.events(
            filters={"label": [label], "type": ["container"], "event": ["start"]}
        )
        with events:
            iterator = iter(events)
            docker.docker("run", "--rm", "--label", label, "busybox", "true")
            event = next(iterator)
        assert event.action == "start"
        assert client.system.ping().api_version
        _close_transport(client)


async def test_async_events_stream(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    label = f"engineapi.ssh-async-events={os.getpid()}-{mode}"
    async with AsyncClient(ssh_home.url(docker), ssh_mode=mode, timeout=TIMEOUTS) as client:
        await client.system.ping()

        async def first() -> str:
            async for event in client.system.events(
                filters={"label": [label], "type": ["container"], "event": ["start"]}
            ):
                return str(event.action)
            return ""

        task = asyncio.create_task(first())
        await asyncio.sleep(0.5)
        await asyncio.to_thread(docker.docker, "run", "--rm", "--label", label, "busybox", "true")
        async with asyncio.timeout(30):
            assert await task == "start"
        if isinstance(client.transport, SSHTransport):
            await client.transport.aclose()


# -- how the host is named and chosen -----------------------------------------------------------


def test_explicit_user_and_port_without_an_alias(ssh_home: SSHHome, mode: str) -> None:
    docker20 = _engine("docker20")
    with _client(ssh_home.explicit_url(docker20), mode) as client:
        assert client.system.version().api_version == docker20.api_version
        _close_transport(client)


def test_no_socket_path_reaches_the_remote_default_engine(ssh_home: SSHHome, mode: str) -> None:
    # The test sshd gives its sessions DOCKER_HOST=docker28, like a remote's default engine.
    default = next(e for e in live_engines() if e.host == ssh_home.sshd.default_docker_host)
    with _client(ssh_home.url(), mode) as client, Client(default.host) as local:
        assert client.system.info().id == local.system.info().id
        _close_transport(client)


def test_system_ssh_runs_the_docker_clis_argv(ssh_home: SSHHome) -> None:
    docker20 = _engine("docker20")
    with _client(ssh_home.explicit_url(docker20), "system") as client:
        for _ in range(30):
            client.system.ping()
        assert isinstance(client.transport, SSHCommandTransport)
        assert client.transport.processes_started == 1  # keep-alive reuses the process
    sock = _socket_path(docker20)
    assert ssh_home.ssh_runs() == [
        [
            "-l",
            "root",
            "-p",
            str(ssh_home.sshd.port),
            "-o ConnectTimeout=30",
            "-T",
            "--",
            "127.0.0.1",
            f"docker '--host=unix://{sock}' system dial-stdio",
        ]
    ]


def test_asyncssh_uses_one_handshake_for_many_requests(ssh_home: SSHHome, docker: Engine) -> None:
    with _client(ssh_home.url(docker), "asyncssh") as client:
        for _ in range(100):
            client.system.ping()
        assert isinstance(client.transport, SSHTransport)
        assert client.transport.handshakes == 1
        assert client._pool.idle_connections == 1
        client.transport.close()
        # Usable again after close: a new SSH connection.
        client.system.ping()
        assert client.transport.handshakes == 2
        client.transport.close()


def test_docker_host_and_context(ssh_home: SSHHome, mode: str, tmp_path: Path) -> None:
    docker28 = _engine("docker28")
    url = ssh_home.url(docker28)
    with Client.from_env(environ={"DOCKER_HOST": url}, ssh_mode=mode, timeout=TIMEOUTS) as client:
        assert client.endpoint.source.startswith("DOCKER_HOST")
        assert client.system.ping().api_version == docker28.api_version
        _close_transport(client)
    config = tmp_path / "docker-config"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "DOCKER_CONFIG": str(config)}
    subprocess.run(
        ["docker", "context", "create", "over-ssh", "--docker", f"host={url}"],
        env=env,
        check=True,
        capture_output=True,
    )
    environ = {"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "over-ssh"}
    with Client.from_env(environ=environ, ssh_mode=mode, timeout=TIMEOUTS) as client:
        assert client.endpoint.context_name == "over-ssh"
        assert client.endpoint.host.scheme == "ssh"
        assert client.system.version().api_version == docker28.api_version
        _close_transport(client)


def test_mode_from_the_environment(ssh_home: SSHHome, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGINEAPI_SSH_MODE", "system")
    with Client(ssh_home.url(_engine("docker28")), timeout=TIMEOUTS) as client:
        assert isinstance(client.transport, SSHCommandTransport)
        assert client.system.ping().api_version


async def test_asyncssh_beyond_the_servers_session_limit(ssh_home: SSHHome) -> None:
    # The test sshd allows 10 sessions per connection; ask for 16 channels at once.
    docker28 = _engine("docker28")
    transport = SSHTransport(parse_host(ssh_home.url(docker28)), max_channels=32)
    async with AsyncClient(
        ssh_home.url(docker28), transport=transport, max_connections=16, timeout=TIMEOUTS
    ) as client:
        await client.api_version()
        now = int(time.time())

        async def slow() -> int:
            # Answered only when `until` passes: each call holds its channel about a second.
            call: Call[int] = Call(
                "SystemEvents",
                method="GET",
                path="/events",
                query={"since": str(now), "until": str(now + 2)},
                decode=lambda reply: reply.status,
            )
            return await client.send(call)

        async with asyncio.timeout(60):
            statuses = await asyncio.gather(*[slow() for _ in range(16)])
        assert statuses == [200] * 16
        link = transport._links[asyncio.get_running_loop()]
        assert link.limit == 10  # learned from the server's refusal
        # The pool keeps the first 10 channels as idle keep-alive connections, so the 6
        # queued streams got a second SSH connection after waiting `queue_timeout`.
        assert transport.handshakes == 2
        await transport.aclose()


async def test_asyncssh_queues_for_a_channel(ssh_home: SSHHome) -> None:
    # One channel allowed: a request waits while an attach holds it, then runs on the same
    # SSH connection once the attach is closed.
    docker28 = _engine("docker28")
    transport = SSHTransport(parse_host(ssh_home.url(docker28)), max_channels=1, queue_timeout=30)
    cid = docker28.docker("run", "-d", "-i", "--label", "engineapi.test=1", "busybox", "cat")
    cid = cid.strip()
    try:
        async with AsyncClient(
            ssh_home.url(docker28), transport=transport, max_connections=2, version="1.41"
        ) as client:
            attached = await client.containers.attach(cid, stdin=True)
            ping = asyncio.create_task(client.system.ping())
            await asyncio.sleep(1)
            assert not ping.done()  # queued for the one channel
            await attached.aclose()
            async with asyncio.timeout(10):
                assert (await ping).api_version
            assert transport.handshakes == 1
            await transport.aclose()
    finally:
        docker28.docker("rm", "-f", cid, check=False)


def test_sync_close_stops_the_loop_thread(ssh_home: SSHHome) -> None:
    def ssh_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("engineapi-ssh")]

    gc.collect()  # transports other tests dropped
    deadline = time.monotonic() + 5
    while ssh_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ssh_threads() == []
    client = _client(ssh_home.url(_engine("docker28")), "asyncssh")
    client.system.ping()
    assert len(ssh_threads()) == 1
    client.close()
    _close_transport(client)
    assert ssh_threads() == []
    # Without any close, dropping the client ends the thread too.
    client = _client(ssh_home.url(_engine("docker28")), "asyncssh")
    client.system.ping()
    del client
    gc.collect()
    deadline = time.monotonic() + 5
    while ssh_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ssh_threads() == []


def test_sync_threads_share_the_ssh_connection(ssh_home: SSHHome) -> None:
    # Threads take turns running the shared loop or wait for the one running it, while
    # another thread blocks on an endless events stream on the same SSH connection.
    docker28 = _engine("docker28")
    label = f"engineapi.ssh-threads={os.getpid()}"
    with _client(ssh_home.url(docker28), "asyncssh", max_connections=8) as client:
        events = client.system.events(filters={"label": [label], "event": ["start"]})
        seen: list[str] = []

        def follow() -> None:
            with events:
                for event in events:
                    seen.append(str(event.action))
                    return

        follower = threading.Thread(target=follow)
        follower.start()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(25):
                    assert client.system.ping().api_version == docker28.api_version
                    assert isinstance(client.containers.list(all=True), list)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(6)]
        start = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert not errors, errors
        assert time.monotonic() - start < 60
        docker28.docker("run", "--rm", "--label", label, "busybox", "true")
        follower.join(30)
        assert seen == ["start"]
        assert isinstance(client.transport, SSHTransport)
        assert client.transport.handshakes == 1  # 7 channels at most: within MaxSessions


def test_sync_close_from_another_thread_ends_a_blocked_stream(ssh_home: SSHHome) -> None:
    # A thread blocks in an events stream, running the SSH loop; closing the client from
    # another thread ends that stream promptly and stops the loop's daemon thread.
    client = _client(ssh_home.url(_engine("docker28")), "asyncssh")
    client.system.ping()
    events = client.system.events(filters={"label": ["engineapi.never=1"]})
    outcome: list[object] = []

    def follow() -> None:
        try:
            for _ in events:
                pass
            outcome.append("ended")
        except Exception as exc:
            outcome.append(exc)

    follower = threading.Thread(target=follow)
    follower.start()
    time.sleep(0.5)
    start = time.monotonic()
    client.close()
    follower.join(10)
    assert not follower.is_alive() and time.monotonic() - start < 10
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionLost), outcome
    assert "the client was closed" in str(outcome[0])
    assert not [t for t in threading.enumerate() if t.name.startswith("engineapi-ssh")]


async def test_async_close_ends_a_stream_of_another_task(ssh_home: SSHHome) -> None:
    client = AsyncClient(ssh_home.url(_engine("docker28")), ssh_mode="asyncssh", timeout=TIMEOUTS)
    await client.system.ping()

    async def follow() -> None:
        async for _ in client.system.events(filters={"label": ["engineapi.never=1"]}):
            pass

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    await client.aclose()
    with pytest.raises(ConnectionLost, match="the client was closed"):
        async with asyncio.timeout(10):
            await task


def test_reading_and_writing_from_two_threads(ssh_home: SSHHome, mode: str) -> None:
    # With asyncssh, both threads share the SSH loop: one drives it while the other hands
    # its writes over, in turn.
    docker28 = _engine("docker28")
    payload = os.urandom(2 * 1024 * 1024).hex().encode()
    with _client(ssh_home.url(docker28), mode) as client:
        assert _cat_with_two_threads(client, docker28, payload) == payload


def test_sync_client_inside_a_running_event_loop(ssh_home: SSHHome) -> None:
    # As in a notebook: the calling thread runs an event loop of its own, so it cannot run
    # the SSH loop; the transport's daemon thread does it for it.
    docker28 = _engine("docker28")
    payload = b"from inside a loop\n" * 5000

    async def main() -> None:
        with _client(ssh_home.url(docker28), "asyncssh") as client:
            for _ in range(20):
                assert client.system.ping().api_version == docker28.api_version
            assert _stdout_of(_hijack_cat(client, docker28, payload)) == payload

    asyncio.run(main())


def test_ctrl_c_while_following_a_stream(ssh_home: SSHHome) -> None:
    # SIGINT reaches the main thread while it runs the SSH loop, waiting on an events stream:
    # the client drops that SSH connection (an SSH packet may have been cut in half) and the
    # next request makes a new one.
    assert threading.current_thread() is threading.main_thread()
    docker28 = _engine("docker28")
    with _client(ssh_home.url(docker28), "asyncssh") as client:
        client.system.ping()
        events = client.system.events(filters={"label": ["engineapi.never=1"]})
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt), events:
                for _ in events:
                    pass
        finally:
            timer.cancel()
        assert client.system.ping().api_version == docker28.api_version
        assert isinstance(client.transport, SSHTransport)
        assert client.transport.handshakes == 2


# -- failures: each a typed error, quickly -------------------------------------------------------


def _connect_error(url: str, mode: str, *, flavour: str = "sync") -> ConnectError:
    start = time.monotonic()
    with pytest.raises(ConnectError) as info:
        if flavour == "sync":
            with _client(url, mode) as client:
                try:
                    client.system.ping()
                finally:
                    _close_transport(client)
        else:

            async def ping() -> None:
                async with AsyncClient(url, ssh_mode=mode, timeout=TIMEOUTS) as client:
                    try:
                        await client.system.ping()
                    finally:
                        if isinstance(client.transport, SSHTransport):
                            await client.transport.aclose()

            asyncio.run(ping())
    assert time.monotonic() - start < 20, "the failure took too long"
    return info.value


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_wrong_key(ssh_home: SSHHome, mode: str, flavour: str) -> None:
    ssh_home.identity.unlink()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_home.identity)], check=True
    )
    error = _connect_error(ssh_home.url(_engine("docker28")), mode, flavour=flavour)
    message = str(error)
    assert "refused the keys" in message
    if mode == "system":
        assert "Permission denied (publickey)" in message


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_unknown_host_key(ssh_home: SSHHome, mode: str, flavour: str) -> None:
    ssh_home.known_hosts.write_text("")
    message = str(_connect_error(ssh_home.url(_engine("docker28")), mode, flavour=flavour))
    port = ssh_home.sshd.port
    if mode == "asyncssh":
        fingerprint = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", ssh_home.sshd.host_key],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[1]
        assert f"unknown SSH host key ssh-ed25519 {fingerprint}" in message
        assert f"ssh-keyscan -p {port} 127.0.0.1 >> {ssh_home.known_hosts}" in message
    else:
        assert "Host key verification failed" in message
        assert f"host key of {ssh_home.sshd.alias}" in message


def test_known_hosts_none_in_the_config_is_no_free_pass(ssh_home: SSHHome, mode: str) -> None:
    # asyncssh skips host key checks for "UserKnownHostsFile none"; engineapi does not.
    alias = ssh_home.add_alias("unchecked", extra=["UserKnownHostsFile none"])
    url = ssh_home.url(_engine("docker28"), alias=alias)
    ssh_home.known_hosts.write_text("")
    message = str(_connect_error(url, mode))
    if mode == "asyncssh":
        assert "unknown SSH host key ssh-ed25519 SHA256:" in message
    else:
        assert "Host key verification failed" in message
    if mode == "asyncssh":  # ~/.ssh/known_hosts is what it is checked against
        ssh_home.known_hosts.write_text(ssh_home.host_key_line(ssh_home.sshd.port))
        with _client(url, mode) as client:
            assert client.system.ping().api_version
            _close_transport(client)


def test_changed_host_key(ssh_home: SSHHome, mode: str, tmp_path: Path) -> None:
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    key = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    ssh_home.known_hosts.write_text(f"[127.0.0.1]:{ssh_home.sshd.port} {key}\n")
    message = str(_connect_error(ssh_home.url(_engine("docker28")), mode))
    if mode == "asyncssh":
        assert "has CHANGED" in message
        assert f"ssh-keygen -R '[127.0.0.1]:{ssh_home.sshd.port}'" in message
    else:
        assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in message
        assert "Host key verification failed" in message


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_remote_without_the_docker_cli(ssh_home: SSHHome, mode: str, flavour: str) -> None:
    alias = ssh_home.add_alias("no-docker", identity=ssh_home.sshd.identities["nodocker"])
    message = str(_connect_error(ssh_home.url(alias=alias), mode, flavour=flavour))
    assert "docker: not found" in message and "status 127" in message
    assert "the docker CLI (18.09 or later) is missing" in message


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_login_banner_on_stdout(ssh_home: SSHHome, mode: str, flavour: str) -> None:
    alias = ssh_home.add_alias("chatty", identity=ssh_home.sshd.identities["banner"])
    message = str(_connect_error(ssh_home.url(alias=alias), mode, flavour=flavour))
    assert "Welcome to engineapi-test!" in message and "login script" in message


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_engine_down_behind_the_ssh_host(
    ssh_home: SSHHome, mode: str, flavour: str, tmp_path: Path
) -> None:
    url = f"ssh://{ssh_home.sshd.alias}{tmp_path}/no-engine.sock"
    message = str(_connect_error(url, mode, flavour=flavour))
    assert "no such file or directory" in message
    assert f"not reachable at unix://{tmp_path}/no-engine.sock" in message


def test_nothing_listening(ssh_home: SSHHome, mode: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    alias = ssh_home.add_alias("nobody-home", port=port)
    message = str(_connect_error(ssh_home.url(alias=alias), mode))
    assert "Connection refused" in message or "connection refused" in message.lower()


# -- sshd killed mid-stream ----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _sshd_tree(pid: int) -> list[int]:
    """`pid` and its descendants that are sshd processes (not the remote commands)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            comm = Path(f"/proc/{current}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "sshd":
            tree.append(current)
        todo.extend(_children(current))
    return tree


@pytest.fixture
def doomed_sshd(ssh_home: SSHHome, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private sshd (the test sshd's configuration on another port) the test may kill."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lines = []
    for line in Path(ssh_home.sshd.sshd_config).read_text().splitlines():
        if line.startswith("Port "):
            line = f"Port {port}"
        elif line.startswith("PidFile "):
            line = f"PidFile {tmp_path}/doomed-sshd.pid"
        lines.append(line)
    config = tmp_path / "doomed_sshd_config"
    config.write_text("\n".join(lines) + "\n")
    log = (tmp_path / "doomed-sshd.log").open("wb")
    process = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                if probe.recv(4) == b"SSH-":
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"the private sshd did not start: {tmp_path}/doomed-sshd.log")
        time.sleep(0.05)
    with ssh_home.known_hosts.open("a") as known:
        known.write(ssh_home.host_key_line(port))
    alias = ssh_home.add_alias("doomed", port=port)
    try:
        yield alias, process
    finally:
        for pid in _sshd_tree(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.wait(10)
        log.close()


def _kill_sshd(process: subprocess.Popen[bytes]) -> None:
    pids = _sshd_tree(process.pid)
    assert len(pids) > 1, "no sshd session to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def test_sshd_killed_mid_stream(
    ssh_home: SSHHome, mode: str, doomed_sshd: tuple[str, subprocess.Popen[bytes]]
) -> None:
    alias, process = doomed_sshd
    docker28 = _engine("docker28")
    label = f"engineapi.ssh-doomed={os.getpid()}-{mode}"
    with _client(ssh_home.url(docker28, alias=alias), mode) as client:
        events = client.system.events(filters={"label": [label], "event": ["start"]})
        with events:
            iterator = iter(events)
            docker28.docker("run", "--rm", "--label", label, "busybox", "true")
            assert next(iterator).action == "start"
            _kill_sshd(process)
            start = time.monotonic()
            with pytest.raises(TransportError) as info:
                for _ in iterator:
                    pass
            assert time.monotonic() - start < 10
        assert isinstance(info.value, ConnectionLost), repr(info.value)
        assert "ssh" in str(info.value).lower()
        _close_transport(client)


async def test_async_sshd_killed_mid_stream(
    ssh_home: SSHHome, mode: str, doomed_sshd: tuple[str, subprocess.Popen[bytes]]
) -> None:
    alias, process = doomed_sshd
    docker28 = _engine("docker28")
    url = ssh_home.url(docker28, alias=alias)
    async with AsyncClient(url, ssh_mode=mode, timeout=TIMEOUTS) as client:
        cid = docker28.docker("run", "-d", "-i", "--label", "engineapi.test=1", "busybox", "cat")
        cid = cid.strip()
        try:
            async with await client.containers.attach(cid, stdin=True) as attached:
                await attached.write(b"before\n")
                frame = await attached.read_frame(timeout=10)
                assert frame == (1, b"before\n")
                _kill_sshd(process)
                start = time.monotonic()
                async with asyncio.timeout(10):
                    while await attached.read_frame(timeout=10) is not None:
                        pass
                assert time.monotonic() - start < 10
            with pytest.raises(TransportError):
                async with asyncio.timeout(20):
                    await client.system.ping()
        finally:
            docker28.docker("rm", "-f", cid, check=False)
            if isinstance(client.transport, SSHTransport):
                await client.transport.aclose()


# -- the httpx backend over SSH (engineapi's transports as httpcore's network backend) ----------


def test_httpx_backend_over_ssh(ssh_home: SSHHome, mode: str) -> None:
    from engineapi.backends.httpx import AsyncHttpxBackend, HttpxBackend

    docker28 = _engine("docker28")
    url = ssh_home.url(docker28)
    payload = b"httpx over ssh\n" * 3000  # more than one SSH window packet
    with _client(url, mode, backend="httpx") as client:
        assert isinstance(client._pool, HttpxBackend)
        assert client.system.ping().api_version == docker28.api_version
        assert isinstance(client.containers.list(all=True), list)
        assert _stdout_of(_hijack_cat(client, docker28, payload)) == payload
        assert client.system.ping().api_version  # the pool still works afterwards
        _close_transport(client)

    async def run() -> None:
        async with AsyncClient(url, ssh_mode=mode, timeout=TIMEOUTS, backend="httpx") as client:
            assert isinstance(client._pool, AsyncHttpxBackend)
            assert (await client.system.ping()).api_version == docker28.api_version
            pings = await asyncio.gather(*[client.system.ping() for _ in range(4)])
            assert all(ping.api_version for ping in pings)
            assert isinstance(await client.containers.list(all=True), list)
            assert _stdout_of(await _async_hijack_cat(client, docker28, payload)) == payload
            assert (await client.system.ping()).api_version
            if isinstance(client.transport, SSHTransport):
                await client.transport.aclose()

    asyncio.run(run())


def test_a_process_with_more_than_1024_descriptors(
    ssh_home: SSHHome, docker: Engine, mode: str
) -> None:
    """A busy process (a web server, a CI runner) holds descriptors past 1024, where
    ``select()`` gives up: the SSH transports' descriptors land there and still work."""
    with many_descriptors(1100), _client(ssh_home.url(docker), mode) as client:
        for _ in range(3):
            assert client.system.ping().api_version == docker.api_version
        assert client.containers.list(all=True) is not None
        _close_transport(client)


def test_hooks_and_log_records_over_ssh(
    ssh_home: SSHHome, docker: Engine, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="engineapi")
    seen: list[object] = []
    hooks = {"request": [seen.append], "response": [seen.append]}
    url = ssh_home.url(docker)
    with _client(url, mode, event_hooks=hooks) as client:
        client.system.ping()
        client.containers.list()
    statuses = [getattr(info, "status", None) for info in seen[1::2]]
    assert statuses and all(status == 200 for status in statuses)
    operations = [getattr(info, "operation_id", None) for info in seen[0::2]]
    assert operations[0] == "SystemPing" and operations[-1] == "ContainerList"
    records = [r for r in caplog.records if r.name == "engineapi"]
    assert [r.engineapi_operation for r in records] == operations
    assert all(r.engineapi_host == url for r in records)


def test_timed_and_cancelled_reads_over_ssh(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    """`next(timeout=)` and a cancelled read leave a stream over SSH usable, nothing lost."""
    from tests.live.test_stream_control import COUNTER, cancelled_reads, timed_reads

    cid = docker.docker("run", "-d", "--label", "engineapi.test=1", "busybox", *COUNTER).strip()
    try:
        with _client(ssh_home.url(docker), mode) as client:
            timed_reads(client, cid)

        async def main() -> None:
            async with AsyncClient(ssh_home.url(docker), ssh_mode=mode, timeout=TIMEOUTS) as client:
                await cancelled_reads(client, cid)

        asyncio.run(main())
    finally:
        docker.docker("rm", "-f", cid, check=False)


def test_otel_spans_over_ssh(ssh_home: SSHHome, docker: Engine, mode: str) -> None:
    """`engineapi.otel` over SSH: the SSH host as the server, the remote socket beside it."""
    from tests.live.test_otel import instrumented, only

    with instrumented() as spans:
        with _client(ssh_home.url(docker), mode) as client:
            client.containers.list()

        async def main() -> None:
            async with AsyncClient(ssh_home.url(docker), ssh_mode=mode, timeout=TIMEOUTS) as client:
                async for _ in client.system.events(until=0):
                    pass

        asyncio.run(main())
        listed, events = only(spans, "ContainerList"), only(spans, "SystemEvents")
    for span in (listed, events):
        found = dict(span.attributes or {})
        assert found["server.address"] == ssh_home.sshd.alias
        assert "server.port" not in found  # the alias's port: ~/.ssh/config decides it
        assert found["engineapi.ssh.socket_path"] == _socket_path(docker)
        assert found["http.response.status_code"] == 200


def test_config_json_proxies_key_over_ssh_matches_the_cli(
    ssh_home: SSHHome, mode: str, tmp_path: Path
) -> None:
    """Over SSH the docker CLI talks HTTP to a placeholder host (its connection helper's), so
    its ``proxies`` entry for such a daemon is the one under that placeholder's URL: captured
    here from what the CLI itself sends, and engineapi must pick the same entry."""
    docker28 = _engine("docker28")
    url = ssh_home.url(docker28)
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    proxies = {
        "default": {"httpProxy": "http://default-proxy:3128"},
        url: {"httpProxy": "http://by-ssh-url:3128"},
        "http://docker.example.com": {"httpProxy": "http://by-placeholder:3128"},
    }
    (config_dir / "config.json").write_text(json.dumps({"proxies": proxies}))
    env = {**os.environ, "DOCKER_CONFIG": str(config_dir), "DOCKER_HOST": url}
    created = subprocess.run(
        ["docker", "create", "busybox", "true"], env=env, capture_output=True, text=True
    )
    assert created.returncode == 0, created.stderr
    cli_id = created.stdout.strip()
    try:
        cli_env = docker28.docker("inspect", "-f", "{{json .Config.Env}}", cli_id)
    finally:
        docker28.docker("rm", "-f", cli_id, check=False)
    cli_proxy = [v for v in json.loads(cli_env) if v.startswith("HTTP_PROXY=")]
    environ = {"DOCKER_CONFIG": str(config_dir), "DOCKER_HOST": url}
    with Client.from_env(environ=environ, ssh_mode=mode, timeout=TIMEOUTS) as client:
        ours = client.containers.create(image="busybox", command=["true"]).id
        try:
            env_ours = client.containers.inspect(ours).config.env  # type: ignore[union-attr]
        finally:
            client.containers.delete(ours, force=True)
    assert cli_proxy == ["HTTP_PROXY=http://by-placeholder:3128"]
    assert [v for v in env_ours or [] if v.startswith("HTTP_PROXY=")] == cli_proxy
