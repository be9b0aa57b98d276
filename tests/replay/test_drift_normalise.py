"""The drift check's comparable form, offline: JSON the daemon spells its own way, swarm ids."""

from __future__ import annotations

from engineapi.replay import Cassette, drift
from engineapi.replay._cassette import Exchange, Meta, Request, Response


def _cassette(body: bytes, *, path: str = "/containers/abc/json", chunked: bool = True) -> Cassette:
    response = (
        Response(200, "OK", [], chunks=[body[:10], body[10:]])
        if chunked
        else Response(200, "OK", [], body=body)
    )
    return Cassette(
        meta=Meta(engine="docker28", api_version="1.51"),
        exchanges=[Exchange(Request("GET", path), response)],
    )


def test_rules_reach_into_json_that_is_not_in_compact_form() -> None:
    """Docker leaves ``>`` unescaped where the stored form escapes it (``\\u003e``): such a
    body is not stored as JSON, yet it is JSON, and the rules must reach into it."""
    old = b'{"Args":["echo x > /f"],"State":{"Pid":12}}\n'
    new = b'{"Args":["echo x > /f"],"State":{"Pid":13}}\n'
    assert drift(_cassette(old), _cassette(new)) == []  # State.Pid is a default rule
    assert drift(_cassette(old, chunked=False), _cassette(new, chunked=False)) == []
    other = b'{"Args":["echo y > /f"],"State":{"Pid":13}}\n'
    assert drift(_cassette(old), _cassette(other)) != []


def test_swarm_ids_are_volatile() -> None:
    old = _cassette(
        b'{"ID":"lcqo3s3aa4sws3ncc4vo329sz","Name":"x"}\n', path="/nodes/lcqo3s3aa4sws3ncc4vo329sz"
    )
    new = _cassette(
        b'{"ID":"z92b31frl17u70c5ynsjv7wdi","Name":"x"}\n', path="/nodes/z92b31frl17u70c5ynsjv7wdi"
    )
    assert drift(old, new) == []
    renamed = _cassette(b'{"ID":"z92b31frl17u70c5ynsjv7wdi","Name":"y"}\n')
    assert drift(old, renamed) != []


def test_a_list_built_from_a_map_is_compared_as_a_set() -> None:
    """Docker lists plugins in Go map order: a new order is no drift, a new member is."""
    old = _cassette(b'[{"Name":"a:v1"},{"Name":"a:v2"}]', path="/plugins")
    new = _cassette(b'[{"Name":"a:v2"},{"Name":"a:v1"}]', path="/plugins")
    assert drift(old, new) == []
    other = _cassette(b'[{"Name":"a:v2"},{"Name":"a:v3"}]', path="/plugins")
    assert drift(old, other) != []
    # Elsewhere the order is the daemon's answer.
    assert drift(_cassette(b'["a","b"]', path="/x"), _cassette(b'["b","a"]', path="/x")) != []
