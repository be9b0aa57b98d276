"""Query arguments are checked against the spec's parameter types when a call is built:
a wrong type raises `InvalidArgument` naming the keyword and the value, before any I/O."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from engineapi import InvalidArgument
from engineapi.api import containers, images, services, system
from engineapi.api._call import Call, encode_filters


def _raises(build: Callable[[], object], argument: str, *shown: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        build()
    assert info.value.argument == argument
    for text in shown:
        assert text in str(info.value), str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("build", "argument", "shown"),
    [
        (lambda: containers.list(all="yes"), "all", ("containers.list", "bool", "'yes'")),
        (lambda: containers.list(limit="5"), "limit", ("int", "str '5'")),
        (lambda: containers.list(limit="five"), "limit", ("int", "'five'")),
        (lambda: containers.list(limit=True), "limit", ("a bool is not one",)),
        (lambda: containers.list(limit=2.5), "limit", ("int", "float 2.5")),
        (lambda: containers.list(size="no"), "size", ("bool",)),
        (lambda: containers.stop("c", timeout="3"), "timeout", ("containers.stop",)),
        (lambda: containers.resize("c", height="24", width=80), "height", ()),
        (lambda: containers.wait("c", condition="gone"), "condition", ("'next-exit'", "'gone'")),
        (lambda: system.data_usage(type=["containers"]), "type", ("'container'",)),
        (lambda: images.list(all="true"), "all", ("images.list",)),
        (lambda: services.logs("s", follow="yes"), "follow", ()),
    ],
)
def test_wrong_scalar_types(
    build: Callable[[], object], argument: str, shown: tuple[str, ...]
) -> None:
    _raises(build, argument, *shown)


@pytest.mark.parametrize(
    "filters",
    [
        [("status", "running")],
        "status=running",
        {"status": 1},
        {"status": [1]},
        {"status": {"running": "yes"}},
        {1: "running"},
    ],
)
def test_bad_filters(filters: Any) -> None:
    error = _raises(lambda: containers.list(filters=filters), "filters")
    assert isinstance(error, TypeError) and isinstance(error, ValueError)


def test_good_arguments_still_encode() -> None:
    call = containers.list(
        all=True, limit=5, filters={"status": "running", "label": ["a=b"], "name": {"x": True}}
    )
    assert "all=1" in call.target(None) and "limit=5" in call.target(None)
    assert containers.list(filters={}).query == ()
    assert encode_filters({"id": ("a", "b")}) == '{"id":["a","b"]}'
    # Values a builder encoded itself (timestamps, platforms) are not the user's: not checked.
    logs = containers.logs("c", since=datetime.timedelta(seconds=1), until=10, tail=10)
    assert "until=10" in logs.target(None)
    assert "tail=10" in logs.target(None)
    assert "t=3" in containers.stop("c", timeout=3).target(None)
    assert "condition=next-exit" in containers.wait("c", condition="next-exit").target(None)
    assert images.get("busybox", platform="linux/amd64").query


def test_not_a_spec_call_is_not_checked() -> None:
    call = Call("Custom", method="GET", path="/x", query={"all": "yes"}, decode=lambda r: r)
    assert call.query == (("all", "yes"),)


def test_timestamp_of_a_wrong_type() -> None:
    _raises(lambda: system.events(since=[1]), "since/until")  # type: ignore[arg-type]
