"""The JSON-lines stream decoder, fed the ways a daemon splits its writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engineapi.errors import RemoteProtocolError
from engineapi.streams import JSONLinesDecoder

MESSAGES = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Downloading", "progressDetail": {"current": 1, "total": 10}, "id": "abc"},
    {"errorDetail": {"message": "boom"}, "error": "boom"},
]


def decode_all(pieces: list[bytes]) -> list[object]:
    decoder = JSONLinesDecoder()
    values: list[object] = []
    for piece in pieces:
        values.extend(decoder.feed(piece))
    values.extend(decoder.end())
    return values


@pytest.mark.parametrize("separator", [b"\n", b"\r\n"])
def test_lines_with_lf_or_crlf(separator: bytes) -> None:
    raw = separator.join(json.dumps(m).encode() for m in MESSAGES) + separator
    assert decode_all([raw]) == MESSAGES


def test_objects_run_together_without_separator() -> None:
    raw = b"".join(json.dumps(m).encode() for m in MESSAGES) + b"\n"
    assert decode_all([raw]) == MESSAGES


def test_last_value_without_newline_is_kept_at_end() -> None:
    assert decode_all([b'{"a":1}\n{"b":2}']) == [{"a": 1}, {"b": 2}]


def test_truncated_value_at_end_is_an_error() -> None:
    with pytest.raises(RemoteProtocolError):
        decode_all([b'{"a":1}\n{"b":'])


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_any_split_gives_the_same_values(cuts: list[int]) -> None:
    raw = b"\r\n".join(json.dumps(m).encode() for m in MESSAGES * 3) + b"\r\n"
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(raw[start : start + cut])
        start += cut
    pieces.append(raw[start:])
    assert decode_all(pieces) == MESSAGES * 3
