"""The client's own cost per request: CPU time of this process against a stub (``make bench``).

A real daemon's latency hides what a client costs and wall-clock swings with machine load, so
these goals are read in CPU time of the client process (``time.process_time``) per request,
against nginx answering ``/_ping`` from memory (``tests/bench/stub.py``). Contenders run in
interleaved rounds (each round runs every contender once, in turn), so that machine noise
hits all alike; the median round counts, and the range over rounds is printed too.

P1c  sync GET /_ping: engineapi ≤ 2× a raw socket loop's CPU per request (docker-py shown).
P2c  64 concurrent async pings: engineapi ≤ 2× raw asyncio streams' CPU per request and
     ≤ 1/3 of aiodocker's (uvloop measured too where it is installed; the goal holds on the
     default loop).
M1   decode of a 500-container ``GET /containers/json`` reply ≤ 1.5× ``json.loads`` of it,
     with the cyclic GC running as the host left it (``tests/bench/bench_models.py``). Read
     as the mean over all rounds, not the median round: a full collection, set off by what
     every call allocated, lands on whichever call runs then and costs more than the call
     itself, so only the mean over many calls charges each contender its share.

ENGINEAPI_BENCH_ROUNDS (default 9) sets the rounds.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import stub as stub_server  # noqa: E402

ROUNDS = int(os.environ.get("ENGINEAPI_BENCH_ROUNDS", "9"))
SYNC_CALLS = 2000  # per round, per contender (docker-py: a quarter, it is ~10× dearer)
CONCURRENCY = 64
ASYNC_BATCHES = 40  # batches of 64 per round, per contender
PING = b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"


@dataclass
class Figure:
    cpu: list[float]  # CPU seconds per request, one per round
    wall: list[float]  # wall seconds per request, one per round

    @property
    def cpu_us(self) -> float:
        return statistics.median(self.cpu) * 1e6

    @property
    def wall_us(self) -> float:
        return statistics.median(self.wall) * 1e6

    @property
    def mean_us(self) -> float:
        return statistics.mean(self.cpu) * 1e6

    def cpu_range(self) -> str:
        return f"{min(self.cpu) * 1e6:.0f}–{max(self.cpu) * 1e6:.0f}"


def sync_rounds(contenders: dict[str, tuple[Callable[[], object], int]]) -> dict[str, Figure]:
    for fn, _ in contenders.values():
        for _ in range(100):
            fn()
    figures = {name: Figure([], []) for name in contenders}
    for _ in range(ROUNDS):
        for name, (fn, calls) in contenders.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(calls):
                fn()
            figures[name].cpu.append((time.process_time() - cpu) / calls)
            figures[name].wall.append((time.perf_counter() - wall) / calls)
    return figures


def raw_socket_ping(path: str) -> Callable[[], object]:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)

    def ping() -> bytes:
        sock.sendall(PING)
        data = sock.recv(65536)
        while not data.endswith(b"\r\n\r\nOK"):
            data += sock.recv(65536)
        return data

    return ping


def p1c(url: str, path: str) -> dict[str, Figure]:
    from engineapi import Client

    client = Client(url)
    client.api_version()
    contenders: dict[str, tuple[Callable[[], object], int]] = {
        "raw socket loop": (raw_socket_ping(path), SYNC_CALLS),
        "engineapi": (client.system.ping, SYNC_CALLS),
    }
    try:
        import docker
    except ImportError:
        docker = None
    if docker is not None:
        dpy = docker.DockerClient(base_url=url, version=stub_server.API_VERSION)
        contenders["docker-py"] = (dpy.api.ping, SYNC_CALLS // 4)
    try:
        return sync_rounds(contenders)
    finally:
        client.close()
        if docker is not None:
            dpy.close()


async def async_rounds(contenders: dict[str, Callable[[], Awaitable[object]]]) -> dict[str, Figure]:
    for batch in contenders.values():
        for _ in range(3):
            await batch()
    figures = {name: Figure([], []) for name in contenders}
    requests = ASYNC_BATCHES * CONCURRENCY
    for _ in range(ROUNDS):
        for name, batch in contenders.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(ASYNC_BATCHES):
                await batch()
            figures[name].cpu.append((time.process_time() - cpu) / requests)
            figures[name].wall.append((time.perf_counter() - wall) / requests)
    return figures


async def p2c(url: str, path: str, with_peer: bool = True) -> dict[str, Figure]:
    from engineapi import AsyncClient

    streams = [await asyncio.open_unix_connection(path) for _ in range(CONCURRENCY)]

    async def raw_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(PING)
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)

    async def raw_batch() -> None:
        await asyncio.gather(*[raw_one(r, w) for r, w in streams])

    client = AsyncClient(url, max_connections=CONCURRENCY)
    await client.api_version()

    async def ours_batch() -> None:
        await asyncio.gather(*[client.system.ping() for _ in range(CONCURRENCY)])

    contenders: dict[str, Callable[[], Awaitable[object]]] = {
        "raw asyncio streams": raw_batch,
        "engineapi": ours_batch,
    }
    aiodocker = None
    if with_peer:
        try:
            import aiodocker
        except ImportError:
            pass
    if aiodocker is not None:
        peer = aiodocker.Docker(url=url, api_version=f"v{stub_server.API_VERSION}")

        async def aiodocker_ping() -> bytes:
            async with peer._query("_ping", versioned_api=False) as response:
                return await response.read()

        async def peer_batch() -> None:
            await asyncio.gather(*[aiodocker_ping() for _ in range(CONCURRENCY)])

        contenders["aiodocker"] = peer_batch
    try:
        return await async_rounds(contenders)
    finally:
        for _, writer in streams:
            writer.close()
        await client.aclose()
        if aiodocker is not None:
            await peer.close()


def m1() -> tuple[Figure, Figure]:
    """json.loads vs engineapi's decode_list of the same 500-container reply, interleaved,
    CPU time, the GC left on."""
    import json

    import bench_models

    from engineapi.api._call import Reply, decode_list
    from engineapi.http import Headers
    from engineapi.models import ContainerSummary

    raw = json.dumps(bench_models.build_containers(500), separators=(",", ":")).encode()
    reply = Reply(200, Headers([("Content-Type", "application/json")]), raw)
    decode = decode_list(ContainerSummary)
    contenders = {
        "json.loads": (lambda: json.loads(raw), 10),
        "decode_list": (lambda: decode(reply), 10),
    }
    figures = sync_rounds_n(contenders, rounds=max(ROUNDS, 15))
    return figures["json.loads"], figures["decode_list"]


def sync_rounds_n(
    contenders: dict[str, tuple[Callable[[], object], int]], rounds: int
) -> dict[str, Figure]:
    global ROUNDS
    saved, ROUNDS = ROUNDS, rounds
    try:
        return sync_rounds(contenders)
    finally:
        ROUNDS = saved


def row(name: str, figure: Figure, extra: str = "") -> str:
    return f"  {name:<26}{figure.cpu_us:9.1f}  {figure.cpu_range():>11}  {figure.wall_us:9.1f}  {extra}"


def verdict(name: str, ratio: float, goal: str, ok: bool) -> str:
    return f"  {name:<44}{ratio:6.2f}   goal {goal:<8} {'✔' if ok else '✘'}"


def main() -> None:
    import gc

    assert gc.isenabled()
    stub = stub_server.start()
    try:
        print(f"CPU per request against the nginx stub ({stub.url}), {ROUNDS} interleaved rounds")
        print(f"  {'contender':<26}{'CPU µs':>9}  {'CPU range':>11}  {'wall µs':>9}")
        print("P1c sync GET /_ping")
        sync = p1c(stub.url, stub.socket)
        for name, figure in sync.items():
            print(row(name, figure))
        print(f"P2c {CONCURRENCY} concurrent async pings (default event loop)")
        aio = asyncio.run(p2c(stub.url, stub.socket))
        for name, figure in aio.items():
            print(row(name, figure))
        try:
            import uvloop
        except ImportError:
            uvloop = None
            print("  uvloop                    not installed")
        if uvloop is not None:
            on_uvloop = uvloop.run(p2c(stub.url, stub.socket, with_peer=False))
            for name, figure in on_uvloop.items():
                print(row(f"{name} (uvloop)", figure))
    finally:
        stub.stop()
    print("M1 decode 500 ContainerSummary (the GC on)")
    loads, decoded = m1()
    print(row("json.loads", loads, f"µs per reply (median round; mean {loads.mean_us:.0f})"))
    print(row("engineapi decode_list", decoded, f"µs per reply (mean {decoded.mean_us:.0f})"))
    assert gc.isenabled(), "a decode switched the GC off"

    print("Goals (ratios of median CPU per request; M1 of the mean)")
    ours = sync["engineapi"].cpu_us
    ratio = ours / sync["raw socket loop"].cpu_us
    print(verdict("P1c engineapi / raw socket loop", ratio, "≤ 2", ratio <= 2))
    if "docker-py" in sync:
        print(f"  {'    docker-py / engineapi':<44}{sync['docker-py'].cpu_us / ours:6.2f}")
    ours = aio["engineapi"].cpu_us
    ratio = ours / aio["raw asyncio streams"].cpu_us
    print(verdict("P2c engineapi / raw asyncio streams", ratio, "≤ 2", ratio <= 2))
    if "aiodocker" in aio:
        ratio = ours / aio["aiodocker"].cpu_us
        print(verdict("P2c engineapi / aiodocker", ratio, "≤ 0.33", ratio <= 1 / 3))
    ratio = decoded.mean_us / loads.mean_us
    print(verdict("M1  decode_list / json.loads (GC on, mean)", ratio, "≤ 1.5", ratio <= 1.5))


if __name__ == "__main__":
    main()
