"""Per-backend ping latency (``make bench``): the same ``client.system.ping()`` through each
HTTP backend, sync and async, timed in interleaved slices so machine noise hits all alike.

The engine is ENGINEAPI_BENCH_HOST (default: the local Docker 28 socket). A backend whose
extra is not installed is reported as such and skipped.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable

from engineapi import AsyncClient, Client

HOST = os.environ.get("ENGINEAPI_BENCH_HOST", "unix:///run/engineapi/docker28.sock")
ROUNDS = int(os.environ.get("ENGINEAPI_BENCH_ROUNDS", "2000"))
SYNC = ("builtin", "httpx", "requests")
ASYNC = ("builtin", "httpx")


def _median_per_call(contenders: dict[str, Callable[[], object]]) -> dict[str, float]:
    for fn in contenders.values():
        for _ in range(50):
            fn()
    slices = 20
    per_slice = max(1, ROUNDS // slices)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(slices):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for _ in range(per_slice):
                fn()
            samples[name].append((time.perf_counter() - start) / per_slice)
    return {name: statistics.median(values) for name, values in samples.items()}


def _try(make: Callable[[], object], name: str) -> object | None:
    try:
        return make()
    except Exception as exc:  # a missing extra
        print(f"  {name:<16} skipped: {exc}")
        return None


def bench_sync() -> dict[str, float]:
    clients: dict[str, Client] = {}
    for name in SYNC:
        client = _try(lambda name=name: Client(HOST, backend=name), f"sync {name}")
        if isinstance(client, Client):
            clients[f"sync {name}"] = client
    try:
        return _median_per_call({n: c.system.ping for n, c in clients.items()})
    finally:
        for client in clients.values():
            client.close()


async def _bench_async() -> dict[str, float]:
    clients: dict[str, AsyncClient] = {}
    for name in ASYNC:
        client = _try(lambda name=name: AsyncClient(HOST, backend=name), f"async {name}")
        if isinstance(client, AsyncClient):
            clients[f"async {name}"] = client
    samples: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for client in clients.values():
            for _ in range(50):
                await client.system.ping()
        per_slice = max(1, ROUNDS // 20)
        for _ in range(20):
            for name, client in clients.items():
                start = time.perf_counter()
                for _ in range(per_slice):
                    await client.system.ping()
                samples[name].append((time.perf_counter() - start) / per_slice)
    finally:
        for client in clients.values():
            await client.aclose()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    print(f"B1  ping latency per backend ({HOST}, {ROUNDS} rounds, median of 20 slices)")
    results = bench_sync()
    results.update(asyncio.run(_bench_async()))
    base = {"sync": results.get("sync builtin"), "async": results.get("async builtin")}
    for name, seconds in results.items():
        ref = base[name.split()[0]]
        ratio = f"  ({seconds / ref:.2f}x builtin)" if ref else ""
        print(f"  {name:<16} {seconds * 1e6:8.1f} µs{ratio}")


if __name__ == "__main__":
    main()
