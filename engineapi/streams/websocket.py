"""WebSocket framing for a client (RFC 6455), sans-IO: the part ``/containers/{id}/attach/ws``
needs.

The opening handshake is an HTTP/1.1 ``GET`` carrying `handshake_headers()`; the daemon answers
``101 Switching Protocols`` and `check_accept()` verifies its ``Sec-WebSocket-Accept``. From there
on the connection's bytes go through a `WebSocketConnection`: ``send_*`` methods return the
bytes to write (client frames are always masked), `receive_data()` takes what was read and
`events()` returns the `Message`, `Ping`, `Pong` and `Close` events it completes. No extensions
or subprotocols are negotiated, so compressed or reserved-bit frames are refused.

The daemon writes a container's output as binary (or, on some versions, text) messages; a
`Ping` should be answered with `send_pong()`, a `Close` with `send_close()`.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from typing import Final

import attrs

from engineapi.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "PING",
    "PONG",
    "TEXT",
    "Close",
    "Message",
    "Ping",
    "Pong",
    "WebSocketConnection",
    "WebSocketEvent",
    "accept_value",
    "check_accept",
    "encode_frame",
    "handshake_headers",
]

CONTINUATION: Final = 0x0
TEXT: Final = 0x1
BINARY: Final = 0x2
CLOSE: Final = 0x8
PING: Final = 0x9
PONG: Final = 0xA

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_DATA_OPCODES: Final = frozenset((CONTINUATION, TEXT, BINARY))
_CONTROL_OPCODES: Final = frozenset((CLOSE, PING, PONG))
_MAX_CONTROL_PAYLOAD: Final = 125
# Close codes an endpoint may put on the wire (RFC 6455 §7.4): 1004-1006 and 1015 are reserved.
_FORBIDDEN_CLOSE_CODES: Final = frozenset((1004, 1005, 1006, 1015))


# ---------------------------------------------------------------------------------------------
# The opening handshake


def handshake_headers(*, origin: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """A fresh ``Sec-WebSocket-Key`` and the headers that ask for the upgrade (add them to a
    ``GET``; keep the key for `check_accept()`). `origin` adds an ``Origin`` header, which some
    WebSocket servers insist on."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    if origin is not None:
        headers.append(("Origin", origin))
    return key, headers


