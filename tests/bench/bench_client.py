"""Client benchmarks, measured side by side in one run (``make bench``).

P1  sync GET /_ping: engineapi vs a raw-socket HTTP loop (target ≤ 1.5×) and vs docker-py.
P2  64 concurrent async pings: engineapi vs raw asyncio streams and vs aiodocker
    (target ≥ 3× aiodocker's throughput).
P3  import time: ``import engineapi`` vs ``import docker`` (target ≤ 1/3).

The engine is the one engineapi resolves, or ENGINEAPI_BENCH_HOST (a unix:// socket).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

HOST = os.environ.get("ENGINEAPI_BENCH_HOST", "unix:///run/engineapi/docker28.sock")
SOCKET = HOST.removeprefix("unix://")
ROUNDS = int(os.environ.get("ENGINEAPI_BENCH_ROUNDS", "2000"))
CONCURRENCY = 64
BATCHES = int(os.environ.get("ENGINEAPI_BENCH_BATCHES", "100"))

PING = b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"


def interleaved(
    contenders: dict[str, Callable[[], object]], rounds: int = ROUNDS
) -> dict[str, float]:
    """Median seconds per call of each contender, timed in alternating slices so that
    machine noise hits all of them alike."""
    for fn in contenders.values():
        for _ in range(50):
            fn()
    slices = 20
    per_slice = max(1, rounds // slices)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(slices):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for _ in range(per_slice):
                fn()
            samples[name].append((time.perf_counter() - start) / per_slice)
    return {name: statistics.median(values) for name, values in samples.items()}


def raw_socket_ping() -> Callable[[], object]:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(SOCKET)

    def ping() -> bytes:
        sock.sendall(PING)
        data = sock.recv(65536)
        while b"\r\n\r\n" not in data or not data.endswith(b"OK"):
            data += sock.recv(65536)
        return data

    return ping


def p1() -> None:
    from engineapi import Client

    print(f"P1  sync GET /_ping on {HOST}, {ROUNDS} calls each, interleaved")
    client = Client(HOST)
    client.api_version()
    contenders: dict[str, Callable[[], object]] = {
        "raw socket": raw_socket_ping(),
        "engineapi": client.system.ping,
    }
    try:
        import docker
    except ImportError:
        docker = None
    if docker is not None:
        dpy = docker.DockerClient(base_url=HOST)
        contenders["docker-py"] = dpy.api.ping
    result = interleaved(contenders)
    raw, ours = result["raw socket"], result["engineapi"]
    print(f"    raw socket      {raw * 1e6:8.1f} µs")
    print(f"    engineapi       {ours * 1e6:8.1f} µs   {ours / raw:5.2f}× raw (target ≤ 1.5×)")
    if "docker-py" in result:
        theirs = result["docker-py"]
        print(
            f"    docker-py       {theirs * 1e6:8.1f} µs   {theirs / raw:5.2f}× raw; "
            f"engineapi is {theirs / ours:4.1f}× faster"
        )
        dpy.close()
    else:
        print("    docker-py       not installed")
    client.close()


async def interleaved_throughput(
    contenders: dict[str, Callable[[], Awaitable[object]]],
) -> dict[str, float]:
    """Pings per second of each contender (64 in flight), batches alternating between them
    so that noise hits all alike; the median batch counts."""
    for batch in contenders.values():
        await batch()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(BATCHES):
        for name, batch in contenders.items():
            start = time.perf_counter()
            await batch()
            samples[name].append(CONCURRENCY / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in samples.items()}


async def p2() -> None:
    from engineapi import AsyncClient

    print(f"P2  {CONCURRENCY} concurrent async pings, {BATCHES} batches each, interleaved")
    streams = [await asyncio.open_unix_connection(SOCKET) for _ in range(CONCURRENCY)]

    async def raw_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(PING)
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)

    async def raw_batch() -> None:
        await asyncio.gather(*[raw_one(r, w) for r, w in streams])

    client = AsyncClient(HOST, max_connections=CONCURRENCY)
    await client.api_version()

    async def ours_batch() -> None:
        await asyncio.gather(*[client.system.ping() for _ in range(CONCURRENCY)])

    contenders: dict[str, Callable[[], Awaitable[object]]] = {
        "raw asyncio": raw_batch,
        "engineapi": ours_batch,
    }
    try:
        import aiodocker
    except ImportError:
        aiodocker = None
    if aiodocker is not None:
        docker = aiodocker.Docker(url=HOST)

        async def aiodocker_ping() -> bytes:
            async with docker._query("_ping", versioned_api=False) as response:
                return await response.read()

        async def theirs_batch() -> None:
            await asyncio.gather(*[aiodocker_ping() for _ in range(CONCURRENCY)])

        contenders["aiodocker"] = theirs_batch
    try:
        result = await interleaved_throughput(contenders)
    finally:
        for _, writer in streams:
            writer.close()
        await client.aclose()
        if aiodocker is not None:
            await docker.close()
    raw, ours = result["raw asyncio"], result["engineapi"]
    print(f"    raw asyncio     {raw:8.0f} /s")
    print(f"    engineapi       {ours:8.0f} /s   {ours / raw:5.2f}× raw")
    if "aiodocker" in result:
        theirs = result["aiodocker"]
        print(
            f"    aiodocker       {theirs:8.0f} /s   engineapi is {ours / theirs:4.1f}× its "
            "throughput (target ≥ 3×)"
        )
    else:
        print("    aiodocker       not installed")


def import_time(statement: str, cache: str) -> float:
    """Median process time of `python -c statement` minus an empty interpreter's, with
    bytecode cached (as after any install; this machine may set PYTHONDONTWRITEBYTECODE)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache

    def run(code: str) -> float:
        subprocess.run([sys.executable, "-c", code], check=True, env=env)  # warm the cache
        times = []
        for _ in range(9):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return run(statement) - run("pass")


def p3() -> None:
    import tempfile

    print("P3  import time (process, minus a bare interpreter, bytecode cached)")
    with tempfile.TemporaryDirectory() as cache:
        ours = import_time("import engineapi", cache)
        client = import_time("import engineapi; engineapi.Client", cache)
        try:
            theirs = import_time("import docker", cache)
        except subprocess.CalledProcessError:
            theirs = None
    print(f"    import engineapi          {ours * 1e3:6.1f} ms")
    print(f"    + engineapi.Client        {client * 1e3:6.1f} ms")
    if theirs is None:
        print("    import docker             not installed")
        return
    print(
        f"    import docker             {theirs * 1e3:6.1f} ms   engineapi costs "
        f"{ours / theirs:4.2f}× of it (target ≤ 0.33)"
    )


if __name__ == "__main__":
    p1()
    asyncio.run(p2())
    p3()
