"""P5: the SSH transports against the test sshd of ``tests/engines/engines.sh`` (``make bench``).

Every contender reaches docker28 through ``docker system dial-stdio`` over the same local sshd,
naming it by the alias ``engineapi-test`` of a throwaway ``~/.ssh/config`` (this process's
``HOME`` points at it; an ``ssh`` wrapper first on ``PATH`` gives OpenSSH the same config):

    bare asyncssh     one asyncssh channel running dial-stdio, raw ``GET /_ping`` bytes
    engineapi mode 1  ``ssh_mode="asyncssh"``, async and sync clients
    engineapi mode 2  ``ssh_mode="system"``, the ``ssh`` binary, sync and async clients
    docker-py         paramiko (``ssh://``) and ``use_ssh_client=True``, when installed

Targets (issue 9): mode 1 uses exactly one SSH handshake for ``ROUNDS`` sequential pings and
costs ≤ 1.2× the bare channel; mode 2 keeps one ssh process for all of them (keep-alive).
Timing: blocks of ``ROUNDS`` pings, contenders alternating, median block. "mode 1 stream,
raw" sends the bare loop's bytes on an `SSHTransport` stream: the transport's own cost, apart
from the client's HTTP work. The exit status is 1 when a handshake or process count misses
its target (timings are reported only: a shared machine is too noisy to enforce them).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROUNDS = int(os.environ.get("ENGINEAPI_BENCH_SSH_ROUNDS", "100"))
BLOCKS = int(os.environ.get("ENGINEAPI_BENCH_SSH_BLOCKS", "7"))
SLOW_ROUNDS = int(os.environ.get("ENGINEAPI_BENCH_SSH_SLOW_ROUNDS", "5"))
SSHD_FILE = Path(os.environ.get("ENGINEAPI_SSHD_FILE", "/run/engineapi/sshd.json"))
SOCKET = os.environ.get("ENGINEAPI_BENCH_SSH_SOCKET", "/run/engineapi/docker28.sock")
PING = b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"


def make_home(sshd: dict[str, Any], root: Path) -> str:
    """A home whose ~/.ssh names the test sshd ``engineapi-test``; returns the alias."""
    ssh_dir = root / "home" / ".ssh"
    ssh_dir.mkdir(parents=True, mode=0o700)
    shutil.copy(sshd["known_hosts"], ssh_dir / "known_hosts")
    shutil.copy(sshd["identity"], ssh_dir / "id_ed25519")
    (ssh_dir / "id_ed25519").chmod(0o600)
    alias = str(sshd["alias"])
    (ssh_dir / "config").write_text(
        f"Host {alias}\n"
        f"    HostName {sshd['host']}\n"
        f"    Port {sshd['port']}\n"
        f"    User {sshd['user']}\n"
        # OpenSSH reads the passwd home, not HOME: spell out this home's files for all hosts.
        "Host *\n"
        f"    IdentityFile {ssh_dir / 'id_ed25519'}\n"
        "    IdentitiesOnly yes\n"
        "    IdentityAgent none\n"
        f"    UserKnownHostsFile {ssh_dir / 'known_hosts'}\n"
        "    StrictHostKeyChecking yes\n"
        "    BatchMode yes\n"
    )
    bin_dir = root / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F "{ssh_dir}/config" "$@"\n')
    wrapper.chmod(0o755)
    os.environ["HOME"] = str(root / "home")
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    for name in ("SSH_AUTH_SOCK", "DOCKER_HOST", "DOCKER_CONTEXT", "ENGINEAPI_SSH_MODE"):
        os.environ.pop(name, None)
    return alias


class Bench:
    """Sync and async contenders timed in alternating blocks on one event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.samples: dict[str, list[float]] = {}
        self.contenders: dict[str, Callable[[], object]] = {}

    def add_sync(self, name: str, ping: Callable[[], object]) -> None:
        def block() -> None:
            for _ in range(ROUNDS):
                ping()

        self.contenders[name] = block

    def add_async(self, name: str, ping: Callable[[], Awaitable[object]]) -> None:
        async def many() -> None:
            for _ in range(ROUNDS):
                await ping()

        self.contenders[name] = lambda: self.loop.run_until_complete(many())

    def run(self) -> dict[str, float]:
        for block in self.contenders.values():  # warm up
            block()
        samples: dict[str, list[float]] = {name: [] for name in self.contenders}
        for _ in range(BLOCKS):
            for name, block in self.contenders.items():
                start = time.perf_counter()
                block()
                samples[name].append((time.perf_counter() - start) / ROUNDS)
        return {name: statistics.median(values) for name, values in samples.items()}