def accept_value(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer to `key`."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def check_accept(key: str, headers: Mapping[str, str]) -> None:
    """Check the ``101`` response headers to the handshake that sent `key`: ``Upgrade`` must
    be ``websocket`` and ``Sec-WebSocket-Accept`` must match. Raises `RemoteProtocolError`.
    Header names are matched case-insensitively whatever the mapping."""
    lowered = {name.lower(): value for name, value in headers.items()}
    upgrade = lowered.get("upgrade")
    if upgrade is None or upgrade.strip().lower() != "websocket":
        raise RemoteProtocolError(
            f"the daemon did not upgrade to a WebSocket (Upgrade: {upgrade!r})"
        )
    accept = lowered.get("sec-websocket-accept")
    if accept is None:
        raise RemoteProtocolError("the WebSocket handshake response has no Sec-WebSocket-Accept")
    if accept.strip() != accept_value(key):
        raise RemoteProtocolError(
            f"the WebSocket handshake response has a wrong Sec-WebSocket-Accept {accept!r} "
            f"(expected {accept_value(key)!r})"
        )


# ---------------------------------------------------------------------------------------------
# Events


@attrs.frozen
class Message:
    """A complete data message (fragments already joined). `is_text` for a text message."""

    data: bytes
    is_text: bool = False

    @property
    def text(self) -> str:
        """The data as text (invalid UTF-8 replaced: container output need not be UTF-8)."""
        return self.data.decode("utf-8", "replace")


@attrs.frozen
class Ping:
    """The server pinged; answer with ``send_pong(payload)``."""

    payload: bytes = b""


@attrs.frozen
class Pong:
    """The server answered a ping (or sent an unsolicited pong)."""

    payload: bytes = b""


@attrs.frozen
class Close:
    """The server closes the WebSocket; `code` is ``None`` when it gave no status code.
    Answer with `send_close()` (if not sent already), then close the connection."""

    code: int | None = None
    reason: str = ""


WebSocketEvent = Message | Ping | Pong | Close


# ---------------------------------------------------------------------------------------------
# Frames


def encode_frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None
) -> bytes:
    """One frame: masked with the 4-byte `mask` if given (a client frame), else plain (a
    server's frame, as tests and replays need)."""
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if mask is not None else 0
    if length < 126:
        head = bytes((first, mask_bit | length))
    elif length < 1 << 16:
        head = bytes((first, mask_bit | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + length.to_bytes(8, "big")
    if mask is None:
        return head + payload
    if len(mask) != 4:
        raise ValueError("a WebSocket mask is 4 bytes")
    return head + mask + _apply_mask(payload, mask)


def _apply_mask(data: bytes, mask: bytes) -> bytes:
    """`data` XOR the repeated `mask`, one big-integer XOR rather than a byte loop."""
    size = len(data)
    if not size:
        return b""
    repeated = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(size, "big")


class WebSocketConnection:
    """The client side of an open WebSocket.

    Bytes to send come from the ``send_*`` methods; bytes read go into `receive_data()` (``b""``
    when the server closed the connection) and complete events come out of `events()`. A frame
    the server should not have sent raises `RemoteProtocolError`, after which the connection is
    unusable; sending after `send_close()` raises `LocalProtocolError`. Messages larger than
    `max_message_size` bytes are refused.
    """

    __slots__ = (
        "_buffer",
        "_close_received",
        "_close_sent",
        "_eof",
        "_failed",
        "_fragments",
        "_fragments_size",
        "_fragments_text",
        "_max_message_size",
    )

    def __init__(self, *, max_message_size: int = 64 * 1024 * 1024) -> None:
        self._max_message_size = max_message_size
        self._buffer = bytearray()
        self._fragments: list[bytes] | None = None  # a fragmented message in progress
        self._fragments_text = False
        self._fragments_size = 0
        self._close_sent = False
        self._close_received = False
        self._eof = False
        self._failed = False

    @property
    def close_sent(self) -> bool:
        return self._close_sent

    @property
    def close_received(self) -> bool:
        return self._close_received

    # -- sending ------------------------------------------------------------------------------

    def send_text(self, text: str) -> bytes:
        return self._frame(TEXT, text.encode("utf-8"))

    def send_binary(self, data: bytes) -> bytes:
        return self._frame(BINARY, bytes(data))

    def send_ping(self, payload: bytes = b"") -> bytes:
        return self._frame(PING, _control_payload(payload, "ping"))

    def send_pong(self, payload: bytes = b"") -> bytes:
        return self._frame(PONG, _control_payload(payload, "pong"))

    def send_close(self, code: int | None = 1000, reason: str = "") -> bytes:
        """The close frame; `code` ``None`` sends none (and then no reason either)."""
        if code is None:
            if reason:
                raise LocalProtocolError("a WebSocket close reason needs a status code")
            payload = b""
        else:
            if not (1000 <= code < 5000) or code in _FORBIDDEN_CLOSE_CODES:
                raise LocalProtocolError(f"{code} is not a close code an endpoint may send")
            payload = code.to_bytes(2, "big") + reason.encode("utf-8")
        frame = self._frame(CLOSE, _control_payload(payload, "close"))
        self._close_sent = True
        return frame

    def _frame(self, opcode: int, payload: bytes) -> bytes:
        if self._close_sent:
            raise LocalProtocolError("the WebSocket close frame was sent already")
        return encode_frame(opcode, payload, mask=os.urandom(4))

    # -- receiving ----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes read from the connection; ``b""`` when the server closed it."""
        if self._eof:
            raise LocalProtocolError("data received after the end of the WebSocket connection")
        if data:
            self._buffer += data
        else:
            self._eof = True

    def events(self) -> list[WebSocketEvent]:
        """The events completed by the data received so far."""
        if self._failed:
            raise RemoteProtocolError("the WebSocket connection failed earlier")
        try:
            events = self._parse()
        except RemoteProtocolError:
            self._failed = True
            raise
        if self._eof and (self._buffer or self._fragments is not None):
            self._failed = True
            raise RemoteProtocolError("the WebSocket connection ended in the middle of a message")
        return events

    def _parse(self) -> list[WebSocketEvent]:
        buffer = self._buffer
        size = len(buffer)
        pos = 0
        events: list[WebSocketEvent] = []
        while size - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            fin = bool(first & 0x80)
            opcode = first & 0x0F
            length = second & 0x7F
            self._check_head(first, second, opcode, fin, length)
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                if length >> 63:
                    raise RemoteProtocolError("WebSocket frame length has its top bit set")
                head = 10
            if opcode in _DATA_OPCODES and self._fragments_size + length > self._max_message_size:
                raise RemoteProtocolError(
                    f"WebSocket message larger than {self._max_message_size} bytes"
                )
            end = pos + head + length
            if end > size:
                break
            payload = bytes(buffer[pos + head : end])
            pos = end
            event = self._on_frame(opcode, fin, payload)
            if event is not None:
                events.append(event)
        if pos:
            del buffer[:pos]
        return events

    def _check_head(self, first: int, second: int, opcode: int, fin: bool, length: int) -> None:
        if self._close_received:
            raise RemoteProtocolError("the daemon sent a WebSocket frame after its close frame")
        if first & 0x70:
            raise RemoteProtocolError(
                "WebSocket frame with reserved bits set (no extension was negotiated)"
            )
        if second & 0x80:
            raise RemoteProtocolError("the daemon sent a masked WebSocket frame")
        if opcode in _CONTROL_OPCODES:
            if not fin:
                raise RemoteProtocolError("fragmented WebSocket control frame")
            if length > _MAX_CONTROL_PAYLOAD:
                raise RemoteProtocolError(
                    f"WebSocket control frame (opcode {opcode:#x}) longer than 125 bytes"
                )
        elif opcode not in _DATA_OPCODES:
            raise RemoteProtocolError(f"WebSocket frame with reserved opcode {opcode:#x}")
        elif opcode == CONTINUATION:
            if self._fragments is None:
                raise RemoteProtocolError("WebSocket continuation frame outside a message")
        elif self._fragments is not None:
            raise RemoteProtocolError("new WebSocket message before the previous one ended")

    def _on_frame(self, opcode: int, fin: bool, payload: bytes) -> WebSocketEvent | None:
        if opcode == CONTINUATION:
            assert self._fragments is not None
            self._fragments.append(payload)
            self._fragments_size += len(payload)
            if not fin:
                return None
            data = b"".join(self._fragments)
            self._fragments, self._fragments_size = None, 0
            return Message(data, self._fragments_text)
        if opcode in (TEXT, BINARY):
            if fin:
                return Message(payload, opcode == TEXT)
            self._fragments = [payload]
            self._fragments_size = len(payload)
            self._fragments_text = opcode == TEXT
            return None
        if opcode == PING:
            return Ping(payload)
        if opcode == PONG:
            return Pong(payload)
        return self._on_close(payload)

    def _on_close(self, payload: bytes) -> Close:
        self._close_received = True
        if not payload:
            return Close()
        if len(payload) == 1:
            raise RemoteProtocolError("WebSocket close frame with a 1-byte payload")
        code = int.from_bytes(payload[:2], "big")
        if not (1000 <= code < 5000) or code in _FORBIDDEN_CLOSE_CODES:
            raise RemoteProtocolError(f"WebSocket close frame with invalid code {code}")
        return Close(code, payload[2:].decode("utf-8", "replace"))


def _control_payload(payload: bytes, what: str) -> bytes:
    if len(payload) > _MAX_CONTROL_PAYLOAD:
        raise LocalProtocolError(f"a WebSocket {what} payload is at most 125 bytes")
    return bytes(payload)
