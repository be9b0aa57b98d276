"""Soak (``make soak``): many sync requests and stream open/close cycles on one client, with
descriptors, threads and resident memory printed before and after — they must stay flat.

ENGINEAPI_SOAK_REQUESTS (200 000) and ENGINEAPI_SOAK_STREAMS (10 000) size the run; the engine
is ENGINEAPI_BENCH_HOST (default docker28's socket).
"""

from __future__ import annotations

import os
import sys
import threading
import time

from engineapi import Client

HOST = os.environ.get("ENGINEAPI_BENCH_HOST", "unix:///run/engineapi/docker28.sock")
REQUESTS = int(os.environ.get("ENGINEAPI_SOAK_REQUESTS", "200000"))
STREAMS = int(os.environ.get("ENGINEAPI_SOAK_STREAMS", "10000"))


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def figures() -> tuple[int, int, int]:
    return len(os.listdir("/proc/self/fd")), threading.active_count(), rss_kib()


def main() -> int:
    with Client(HOST, environ={}) as client:
        client.api_version()
        for _ in range(1000):  # warm up: imports, caches, the first connection
            client.system.ping()
        before = figures()
        started = time.monotonic()
        for _ in range(REQUESTS):
            client.system.ping()
        middle = figures()
        for _ in range(STREAMS):
            with client.system.events(filters={"label": ["engineapi.never=1"]}):
                pass
        after = figures()
        took = time.monotonic() - started
    print(
        f"soak on {HOST}: {REQUESTS} pings, then {STREAMS} stream open/close cycles, {took:.0f} s"
    )
    for name, values in (("before", before), ("after pings", middle), ("after streams", after)):
        fds, threads, rss = values
        print(f"    {name:14} descriptors {fds:4}  threads {threads:3}  RSS {rss / 1024:7.1f} MiB")
    grew = after[0] - before[0], after[1] - before[1], (after[2] - before[2]) / 1024
    print(f"    growth: {grew[0]} descriptors, {grew[1]} threads, {grew[2]:+.1f} MiB")
    return 0 if grew[0] <= 1 and grew[1] <= 0 and grew[2] < 16 else 1


if __name__ == "__main__":
    sys.exit(main())
