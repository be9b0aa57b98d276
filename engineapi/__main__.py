"""``python -m engineapi doctor``: which engine engineapi talks to, how it got there, and how
well it answers."""

from __future__ import annotations

import argparse
import statistics
import sys
import time

__all__ = ["doctor", "main"]


def doctor(host: str | None = None, context: str | None = None) -> int:
    """Print a diagnosis of the resolved engine; 0 if it answered, 1 otherwise."""
    from engineapi import Client, EngineAPIError

    try:
        client = Client(host, context=context)
    except EngineAPIError as exc:
        print(f"engineapi: configuration error: {exc}", file=sys.stderr)
        return 1
    endpoint = client.endpoint
    rows: list[tuple[str, str]] = [
        ("host", endpoint.host.url),
        ("chosen by", endpoint.source),
        ("context", endpoint.context_name),
        ("transport", type(client.transport).__name__),
    ]
    if endpoint.tls is not None:
        tls = endpoint.tls
        rows.append(
            (
                "tls",
                f"verify={'on' if tls.verify else 'off'} ca={tls.ca_cert or 'system'} "
                f"cert={tls.client_cert or '-'}",
            )
        )
    else:
        rows.append(("tls", "off"))
    with client:
        try:
            api_version = client.api_version()
            ping = client.last_ping
            version = client.system.version()
            info = client.system.info()
            containers = client.containers.list(all=True)
            images = client.images.list()
            samples = []
            for _ in range(50):
                start = time.perf_counter()
                client.system.ping()
                samples.append(time.perf_counter() - start)
        except EngineAPIError as exc:
            for name, value in rows:
                print(f"{name:>16}: {value}")
            print(f"\nengineapi: the engine did not answer: {exc}", file=sys.stderr)
            return 1
    rows += [
        (
            "api version",
            f"{api_version} (daemon max {ping.api_version if ping else '?'}, "
            f"{'pinned' if ping is None else 'negotiated'})",
        ),
        ("engine", f"{version.version} ({ping.server if ping else '-'})"),
        ("os / arch", f"{version.os}/{version.arch}, kernel {version.kernel_version}"),
        ("name", f"{info.name}"),
        (
            "containers",
            f"{len(containers)} ({sum(1 for c in containers if c.state == 'running')} running)",
        ),
        ("images", f"{len(images)}"),
        ("swarm", f"{ping.swarm if ping and ping.swarm else '-'}"),
        (
            "ping round trip",
            f"median {statistics.median(samples) * 1e6:.0f} µs over "
            f"{len(samples)} (min {min(samples) * 1e6:.0f} µs)",
        ),
    ]
    for name, value in rows:
        print(f"{name:>16}: {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engineapi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    diagnose = commands.add_parser("doctor", help="diagnose the engine engineapi resolves")
    diagnose.add_argument("-H", "--host", help="daemon address (default: as the docker CLI)")
    diagnose.add_argument("-c", "--context", help="docker context to use")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor(args.host, args.context)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
