"""The multiplexed-stream decoder. Stream 3 (a daemon error mid-stream) cannot be provoked from
a real engine on demand, so it is fed here."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engineapi.errors import RemoteProtocolError, StreamError
from engineapi.streams.stdcopy import (
    STDERR,
    STDOUT,
    StdcopyDecoder,
    encode_frame,
    is_multiplexed,
)


def test_frames_by_stream() -> None:
    data = encode_frame(1, b"out") + encode_frame(2, b"err") + encode_frame(0, b"echoed stdin")
    assert StdcopyDecoder().feed(data) == [
        (STDOUT, b"out"),
        (STDERR, b"err"),
        (STDOUT, b"echoed stdin"),
    ]


def test_stream_3_raises_the_daemon_error_after_the_output_before_it() -> None:
    """The output decoded in the same read as the error frame is not lost."""
    decoder = StdcopyDecoder()
    data = encode_frame(1, b"partial output") + encode_frame(3, b"error from daemon: boom\n")
    assert decoder.feed(data) == [(STDOUT, b"partial output")]
    with pytest.raises(StreamError, match="error from daemon: boom"):
        decoder.end()
    with pytest.raises(StreamError, match="boom"):
        StdcopyDecoder().feed(encode_frame(3, b"boom"))  # nothing before it: at once


def test_bad_header_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError):
        StdcopyDecoder().feed(b"\x07\x00\x00\x00\x00\x00\x00\x01x")
    with pytest.raises(RemoteProtocolError):
        StdcopyDecoder().feed(b"\x01\x01\x00\x00\x00\x00\x00\x01x")


def test_truncated_frame_at_end_is_an_error() -> None:
    decoder = StdcopyDecoder()
    assert decoder.feed(encode_frame(1, b"abcdef")[:10]) == [(STDOUT, b"ab")]  # as it comes
    with pytest.raises(RemoteProtocolError, match="inside a frame"):
        decoder.end()
    decoder = StdcopyDecoder()
    assert decoder.feed(encode_frame(1, b"abcdef")[:5]) == []  # half a header
    with pytest.raises(RemoteProtocolError, match="inside a frame"):
        decoder.end()


def merged(frames: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Output as the reader sees it: runs of one stream joined, nothing empty."""
    out: list[tuple[int, bytes]] = []
    for stream, data in frames:
        if not data:
            continue
        if out and out[-1][0] == stream:
            out[-1] = (stream, out[-1][1] + data)
        else:
            out.append((stream, data))
    return out


def test_a_huge_frame_in_small_reads_is_linear_and_handed_over_as_it_comes() -> None:
    """64 MiB in 32 KiB reads took 55 s when the pending bytes were joined on every read."""
    payload = b"x" * (64 * 1024 * 1024)
    raw = encode_frame(1, payload)
    decoder = StdcopyDecoder()
    started = time.process_time()
    total = 0
    biggest = 0
    for i in range(0, len(raw), 32 * 1024):
        for stream, data in decoder.feed(raw[i : i + 32 * 1024]):
            assert stream == STDOUT
            total += len(data)
            biggest = max(biggest, len(data))
    decoder.end()
    assert total == len(payload) and biggest <= 32 * 1024
    assert time.process_time() - started < 2.0


@given(
    st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=300)), max_size=20),
    st.lists(st.integers(min_value=1, max_value=50), max_size=40),
)
def test_any_split_gives_the_same_frames(frames: list[tuple[int, bytes]], cuts: list[int]) -> None:
    raw = b"".join(encode_frame(s, d) for s, d in frames)
    decoder = StdcopyDecoder()
    out = []
    start = 0
    for cut in cuts:
        out += decoder.feed(raw[start : start + cut])
        start += cut
    out += decoder.feed(raw[start:])
    out += decoder.end()
    assert merged(out) == merged(frames)


def test_multiplexed_decision() -> None:
    assert is_multiplexed("application/vnd.docker.multiplexed-stream", None) is True
    assert is_multiplexed("application/vnd.docker.raw-stream", False) is False
    assert is_multiplexed(None, True) is False
    assert is_multiplexed("text/plain", False) is True
    assert is_multiplexed(None, None) is None
