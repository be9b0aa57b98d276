"""Drift: does a fresh recording say the same as the committed cassette, volatile values aside?

Both cassettes are brought to a comparable form, then compared value by value:

- bodies are decoded (JSON to values, tar archives to their member list without mtimes, other
  binary to its size and digest); a chunked body is joined (chunk boundaries are the
  transport's timing, not the daemon's answer): one JSON document gives its value, JSON lines
  the list of their values; how a body was framed is not compared (Go switches from
  Content-Length to chunked by size);
- volatile values are replaced by placeholders: every string is rewritten with
  `VOLATILE_PATTERNS` (64- and 12-hex ids, RFC 3339 times, Unix times), integers under
  `TIME_KEYS` become ``<time>``, MAC addresses ``<mac>``, and the cassette's own ``volatile``
  rules, plus `DEFAULT_RULES` (among them `HOST_FACTS`: kernel, OS, CPU, memory, host name…),
  blank whole values;
- lists the daemon builds from a map, in a new order each time (`UNORDERED_RULES`: ``METHOD
  PATH FIELD`` naming the list), are compared as sets, after the rest;
- ``meta.recorded_at`` and ``meta.engineapi_version`` are ignored.

A volatile rule is ``"METHOD PATH FIELD"``: the method (``*`` for any), a glob on the path
(``/containers/*/json``) and a dotted path in the exchange, ``*`` matching any one key or
index: ``request.query.since``, ``response.body.SystemTime``, ``response.body`` (the whole
body), ``response.body.*.time`` (in every item of a JSON-lines stream),
``response.headers.X-Docker-Container-Path-Stat``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from engineapi.replay._cassette import Cassette, Exchange, encode_body
from engineapi.replay._tarlisting import tar_listing

__all__ = [
    "DEFAULT_RULES",
    "HOST_FACTS",
    "TIME_KEYS",
    "UNORDERED_RULES",
    "VOLATILE_PATTERNS",
    "drift",
    "normalise",
]

VOLATILE = "<volatile>"

VOLATILE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])"), "<id>"),
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12}(?![0-9A-Za-z])"), "<id>"),
    (
        re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"),
        "<time>",
    ),
    (re.compile(r"(?<![0-9a-f:])(?:[0-9a-f]{2}:){5}[0-9a-f]{2}(?![0-9a-f:])"), "<mac>"),
    # Swarm object ids (nodes, services, tasks, secrets, configs, the swarm): 25 base-36
    # characters, random for each object the swarm makes, so new in every recording.
    (
        re.compile(
            r"(?<![0-9A-Za-z])(?=[0-9a-z]{0,24}[0-9])(?=[0-9a-z]{0,24}[a-z])[0-9a-z]{25}"
            r"(?![0-9A-Za-z])"
        ),
        "<id>",
    ),
    (re.compile(r"(?<![\d.])1[6-9]\d{17}(?![\d.])"), "<time>"),
    (re.compile(r"(?<![\d.])1[6-9]\d{8}(?:\.\d+)?(?![\d.])"), "<time>"),
]
TIME_KEYS = frozenset({"Created", "created", "time", "timeNano"})

#: Facts of the machine an engine runs on, not of how the engine behaves: its kernel, operating
#: system, CPU architecture and count, memory, host name and address, daemon ID, root
#: directory, clock, cgroup set-up and the storage driver its filesystem allowed. Each is
#: ``(rule, what it is)``; all are blanked in every cassette, so that a recording made on one
#: machine is no drift on another. The kernel, OS and CPU facts of ``GET /info`` are named
#: one by one for recordings that keep the rest of it.
HOST_FACTS: list[tuple[str, str]] = [
    ("GET /version response.body.KernelVersion", "kernel"),
    ("GET /version response.body.Os", "operating system"),
    ("GET /version response.body.Arch", "CPU architecture"),
    ("GET /version response.body.Platform.Name", "Podman: os/arch/distribution"),
    ("GET /version response.body.Components.*.Details.KernelVersion", "kernel"),
    ("GET /version response.body.Components.*.Details.Os", "operating system"),
    ("GET /version response.body.Components.*.Details.Arch", "CPU architecture"),
    ("GET /version response.body.Components.*.Details.Package", "Podman: distribution package"),
    ("GET /info response.body.Name", "host name"),
    ("GET /info response.body.ID", "daemon ID"),
    ("GET /info response.body.NCPU", "CPU count"),
    ("GET /info response.body.MemTotal", "memory"),
    ("GET /info response.body.KernelVersion", "kernel"),
    ("GET /info response.body.OperatingSystem", "operating system"),
    ("GET /info response.body.OSVersion", "operating system version"),
    ("GET /info response.body.OSType", "operating system"),
    ("GET /info response.body.Architecture", "CPU architecture"),
    ("GET /info response.body.DockerRootDir", "root directory"),
    ("GET /info response.body.SystemTime", "clock"),
    ("GET /info response.body.CgroupDriver", "cgroup set-up"),
    ("GET /info response.body.CgroupVersion", "cgroup set-up"),
    ("GET /info response.body.MemoryLimit", "kernel feature"),
    ("GET /info response.body.SwapLimit", "kernel feature"),
    ("GET /info response.body.KernelMemory", "kernel feature"),
    ("GET /info response.body.KernelMemoryTCP", "kernel feature"),
    ("GET /info response.body.CpuCfsPeriod", "kernel feature"),
    ("GET /info response.body.CpuCfsQuota", "kernel feature"),
    ("GET /info response.body.CPUShares", "kernel feature"),
    ("GET /info response.body.CPUSet", "kernel feature"),
    ("GET /info response.body.PidsLimit", "kernel feature"),
    ("GET /info response.body.OomKillDisable", "kernel feature"),
    ("GET /info response.body.IPv4Forwarding", "kernel setting"),
    ("GET /info response.body.BridgeNfIptables", "kernel setting"),
    ("GET /info response.body.BridgeNfIp6tables", "kernel setting"),
    ("GET /info response.body.SecurityOptions", "kernel security modules"),
    ("GET /info response.body.Warnings", "kernel features missing"),
    ("GET /info response.body.Driver", "storage driver"),
    ("GET /info response.body.DriverStatus", "storage driver"),
    ("GET /info response.body.Swarm.NodeAddr", "host address"),
    ("GET /images/*/json response.body.Architecture", "CPU architecture (imported images)"),
    ("GET /images/*/json response.body.Variant", "CPU architecture (imported images)"),
    ("GET /images/*/json response.body.Os", "operating system (imported images)"),
    ("GET /images/*/json response.body.GraphDriver", "storage driver"),
    ("GET /containers/*/json response.body.GraphDriver", "storage driver"),
    ("GET /containers/*/json response.body.Driver", "storage driver"),
    ("GET /distribution/*/json response.body.Platforms", "CPU architecture of what was pushed"),
    ("GET /nodes/* response.body.Description.Hostname", "host name"),
    ("GET /nodes/* response.body.Description.Platform", "operating system, CPU architecture"),
    ("GET /nodes/* response.body.Description.Resources", "CPU count, memory"),
    ("GET /nodes/* response.body.Status.Addr", "host address"),
    ("GET /nodes/* response.body.ManagerStatus.Addr", "host address"),
    ("GET /nodes response.body.*.Description.Hostname", "host name"),
    ("GET /nodes response.body.*.Description.Platform", "operating system, CPU architecture"),
    ("GET /nodes response.body.*.Description.Resources", "CPU count, memory"),
    ("GET /nodes response.body.*.Status.Addr", "host address"),
    ("GET /nodes response.body.*.ManagerStatus.Addr", "host address"),
]

#: Rules applied to every cassette: host facts, and values no scenario can hold still.
DEFAULT_RULES = [
    *(rule for rule, _ in HOST_FACTS),
    "* * response.headers.X-Reference-Id",  # Podman: an address in its memory
    "GET /containers/*/json response.body.State.Pid",
    "GET /containers/*/json response.body.Config.Env",  # Podman: in a new order each time
    "GET /containers/*/json response.body.NetworkSettings",  # addresses handed out in turn
    "GET /containers/json response.body.*.NetworkSettings",
    # Podman: every name an image ever had, so it grows with whatever else tagged it
    "GET /images/json response.body.*.History",
]
#: Lists in an order of the daemon's whim (a Go map walked): compared as sets.
UNORDERED_RULES = [
    "GET /plugins response.body",
]


def _json(data: bytes) -> tuple[bool, Any]:
    """(True, value) when `data` is one JSON document, in whatever spelling: the daemon's
    (Docker 20.10 leaves ``>`` unescaped in an inspect) need not be the compact form
    `encode_body` stores as JSON, and the rules must still reach into it."""
    if data.lstrip()[:1] not in (b"{", b"["):
        return False, None
    try:
        return True, json.loads(data)
    except ValueError:
        return False, None


def _value(data: bytes) -> Any:
    """A body, comparable: JSON value, text, tar listing or binary digest."""
    if not data:
        return None
    is_json, value = _json(data)
    if is_json:
        return value
    stored = encode_body(data)
    if isinstance(stored, dict) and "json" in stored:
        return stored["json"]
    if isinstance(stored, str):
        return stored
    listing = tar_listing(data)
    if listing is not None:
        return {"tar": listing}
    return {"binary": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _stream(chunks: list[bytes]) -> Any:
    """A chunked body: one JSON document as its value, JSON lines as the list of their values."""
    joined = b"".join(chunks)
    if not joined:
        return []
    is_json, value = _json(joined)
    if is_json:
        return value
    single = encode_body(joined)
    if isinstance(single, dict) and "json" in single and b"\n" not in joined.rstrip(b"\n"):
        return single["json"]
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        return _value(joined)
    if "\0" in text:
        return _value(joined)
    return [_value(line.encode()) for line in text.splitlines(keepends=True)]


def _exchange_tree(exchange: Exchange) -> dict[str, Any]:
    request = exchange.request
    tree: dict[str, Any] = {
        "request": {
            "method": request.method,
            "path": request.path,
            "query": _pairs(request.query),
            "headers": dict(request.headers),
            "body": _value(request.body),
        }
    }
    response = exchange.response
    if response is None:
        tree["response"] = None
    else:
        item: dict[str, Any] = {
            "status": response.status,
            "reason": response.reason,
            "headers": dict(response.headers),
            "complete": response.complete,
        }
        if response.chunks is not None:
            item["body"] = _stream(response.chunks)
        if response.body is not None:
            item["body"] = _value(response.body)
        tree["response"] = item
    if exchange.hijack is not None:
        tree["hijack"] = [
            {"from": step.source, "close_write": step.close_write, "eof": step.eof}
            | ({"data": _value(step.data)} if step.data else {})
            for step in exchange.hijack
        ]
    return tree


def _pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in sorted(pairs):
        result.setdefault(name, []).append(value)
    return result


def _change_at(node: Any, segments: list[str], change: Callable[[Any], Any]) -> Any:
    """`node` with `change` applied to the value(s) at `segments` (``*``: any key or index)."""
    if not segments:
        return change(node)
    head, rest = segments[0], segments[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [k for k in node if k.lower() == head.lower()]
        for key in keys:
            node[key] = _change_at(node[key], rest, change)
    elif isinstance(node, list):
        indexes = range(len(node)) if head == "*" else [int(head)] if head.isdigit() else []
        for index in indexes:
            if index < len(node):
                node[index] = _change_at(node[index], rest, change)
    return node


def _blank(value: Any) -> Any:
    return VOLATILE


def _in_order(value: Any) -> Any:
    """A list sorted by its items' JSON; anything else as it is."""
    if isinstance(value, list):
        return sorted(value, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _apply_rules(
    tree: dict[str, Any], rules: list[str], change: Callable[[Any], Any] = _blank
) -> None:
    """Apply `change` (blank, by default) to the field of each rule matching the exchange."""
    for rule in rules:
        parts = rule.split(None, 2)
        if len(parts) != 3:
            raise ValueError(f"a volatile rule is 'METHOD PATH FIELD', not {rule!r}")
        method, path, field = parts
        request = tree["request"]
        if method not in ("*", request["method"]) or not fnmatch.fnmatchcase(request["path"], path):
            continue
        _change_at(tree, field.split("."), change)


def _scrub_volatile(node: Any, key: str | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _scrub_volatile(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_scrub_volatile(v) for v in node]
    if isinstance(node, str):
        for pattern, placeholder in VOLATILE_PATTERNS:
            node = pattern.sub(placeholder, node)
        return node
    if isinstance(node, int) and not isinstance(node, bool) and key in TIME_KEYS:
        return "<time>"
    return node


def normalise(cassette: Cassette, *, rules: list[str] | None = None) -> dict[str, Any]:
    """The comparable form of `cassette` (see the module docstring)."""
    all_rules = [*DEFAULT_RULES, *cassette.volatile, *(rules or [])]
    meta = {
        k: v
        for k, v in json.loads(json.dumps(cassette.to_document()["meta"])).items()
        if k not in ("recorded_at", "engineapi_version")
    }
    exchanges = []
    for exchange in cassette.exchanges:
        tree = _exchange_tree(exchange)
        _apply_rules(tree, all_rules)
        tree = _scrub_volatile(tree)
        _apply_rules(tree, UNORDERED_RULES, _in_order)
        exchanges.append(tree)
    return {"meta": meta, "exchanges": exchanges}


def _differences(old: Any, new: Any, where: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            if key not in old:
                out.append(f"{where}.{key}: added {_short(new[key])}")
            elif key not in new:
                out.append(f"{where}.{key}: removed {_short(old[key])}")
            else:
                _differences(old[key], new[key], f"{where}.{key}", out)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append(f"{where}: {len(old)} items, now {len(new)}")
        for index, (a, b) in enumerate(zip(old, new, strict=False)):
            _differences(a, b, f"{where}[{index}]", out)
    elif old != new:
        out.append(f"{where}: {_short(old)} → {_short(new)}")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "…"


def drift(recorded: Cassette, fresh: Cassette, *, rules: list[str] | None = None) -> list[str]:
    """The differences between two recordings of one scenario, volatile values aside.

    An empty list means no drift. Each entry names where (``exchanges[3].response.body.Foo``)
    and what changed. The rules of both cassettes apply.
    """
    rules = list(dict.fromkeys([*recorded.volatile, *fresh.volatile, *(rules or [])]))
    old = normalise(recorded, rules=rules)
    new = normalise(fresh, rules=rules)
    out: list[str] = []
    for index, (a, b) in enumerate(zip(old["exchanges"], new["exchanges"], strict=False)):
        request = a["request"]
        _differences(a, b, f"exchanges[{index}] ({request['method']} {request['path']})", out)
    if len(old["exchanges"]) != len(new["exchanges"]):
        out.append(
            f"exchanges: {len(old['exchanges'])} recorded, {len(new['exchanges'])} now; "
            + "; ".join(
                f"{e['request']['method']} {e['request']['path']}"
                for e in (new if len(new["exchanges"]) > len(old["exchanges"]) else old)[
                    "exchanges"
                ][min(len(old["exchanges"]), len(new["exchanges"])) :]
            )
        )
    _differences(old["meta"], new["meta"], "meta", out)
    return out
