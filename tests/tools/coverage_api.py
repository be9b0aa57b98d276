"""API coverage report: for every operation of the newest Engine API spec, its method on
`Client` and `AsyncClient`, whether a live test calls it, whether a replay cassette holds it.

    python tests/tools/coverage_api.py            # the table and the totals (make coverage-api)
    python tests/tools/coverage_api.py --json     # the same as JSON
    python tests/tools/coverage_api.py --missing  # only the operations with a gap

- Methods come from `engineapi.OPERATIONS` (namespace and method name per operationId), looked
  up on a `Client` and an `AsyncClient` that are never connected.
- "live" is a static scan of ``tests/live/*.py`` for ``<anything>.<namespace>.<method>``
  (``client.networks.create(``, ``manager.swarm.init(``, a bound method passed around).
  Multi-step helpers (``services.scale``, ``exec.run``) do not count for the operations they
  use: only a direct use of the operation's own method does.
- "replay" is any exchange, in any cassette ``fixtures/<engine>/*.json``, whose method and path
  match the operation's method and path template (``{id}`` stands for one path segment, or,
  for image and plugin names, several).

`Session` (``POST /session``, the deprecated BuildKit session) has no method on purpose: the
clients build with the classic builder, and BuildKit's own client speaks gRPC over it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LIVE_DIR = ROOT / "tests" / "live"
FIXTURES_DIR = ROOT / "fixtures"

#: Operations left out on purpose, and why.
LEFT_OUT = {"Session": "deprecated BuildKit session (gRPC over a hijacked connection)"}

_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")


def _template_regex(path: str) -> re.Pattern[str]:
    """``/containers/{id}/json`` → a regex for concrete paths. A parameter is one segment,
    except a name (image, plugin, distribution reference), which may hold slashes."""
    parts = re.split(r"(\{[^}]+\})", path)
    pattern = ""
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            pattern += ".+?" if part == "{name}" else "[^/]+"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}$")


class Matcher:
    """Maps (method, concrete path) to an operationId; literal paths win over templates."""

    def __init__(self, operations: Mapping[str, Any]) -> None:
        self.literal: dict[tuple[str, str], str] = {}
        self.templates: list[tuple[str, re.Pattern[str], str]] = []
        for op_id, op in operations.items():
            if "{" in op.path:
                self.templates.append((op.http_method, _template_regex(op.path), op_id))
            else:
                self.literal[(op.http_method, op.path)] = op_id
        # More literal characters first: /images/{name}/push before /images/{name}.
        self.templates.sort(key=lambda t: -len(re.sub(r"\[\^/\]\+|\.\+\?", "", t[1].pattern)))

    def match(self, method: str, path: str) -> str | None:
        path = _VERSION_PREFIX.sub("", path.split("?", 1)[0])
        found = self.literal.get((method, path))
        if found is not None:
            return found
        for http_method, regex, op_id in self.templates:
            if http_method == method and regex.match(path):
                return op_id
        return None


def live_calls(files: Iterable[Path], namespaces: Iterable[str]) -> set[tuple[str, str]]:
    """(namespace, method) pairs used in the live tests' source."""
    names = "|".join(sorted(set(namespaces), key=len, reverse=True))
    pattern = re.compile(rf"\b\w+\s*\.\s*({names})\s*\.\s*(\w+)\b")
    found: set[tuple[str, str]] = set()
    for path in files:
        found.update(pattern.findall(path.read_text()))
    return found


def replayed(cassettes: Iterable[Path], matcher: Matcher) -> dict[str, set[str]]:
    """operationId → the engines whose cassettes hold an exchange of it."""
    found: dict[str, set[str]] = {}
    for path in cassettes:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for exchange in data.get("exchanges") or ():
            request = exchange.get("request") or {}
            op_id = matcher.match(str(request.get("method", "")), str(request.get("path", "")))
            if op_id is not None:
                found.setdefault(op_id, set()).add(path.parent.name)
    return found


def report(operations: Mapping[str, Any]) -> list[dict[str, Any]]:
    import engineapi

    sync_client = engineapi.Client("unix:///nonexistent/engineapi-coverage.sock")
    async_client = engineapi.AsyncClient("unix:///nonexistent/engineapi-coverage.sock")
    live = live_calls(sorted(LIVE_DIR.glob("*.py")), {op.namespace for op in operations.values()})
    replay = replayed(sorted(FIXTURES_DIR.glob("*/*.json")), Matcher(operations))
    rows = []
    for op_id, op in operations.items():
        method = f"{op.namespace}.{op.method_name}"
        rows.append(
            {
                "operation": op_id,
                "http": f"{op.http_method} {op.path}",
                "since": op.since,
                "method": method,
                "client": callable(
                    getattr(getattr(sync_client, op.namespace, None), op.method_name, None)
                ),
                "async_client": callable(
                    getattr(getattr(async_client, op.namespace, None), op.method_name, None)
                ),
                "live": (op.namespace, op.method_name) in live,
                "replay": sorted(replay.get(op_id, ())),
                "left_out": LEFT_OUT.get(op_id),
            }
        )
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "operations": len(rows),
        "client": sum(r["client"] for r in rows),
        "async_client": sum(r["async_client"] for r in rows),
        "both": sum(r["client"] and r["async_client"] for r in rows),
        "live": sum(r["live"] for r in rows),
        "replay": sum(bool(r["replay"]) for r in rows),
        "left_out": sum(bool(r["left_out"]) for r in rows),
    }


def render(rows: list[dict[str, Any]], *, missing_only: bool = False) -> str:
    def mark(value: bool) -> str:
        return "yes" if value else "-"

    lines = [
        f"{'operationId':<28} {'method':<26} {'Client':<6} {'Async':<6} {'live':<5} replay",
    ]
    for r in rows:
        gap = not (r["client"] and r["async_client"] and r["live"] and r["replay"])
        if missing_only and not gap:
            continue
        replay = ",".join(r["replay"]) or "-"
        note = f"  (left out: {r['left_out']})" if r["left_out"] else ""
        lines.append(
            f"{r['operation']:<28} {r['method']:<26} {mark(r['client']):<6} "
            f"{mark(r['async_client']):<6} {mark(r['live']):<5} {replay}{note}"
        )
    t = totals(rows)
    n = t["operations"]
    lines += [
        "",
        f"operations in the newest spec: {n}",
        f"methods on Client: {t['client']}/{n}, on AsyncClient: {t['async_client']}/{n}"
        f" ({t['left_out']} left out on purpose)",
        f"live-tested: {t['live']}/{n}",
        f"in replay cassettes: {t['replay']}/{n}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--missing", action="store_true", help="only operations with a gap")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from engineapi import OPERATIONS

    rows = report(OPERATIONS)
    if args.json:
        print(json.dumps({"operations": rows, "totals": totals(rows)}, indent=2))
    else:
        print(render(rows, missing_only=args.missing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
