"""P4 logs throughput (``make bench``): one container's logs read by curl, by engineapi and by
docker-py, side by side, plus engineapi's peak memory growth while reading them.

Target: engineapi ≥ 0.95× curl's throughput, memory flat. The log size is
ENGINEAPI_BENCH_LOG_MB (default 100) lines of ~90 bytes, on ENGINEAPI_BENCH_HOST.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time

HOST = os.environ.get("ENGINEAPI_BENCH_HOST", "unix:///run/engineapi/docker28.sock")
SOCKET = HOST.removeprefix("unix://")
SIZE_MB = int(os.environ.get("ENGINEAPI_BENCH_LOG_MB", "100"))
LINE = "a moderately long log line that looks like a real application log entry, 90 bytes"


def main() -> None:
    from engineapi import Client

    client = Client(HOST)
    version = client.api_version()
    cid = client.containers.create(
        {"Image": "busybox", "Cmd": ["sh", "-c", f"yes '{LINE}' | head -c {SIZE_MB * 1_000_000}"]}
    ).id
    assert cid
    try:
        client.containers.start(cid)
        client.containers.wait(cid)
        url = f"http://docker/v{version}/containers/{cid}/logs?stdout=1&stderr=1"

        def curl() -> int:
            out = subprocess.run(
                [
                    "curl",
                    "-s",
                    "--unix-socket",
                    SOCKET,
                    url,
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{size_download}",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            return int(out.stdout)

        def ours_frames() -> int:
            return sum(len(data) for _, data in client.containers.logs(cid))

        contenders = {"curl": curl, "engineapi": ours_frames}
        try:
            import docker
        except ImportError:
            docker = None
        if docker is not None:
            dpy = docker.APIClient(base_url=HOST)

            def docker_py() -> int:
                return sum(len(chunk) for chunk in dpy.logs(cid, stream=True))

            contenders["docker-py"] = docker_py
        times: dict[str, list[float]] = {name: [] for name in contenders}
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(3):
            for name, fn in contenders.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    finally:
        client.containers.delete(cid, force=True)
        client.close()
    mb = SIZE_MB
    curl_s = statistics.median(times["curl"])
    ours_s = statistics.median(times["engineapi"])
    print(f"P4  logs of one container, {mb} MB of ~90-byte lines, on {HOST}")
    print(f"    curl            {mb / curl_s:8.1f} MB/s")
    print(
        f"    engineapi       {mb / ours_s:8.1f} MB/s   {curl_s / ours_s:5.2f}× curl (target ≥ 0.95)"
    )
    if "docker-py" in times:
        theirs = statistics.median(times["docker-py"])
        print(f"    docker-py       {mb / theirs:8.1f} MB/s   {curl_s / theirs:5.2f}× curl")
    print(f"    engineapi peak memory growth while reading: {rss_growth_mb:.1f} MB")


if __name__ == "__main__":
    main()