def first_ping(connect: Callable[[], object]) -> float:
    start = time.perf_counter()
    connect()
    return time.perf_counter() - start


def main() -> int:
    if not SSHD_FILE.exists():
        print(f"P5  skipped: {SSHD_FILE} is missing (run tests/engines/engines.sh up)")
        return 0 if os.environ.get("ENGINEAPI_NO_ENGINES") else 1
    sshd = json.loads(SSHD_FILE.read_text())
    with tempfile.TemporaryDirectory(prefix="engineapi-bench-ssh-") as tmp:
        alias = make_home(sshd, Path(tmp))
        return p5(alias, f"ssh://{sshd['user']}@{sshd['host']}:{sshd['port']}")


def p5(alias: str, explicit: str) -> int:
    import asyncssh

    from engineapi import AsyncClient, Client
    from engineapi.transports._ssh import remote_command_line
    from engineapi.transports.ssh import SSHTransport
    from engineapi.transports.sshcmd import SSHCommandTransport

    url = f"ssh://{alias}{SOCKET}"
    print(f"P5  GET /_ping over SSH ({url}), {BLOCKS} blocks of {ROUNDS} sequential pings each")
    bench = Bench()
    loop = bench.loop

    # -- bare asyncssh channel ----------------------------------------------------------------
    async def bare_open() -> tuple[Any, Any, Any]:
        conn = await asyncssh.connect(alias)
        writer, reader, _ = await conn.open_session(
            remote_command_line(SOCKET), encoding=None, request_pty=False
        )
        return conn, writer, reader

    start = time.perf_counter()
    bare_conn, bare_writer, bare_reader = loop.run_until_complete(bare_open())

    async def bare_ping() -> bytes:
        bare_writer.write(PING)
        data = b""
        while not data.endswith(b"\r\n\r\nOK"):
            chunk = await bare_reader.read(65536)
            if not chunk:
                raise ConnectionError("the channel closed")
            data += chunk
        return data

    loop.run_until_complete(bare_ping())
    connect_times = {"bare asyncssh": time.perf_counter() - start}
    bench.add_async("bare asyncssh", bare_ping)

    # -- engineapi's transports alone: raw ping bytes on an SSHTransport stream ------------------
    from engineapi.config import parse_host

    raw_transport = SSHTransport(parse_host(url))
    raw_stream = loop.run_until_complete(raw_transport.aconnect(30))

    async def stream_ping() -> bytes:
        await raw_stream.write(PING, 120)
        data = b""
        while not data.endswith(b"\r\n\r\nOK"):
            data += await raw_stream.read(65536, 120)
        return data

    bench.add_async("mode 1 stream, raw", stream_ping)

    # -- engineapi ----------------------------------------------------------------------------
    async_one = AsyncClient(url, ssh_mode="asyncssh", version="1.51")
    connect_times["mode 1 async"] = first_ping(
        lambda: loop.run_until_complete(async_one.system.ping())
    )
    bench.add_async("mode 1 async", async_one.system.ping)
    sync_one = Client(url, ssh_mode="asyncssh", version="1.51")
    connect_times["mode 1 sync"] = first_ping(sync_one.system.ping)
    bench.add_sync("mode 1 sync", sync_one.system.ping)
    sync_two = Client(url, ssh_mode="system", version="1.51")
    connect_times["mode 2 sync"] = first_ping(sync_two.system.ping)
    bench.add_sync("mode 2 sync", sync_two.system.ping)
    async_two = AsyncClient(url, ssh_mode="system", version="1.51")
    connect_times["mode 2 async"] = first_ping(
        lambda: loop.run_until_complete(async_two.system.ping())
    )
    bench.add_async("mode 2 async", async_two.system.ping)

    # -- docker-py, when installed ------------------------------------------------------------
    dpy: Any = None
    dpy_notes: list[str] = []
    try:
        import docker
    except ImportError:
        docker = None
        dpy_notes.append("docker-py          not installed")
    if docker is not None:
        try:
            import paramiko  # noqa: F401  (docker-py's ssh:// needs it)
        except ImportError:
            dpy_notes.append("docker-py paramiko not installed (pip install paramiko)")
        else:
            # docker-py takes no socket path in ssh URLs: it reaches the remote's default
            # engine, which the test sshd sets to docker28 too. It also fills in port 22,
            # overriding the alias's Port, so it gets user, address and port spelled out.
            start = time.perf_counter()
            dpy = docker.DockerClient(base_url=explicit, version="1.51")
            dpy.api.ping()
            connect_times["docker-py paramiko"] = time.perf_counter() - start
            bench.add_sync("docker-py paramiko", dpy.api.ping)

    try:
        result = bench.run()
        slow: dict[str, float] = {}
        if docker is not None:
            dpy_cli = docker.DockerClient(base_url=explicit, version="1.51", use_ssh_client=True)
            start = time.perf_counter()
            for _ in range(SLOW_ROUNDS):
                dpy_cli.api.ping()
            slow["docker-py ssh client"] = (time.perf_counter() - start) / SLOW_ROUNDS
            dpy_cli.close()
    finally:
        bare_conn.close()
        loop.run_until_complete(bare_conn.wait_closed())
        loop.run_until_complete(raw_stream.aclose())
        loop.run_until_complete(raw_transport.aclose())
        loop.run_until_complete(async_one.aclose())
        loop.run_until_complete(async_two.aclose())
        sync_one.close()
        sync_two.close()

    one_async = async_one.transport
    one_sync = sync_one.transport
    two_sync = sync_two.transport
    two_async = async_two.transport
    assert isinstance(one_async, SSHTransport) and isinstance(one_sync, SSHTransport)
    assert isinstance(two_sync, SSHCommandTransport)
    assert isinstance(two_async, SSHCommandTransport)
    handshakes = (one_async.handshakes, one_sync.handshakes)
    processes = (two_sync.processes_started, two_async.processes_started)
    pings = (BLOCKS + 1) * ROUNDS + 1
    loop.run_until_complete(one_async.aclose())
    one_sync.close()
    loop.close()

    bare = result["bare asyncssh"]
    failed = False
    print(f"    {'':22} {'per ping':>10} {'vs bare':>8} {'first ping':>11}")
    for name, seconds in {**result, **slow}.items():
        ratio = f"{seconds / bare:7.2f}×"
        first = connect_times.get(name)
        first_text = f"{first * 1e3:8.1f} ms" if first is not None else f"{'':11}"
        note = ""
        if name in ("mode 1 async", "mode 1 sync"):
            # Timing on a shared machine is noisy: reported, not enforced.
            note = f"  target ≤ 1.20× {'PASS' if seconds <= 1.2 * bare else 'MISSED'}"
        print(f"    {name:22} {seconds * 1e3:7.3f} ms {ratio} {first_text}{note}")
    for note_text in dpy_notes:
        print(f"    {note_text}")
    ok = handshakes == (1, 1)
    failed |= not ok
    print(
        f"    mode 1: {pings} sequential pings per client used {handshakes[0]} (async) and "
        f"{handshakes[1]} (sync) SSH handshake(s); target 1 {'PASS' if ok else 'FAIL'}"
    )
    ok = processes == (1, 1)
    failed |= not ok
    print(
        f"    mode 2: {pings} sequential pings per client used {processes[0]} (sync) and "
        f"{processes[1]} (async) ssh process(es); target 1 {'PASS' if ok else 'FAIL'}"
    )
    print(f"    engineapi and the bare channel name the host by the ~/.ssh/config alias {alias!r}")
    if docker is not None:
        print(f"    docker-py gets {explicit} (it overrides an alias's Port with 22)")
    if "docker-py paramiko" in result:
        theirs = result["docker-py paramiko"]
        print(
            f"    docker-py paramiko / engineapi mode 1 sync: "
            f"{theirs / result['mode 1 sync']:4.1f}× slower per ping"
        )
    if slow:
        theirs = slow["docker-py ssh client"]
        print(
            f"    docker-py use_ssh_client / engineapi mode 2 sync: "
            f"{theirs / result['mode 2 sync']:4.0f}× slower per ping "
            f"({SLOW_ROUNDS} pings; it starts ssh for every request)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
