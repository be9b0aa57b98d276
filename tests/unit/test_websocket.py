"""WebSocket client framing: the handshake check, masked client frames, parsing server frames."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engineapi.errors import LocalProtocolError, RemoteProtocolError
from engineapi.http import Headers
from engineapi.streams.websocket import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Close,
    Message,
    Ping,
    Pong,
    WebSocketConnection,
    WebSocketEvent,
    accept_value,
    check_accept,
    encode_frame,
    handshake_headers,
)

# ---------------------------------------------------------------------------------------------
# What a server sees: decode a client frame the slow, obvious way.


def decode_client_frame(frame: bytes) -> tuple[bool, int, int, bytes, bytes]:
    """(fin, opcode, length-field size class, mask, unmasked payload); the frame must be whole."""
    fin = bool(frame[0] & 0x80)
    assert frame[0] & 0x70 == 0
    opcode = frame[0] & 0x0F
    assert frame[1] & 0x80, "client frames must be masked"
    length = frame[1] & 0x7F
    pos = 2
    size_class = 7
    if length == 126:
        length = int.from_bytes(frame[2:4], "big")
        pos, size_class = 4, 16
    elif length == 127:
        length = int.from_bytes(frame[2:10], "big")
        pos, size_class = 10, 64
    mask = frame[pos : pos + 4]
    masked = frame[pos + 4 :]
    assert len(masked) == length
    payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(masked))
    return fin, opcode, size_class, mask, payload


def feed_all(pieces: list[bytes], conn: WebSocketConnection | None = None) -> list[WebSocketEvent]:
    conn = conn or WebSocketConnection()
    events: list[WebSocketEvent] = []
    for piece in pieces:
        conn.receive_data(piece)
        events.extend(conn.events())
    return events


# ---------------------------------------------------------------------------------------------
# Handshake


def test_handshake_headers() -> None:
    key, headers = handshake_headers()
    fields = dict(headers)
    assert fields["Upgrade"] == "websocket"
    assert fields["Connection"] == "Upgrade"
    assert fields["Sec-WebSocket-Version"] == "13"
    assert fields["Sec-WebSocket-Key"] == key
    assert len(base64.b64decode(key, validate=True)) == 16
    assert "Origin" not in fields
    assert handshake_headers()[0] != key
    assert ("Origin", "http://localhost") in handshake_headers(origin="http://localhost")[1]


def test_accept_value_matches_the_rfc_example() -> None:
    assert accept_value("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_check_accept_takes_any_mapping_and_any_case() -> None:
    key, _ = handshake_headers()
    good = {"upgrade": "WebSocket", "SEC-WEBSOCKET-ACCEPT": accept_value(key)}
    check_accept(key, good)
    check_accept(
        key,
        Headers(
            [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", accept_value(key)),
            ]
        ),
    )


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"Sec-WebSocket-Accept": "x"}, "did not upgrade"),
        ({"Upgrade": "h2c", "Sec-WebSocket-Accept": "x"}, "did not upgrade"),
        ({"Upgrade": "websocket"}, "no Sec-WebSocket-Accept"),
        ({"Upgrade": "websocket", "Sec-WebSocket-Accept": "AAAA"}, "wrong Sec-WebSocket-Accept"),
    ],
)
def test_check_accept_refuses(headers: dict[str, str], match: str) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        check_accept("dGhlIHNhbXBsZSBub25jZQ==", headers)


# ---------------------------------------------------------------------------------------------
# Sending

LENGTHS = [(0, 7), (1, 7), (125, 7), (126, 16), (65535, 16), (65536, 64), (70_000, 64)]


@pytest.mark.parametrize(("length", "size_class"), LENGTHS)
def test_binary_frames_of_every_length_class(length: int, size_class: int) -> None:
    payload = bytes(i % 251 for i in range(length))
    frame = WebSocketConnection().send_binary(payload)
    assert decode_client_frame(frame)[:3] == (True, BINARY, size_class)
    assert decode_client_frame(frame)[4] == payload


def test_text_frame_is_utf8() -> None:
    fin, opcode, _, _, payload = decode_client_frame(WebSocketConnection().send_text("héllo ☃"))
    assert (fin, opcode, payload) == (True, TEXT, "héllo ☃".encode())


def test_masks_are_random_and_actually_applied() -> None:
    conn = WebSocketConnection()
    payload = b"A" * 64
    frames = [conn.send_binary(payload) for _ in range(8)]
    masks = {decode_client_frame(frame)[3] for frame in frames}
    assert len(masks) > 1
    for frame in frames:
        mask = decode_client_frame(frame)[3]
        if mask != b"\0\0\0\0":
            assert payload not in frame  # the payload is not on the wire in clear


@settings(max_examples=200)
@given(st.binary(max_size=70_000), st.binary(min_size=4, max_size=4))
def test_masking_round_trips(payload: bytes, mask: bytes) -> None:
    frame = encode_frame(BINARY, payload, mask=mask)
    assert decode_client_frame(frame)[3:] == (mask, payload)


def test_control_frames() -> None:
    conn = WebSocketConnection()
    assert decode_client_frame(conn.send_pong(b"beat"))[1::3] == (PONG, b"beat")
    assert decode_client_frame(conn.send_ping(b"?"))[1::3] == (PING, b"?")
    assert decode_client_frame(conn.send_pong())[4] == b""
    with pytest.raises(LocalProtocolError, match="125"):
        conn.send_pong(b"x" * 126)
    close = decode_client_frame(conn.send_close(1001, "going away"))
    assert close[1] == CLOSE and close[4] == (1001).to_bytes(2, "big") + b"going away"
    assert conn.close_sent


def test_close_without_code_and_invalid_closes() -> None:
    assert decode_client_frame(WebSocketConnection().send_close(None))[4] == b""
    with pytest.raises(LocalProtocolError):
        WebSocketConnection().send_close(None, "why")
    for code in (999, 1005, 1006, 1015, 5000):
        with pytest.raises(LocalProtocolError, match=str(code)):
            WebSocketConnection().send_close(code)
    with pytest.raises(LocalProtocolError, match="125"):
        WebSocketConnection().send_close(1000, "r" * 124)


def test_nothing_is_sent_after_close() -> None:
    conn = WebSocketConnection()
    conn.send_close()
    sends: list[Callable[[], bytes]] = [
        lambda: conn.send_text("x"),
        lambda: conn.send_binary(b"x"),
        lambda: conn.send_pong(b""),
        lambda: conn.send_close(),
    ]
    for send in sends:
        with pytest.raises(LocalProtocolError, match="close frame was sent"):
            send()


# ---------------------------------------------------------------------------------------------
# Receiving


@pytest.mark.parametrize(("length", "_class"), LENGTHS)
def test_server_frames_of_every_length_class(length: int, _class: int) -> None:
    payload = bytes(i % 7 for i in range(length))
    assert feed_all([encode_frame(BINARY, payload)]) == [Message(payload, False)]
    assert feed_all([encode_frame(TEXT, payload)]) == [Message(payload, True)]


def test_message_text_is_lenient() -> None:
    assert Message("ok ☃".encode(), True).text == "ok ☃"
    assert Message(b"\xff ok", True).text == "\ufffd ok"


def test_fragmented_message_with_control_frames_between() -> None:
    wire = b"".join(
        [
            encode_frame(TEXT, b"hel", fin=False),
            encode_frame(PING, b"p1"),
            encode_frame(CONTINUATION, b"lo ", fin=False),
            encode_frame(PONG, b"p2"),
            encode_frame(CONTINUATION, b"", fin=False),
            encode_frame(CONTINUATION, b"world"),
            encode_frame(BINARY, b"\x00\x01"),
        ]
    )
    assert feed_all([wire]) == [
        Ping(b"p1"),
        Pong(b"p2"),
        Message(b"hello world", True),
        Message(b"\x00\x01", False),
    ]


def test_close_frames() -> None:
    payload = (1000).to_bytes(2, "big") + "bye ☃".encode()
    conn = WebSocketConnection()
    assert feed_all([encode_frame(CLOSE, payload)], conn) == [Close(1000, "bye ☃")]
    assert conn.close_received
    assert feed_all([encode_frame(CLOSE, b"")]) == [Close(None, "")]
    # The caller answers; that is still allowed.
    assert decode_client_frame(conn.send_close(1000))[1] == CLOSE


FRAMES = [
    encode_frame(BINARY, b"stdout line\n"),
    encode_frame(TEXT, b"x" * 300),
    encode_frame(BINARY, bytes(70_000)),
    encode_frame(PING, b"hi"),
    encode_frame(BINARY, b"part one ", fin=False),
    encode_frame(PING, b""),
    encode_frame(CONTINUATION, b"part two", fin=True),
    encode_frame(BINARY, b""),
    encode_frame(CLOSE, (1000).to_bytes(2, "big")),
]
EXPECTED = [
    Message(b"stdout line\n", False),
    Message(b"x" * 300, True),
    Message(bytes(70_000), False),
    Ping(b"hi"),
    Ping(b""),
    Message(b"part one part two", False),
    Message(b"", False),
    Close(1000, ""),
]


@settings(max_examples=150)
@given(st.lists(st.integers(min_value=0, max_value=80_000), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    wire = b"".join(FRAMES)
    cut_points = sorted({min(cut, len(wire)) for cut in cuts})
    pieces, start = [], 0
    for cut in cut_points:
        pieces.append(wire[start:cut])
        start = cut
    pieces.append(wire[start:])
    assert feed_all([p for p in pieces if p]) == EXPECTED


def test_byte_by_byte() -> None:
    wire = b"".join(FRAMES[:2] + FRAMES[3:])
    expected = [e for e in EXPECTED if e != Message(bytes(70_000), False)]
    assert feed_all([wire[i : i + 1] for i in range(len(wire))]) == expected


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (encode_frame(BINARY, b"x", mask=b"abcd"), "masked"),
        (bytes((0x80 | 0x40 | BINARY, 1)) + b"x", "reserved bits"),
        (bytes((0x80 | 0x10 | TEXT, 0)), "reserved bits"),
        (encode_frame(3, b""), "reserved opcode"),
        (encode_frame(0xB, b""), "reserved opcode"),
        (encode_frame(PING, b"x" * 126), "longer than 125"),
        (encode_frame(CLOSE, b"\x03\xe8" + b"r" * 124), "longer than 125"),
        (encode_frame(PING, b"", fin=False), "fragmented WebSocket control"),
        (encode_frame(CONTINUATION, b"x"), "continuation frame outside"),
        (encode_frame(TEXT, b"a", fin=False) + encode_frame(TEXT, b"b"), "before the previous"),
        (encode_frame(CLOSE, b"\x03"), "1-byte"),
        (encode_frame(CLOSE, (1005).to_bytes(2, "big")), "invalid code 1005"),
        (encode_frame(CLOSE, (999).to_bytes(2, "big")), "invalid code 999"),
        (encode_frame(CLOSE, b"") + encode_frame(BINARY, b"late"), "after its close"),
        (bytes((0x80 | BINARY, 127)) + (1 << 63).to_bytes(8, "big"), "top bit"),
    ],
)
def test_protocol_violations(wire: bytes, match: str) -> None:
    conn = WebSocketConnection()
    conn.receive_data(wire)
    with pytest.raises(RemoteProtocolError, match=match):
        conn.events()
    with pytest.raises(RemoteProtocolError, match="failed earlier"):
        conn.events()


def test_oversized_message_is_refused_before_its_payload_arrives() -> None:
    conn = WebSocketConnection(max_message_size=1000)
    conn.receive_data(encode_frame(BINARY, b"x" * 1001)[:4])
    with pytest.raises(RemoteProtocolError, match="larger than 1000"):
        conn.events()
    conn = WebSocketConnection(max_message_size=1000)
    conn.receive_data(encode_frame(BINARY, b"x" * 600, fin=False))
    assert conn.events() == []
    conn.receive_data(encode_frame(CONTINUATION, b"x" * 401)[:4])
    with pytest.raises(RemoteProtocolError, match="larger than 1000"):
        conn.events()


def test_end_of_connection() -> None:
    conn = WebSocketConnection()
    conn.receive_data(encode_frame(BINARY, b"done"))
    conn.receive_data(b"")
    assert conn.events() == [Message(b"done", False)]
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"more")
    for partial in (encode_frame(BINARY, b"cut")[:3], encode_frame(TEXT, b"a", fin=False)):
        conn = WebSocketConnection()
        conn.receive_data(partial)
        conn.receive_data(b"")
        with pytest.raises(RemoteProtocolError, match="middle of a message"):
            conn.events()


def test_encode_frame_rejects_a_bad_mask() -> None:
    with pytest.raises(ValueError):
        encode_frame(BINARY, b"x", mask=b"abc")
