"""Host facts are no drift: a cassette recorded on one machine compares equal on another.

Each rule of `HOST_FACTS` is exercised twice: on a small cassette made for it (the fact changes:
no drift; a field beside it changes: drift), and on every committed cassette under fixtures/
that holds it (every occurrence changed: no drift). What the client relies on — a key, a type,
a status, a header — is still drift.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from engineapi.replay import HOST_FACTS, Cassette, drift
from engineapi.replay._cassette import Exchange, Meta, Request, Response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CASSETTES = sorted(FIXTURES.glob("*/*.json"))


def split(rule: str) -> tuple[str, str, list[str]]:
    method, path, field = rule.split(None, 2)
    segments = field.split(".")
    assert segments[:2] == ["response", "body"], rule
    return method, path, segments[2:]


def nest(segments: list[str], leaf: Any) -> Any:
    """A JSON value that holds `leaf` at `segments` (``*``: a one-item list), with a sibling
    ``Other`` beside every object level."""
    if not segments:
        return leaf
    head, rest = segments[0], segments[1:]
    if head == "*":
        return [nest(rest, leaf)]
    return {head: nest(rest, leaf), "Other": "same"}


def cassette(method: str, path: str, body: Any, *, status: int = 200) -> Cassette:
    data = json.dumps(body).encode() + b"\n"
    return Cassette(
        meta=Meta(engine="docker28", api_version="1.51"),
        exchanges=[
            Exchange(
                Request(method, path),
                Response(status, "OK", [("Content-Type", "application/json")], body=data),
            )
        ],
    )


def concrete(path_glob: str) -> str:
    return path_glob.replace("*", "x0")


@pytest.mark.parametrize("rule", [rule for rule, _ in HOST_FACTS])
def test_each_host_fact_may_change(rule: str) -> None:
    method, path_glob, segments = split(rule)
    path = concrete(path_glob)
    recorded = cassette(method, path, nest(segments, "6.18.44-fc-v509"))
    elsewhere = cassette(method, path, nest(segments, "6.1.0-28-arm64"))
    assert drift(recorded, elsewhere) == []
    # The rule blanks that fact only: the same change one level up, beside it, is drift.
    if segments and segments[-1] != "*":
        moved = nest([*segments[:-1], "Other"], "changed")
        assert drift(recorded, cassette(method, path, moved)) != []


def _change(node: Any, segments: list[str]) -> int:
    """Change every value at `segments` in place; how many were changed."""
    if not segments:
        raise AssertionError("unreachable")
    head, rest = segments[0], segments[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [k for k in node if k.lower() == head.lower()]
    elif isinstance(node, list) and (head == "*" or (head.isdigit() and int(head) < len(node))):
        keys = list(range(len(node))) if head == "*" else [int(head)]
    else:
        return 0
    count = 0
    for key in keys:
        if rest:
            count += _change(node[key], rest)
        else:
            value = node[key]
            node[key] = (
                value + 1
                if isinstance(value, int) and not isinstance(value, bool)
                else value + "-elsewhere"
                if isinstance(value, str)
                else {"elsewhere": True}
            )
            count += 1
    return count


def _with_body(response: Response, change: Any) -> tuple[Response, int]:
    """`response` with `change` applied to its JSON body or to each JSON chunk."""
    count = 0

    def apply(data: bytes) -> bytes:
        nonlocal count
        try:
            value = json.loads(data)
        except ValueError:
            return data
        changed = change(value)
        if not changed:
            return data
        count += changed
        return json.dumps(value).encode() + b"\n"

    if response.body is not None:
        response = attrs.evolve(response, body=apply(response.body))
    if response.chunks is not None:
        joined = b"".join(response.chunks)
        whole = apply(joined)  # one JSON document split over chunks
        if whole is not joined:
            response = attrs.evolve(response, chunks=[whole])
        else:
            response = attrs.evolve(response, chunks=[apply(chunk) for chunk in response.chunks])
    return response, count


def elsewhere(recorded: Cassette) -> tuple[Cassette, set[str]]:
    """The cassette as another machine would record it: every host fact changed."""
    exchanges = []
    used: set[str] = set()
    for exchange in recorded.exchanges:
        response = exchange.response
        for rule, _ in HOST_FACTS:
            method, path_glob, segments = split(rule)
            request = exchange.request
            if response is None or method not in ("*", request.method):
                continue
            if not fnmatch.fnmatchcase(request.path, path_glob):
                continue
            response, count = _with_body(
                response, lambda value, segments=segments: _change(value, segments)
            )
            if count:
                used.add(rule)
        exchanges.append(attrs.evolve(exchange, response=response))
    return attrs.evolve(recorded, exchanges=exchanges), used


def test_every_committed_cassette_recorded_elsewhere_is_no_drift() -> None:
    used: set[str] = set()
    for path in CASSETTES:
        recorded = Cassette.load(path)
        changed, rules = elsewhere(recorded)
        used |= rules
        assert drift(recorded, changed) == [], path
    # The facts the committed recordings hold were really changed (not a vacuous pass).
    for rule in (
        "GET /version response.body.KernelVersion",
        "GET /version response.body.Components.*.Details.KernelVersion",
        "GET /version response.body.Arch",
        "GET /images/*/json response.body.Architecture",
        "GET /nodes response.body.*.Description.Hostname",
    ):
        assert rule in used, rule


def _version_cassette() -> Cassette:
    for path in CASSETTES:
        recorded = Cassette.load(path)
        if any(e.request.path == "/version" for e in recorded.exchanges):
            return recorded
    raise AssertionError("no cassette holds GET /version")


def _edit_version(recorded: Cassette, edit: Any) -> Cassette:
    exchanges = []
    for exchange in recorded.exchanges:
        if exchange.request.path == "/version" and exchange.response is not None:
            exchange = attrs.evolve(exchange, response=edit(exchange.response))
        exchanges.append(exchange)
    return attrs.evolve(recorded, exchanges=exchanges)


def _body(change: Any) -> Any:
    def edit(response: Response) -> Response:
        def apply(value: Any) -> int:
            change(value)
            return 1

        return _with_body(response, apply)[0]

    return edit


@pytest.mark.parametrize(
    ("what", "edit"),
    [
        ("a value", _body(lambda v: v.update(ApiVersion="1.99"))),
        ("a key renamed", _body(lambda v: v.update(Versionn=v.pop("Version")))),
        ("a type", _body(lambda v: v.update(Version=28))),
        ("a key removed", _body(lambda v: v.pop("MinAPIVersion"))),
        ("the status", lambda r: attrs.evolve(r, status=500)),
        (
            "a header",
            lambda r: attrs.evolve(
                r,
                headers=[
                    (k, "text/plain" if k.lower() == "content-type" else v) for k, v in r.headers
                ],
            ),
        ),
    ],
)
def test_what_the_client_relies_on_is_still_drift(what: str, edit: Any) -> None:
    recorded = _version_cassette()
    changed = _edit_version(recorded, edit)
    assert drift(recorded, changed) != [], what
    # …also on a cassette recorded elsewhere.
    assert drift(elsewhere(recorded)[0], changed) != [], what
