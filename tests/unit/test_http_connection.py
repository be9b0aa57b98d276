"""The sans-IO HTTP/1.1 client connection, fed bytes directly (no daemon can send these)."""

from __future__ import annotations

import pytest

from engineapi.errors import ConnectionLost, LocalProtocolError, RemoteProtocolError
from engineapi.http import NEED_DATA, ClientConnection, Data, EndOfMessage, Response


def exchange(raw: bytes, *, method: str = "GET", split: int | None = None) -> list[object]:
    """Send a request, feed `raw` (optionally in `split`-byte pieces), collect all events."""
    conn = ClientConnection()
    conn.send_request(method, "/x", [("Host", "docker")])
    pieces = [raw] if split is None else [raw[i : i + split] for i in range(0, len(raw), split)]
    pieces.append(b"")
    events: list[object] = []
    for piece in pieces:
        conn.receive_data(piece)
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                break
            events.append(event)
            if isinstance(event, EndOfMessage):
                return events
    return events


def body_of(events: list[object]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Data))


def test_request_serialisation() -> None:
    conn = ClientConnection()
    head = conn.send_request("GET", "/v1.41/info", [("Host", "docker"), ("User-Agent", "t")])
    assert head == b"GET /v1.41/info HTTP/1.1\r\nHost: docker\r\nUser-Agent: t\r\n\r\n"


def test_post_without_body_sends_content_length_zero() -> None:
    conn = ClientConnection()
    head = conn.send_request("POST", "/containers/x/start", [("Host", "docker")])
    assert b"Content-Length: 0\r\n" in head


def test_whole_body_gets_content_length() -> None:
    conn = ClientConnection()
    out = conn.send_request("POST", "/x", [("Host", "d")], body=b'{"a":1}')
    assert out.endswith(b'Content-Length: 7\r\n\r\n{"a":1}')


def test_chunked_request_body() -> None:
    conn = ClientConnection()
    head = conn.send_request("POST", "/build", [("Host", "d")], chunked=True)
    assert b"Transfer-Encoding: chunked\r\n" in head
    assert conn.send_data(b"hello") == b"5\r\nhello\r\n"
    assert conn.send_data(b"") == b""
    assert conn.send_data(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert conn.send_end() == b"0\r\n\r\n"


def test_content_length_request_body_must_match() -> None:
    conn = ClientConnection()
    conn.send_request("PUT", "/archive", [("Host", "d")], content_length=4)
    conn.send_data(b"ab")
    with pytest.raises(LocalProtocolError, match="2 bytes shorter"):
        conn.send_end()
    conn = ClientConnection()
    conn.send_request("PUT", "/archive", [("Host", "d")], content_length=1)
    with pytest.raises(LocalProtocolError, match="longer"):
        conn.send_data(b"ab")


def test_header_injection_refused() -> None:
    conn = ClientConnection()
    with pytest.raises(LocalProtocolError):
        conn.send_request("GET", "/", [("X-A", "a\r\nEvil: 1")])
    with pytest.raises(LocalProtocolError):
        conn.send_request("GET", "/", [("Content-Length", "3")])


@pytest.mark.parametrize("split", [None, 1, 3, 7])
def test_content_length_body(split: int | None) -> None:
    events = exchange(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        b'{"ok":true}',
        split=split,
    )
    head = events[0]
    assert isinstance(head, Response)
    assert head.status == 200 and head.reason == "OK"
    assert head.headers["content-type"] == "application/json"
    assert head.headers.get("CONTENT-TYPE") == "application/json"
    assert body_of(events) == b'{"ok":true}'
    assert isinstance(events[-1], EndOfMessage)


@pytest.mark.parametrize("split", [None, 1, 2, 5])
def test_chunked_body_with_extensions_and_trailers(split: int | None) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1A\r\n" + b"z" * 26 + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    events = exchange(raw, split=split)
    assert body_of(events) == b"hello" + b"z" * 26
    assert isinstance(events[-1], EndOfMessage)


def test_close_delimited_body_ends_at_eof() -> None:
    events = exchange(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome text")
    assert body_of(events) == b"some text"
    assert isinstance(events[-1], EndOfMessage)


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(status: int) -> None:
    conn = ClientConnection()
    conn.send_request("POST", "/containers/x/start", [("Host", "d")])
    conn.receive_data(f"HTTP/1.1 {status} X\r\n\r\n".encode())
    assert isinstance(conn.next_event(), Response)
    assert isinstance(conn.next_event(), EndOfMessage)
    assert conn.reusable


def test_head_response_has_no_body_despite_content_length() -> None:
    conn = ClientConnection()
    conn.send_request("HEAD", "/_ping", [("Host", "d")])
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.51\r\n\r\n")
    head = conn.next_event()
    assert isinstance(head, Response) and head.headers["api-version"] == "1.51"
    assert isinstance(conn.next_event(), EndOfMessage)
    assert conn.reusable


def test_interim_100_continue_is_skipped() -> None:
    events = exchange(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
    assert isinstance(events[0], Response) and events[0].status == 200
    assert body_of(events) == b"x"


def test_switching_protocols_keeps_trailing_bytes() -> None:
    conn = ClientConnection()
    conn.send_request(
        "POST", "/attach", [("Host", "d"), ("Connection", "Upgrade"), ("Upgrade", "tcp")]
    )
    conn.receive_data(
        b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
        b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n\x01\x00\x00\x00\x00\x00\x00\x02hi"
    )
    head = conn.next_event()
    assert isinstance(head, Response) and head.status == 101
    assert conn.switched_protocol and conn.upgrade_requested
    assert conn.trailing_data == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert not conn.reusable


def test_keep_alive_cycle() -> None:
    conn = ClientConnection()
    for _ in range(3):
        conn.send_request("GET", "/_ping", [("Host", "d")])
        conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
        assert isinstance(conn.next_event(), Response)
        assert isinstance(conn.next_event(), Data)
        assert isinstance(conn.next_event(), EndOfMessage)
        assert conn.reusable
        conn.start_next_cycle()


def test_connection_close_is_not_reusable() -> None:
    conn = ClientConnection()
    conn.send_request("GET", "/", [("Host", "d")])
    conn.receive_data(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    conn.next_event()
    assert isinstance(conn.next_event(), EndOfMessage)
    assert not conn.reusable
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()


def test_http10_without_keep_alive_is_not_reusable() -> None:
    conn = ClientConnection()
    conn.send_request("GET", "/", [("Host", "d")])
    conn.receive_data(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn.next_event()
    conn.next_event()
    assert not conn.reusable


def test_extra_bytes_after_response_make_it_unreusable() -> None:
    conn = ClientConnection()
    conn.send_request("GET", "/", [("Host", "d")])
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxJUNK")
    conn.next_event()
    conn.next_event()
    assert isinstance(conn.next_event(), EndOfMessage)
    assert not conn.reusable


def test_duplicate_headers_are_joined() -> None:
    events = exchange(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n")
    head = events[0]
    assert isinstance(head, Response)
    assert head.headers["X-A"] == "1, 2"
    assert head.headers.raw() == [("X-A", "1"), ("x-a", "2"), ("Content-Length", "0")]


MALFORMED = {
    "status line": b"HTTP/1.1 OK\r\n\r\n",
    "not http": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "http/2": b"HTTP/2 200 OK\r\n\r\n",
    "header without colon": b"HTTP/1.1 200 OK\r\nBroken\r\n\r\n",
    "space before colon": b"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\n\r\n",
    "bad content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
    "negative content-length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "conflicting content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "te and cl": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
    "unknown te": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "chunk without crlf": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_responses_raise(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        exchange(raw)


def test_error_state_is_sticky() -> None:
    conn = ClientConnection()
    conn.send_request("GET", "/", [("Host", "d")])
    conn.receive_data(b"garbage\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_duplicate_equal_content_length_is_accepted() -> None:
    events = exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx")
    assert body_of(events) == b"x"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "without a response"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "inside a response head"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", "3 body bytes missing"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "chunked body"),
    ],
)
def test_truncated_responses(raw: bytes, message: str) -> None:
    """A response cut short by EOF is a lost connection (the daemon died), not a malformed one."""
    with pytest.raises(ConnectionLost, match=message):
        exchange(raw)


def test_bytes_received_tells_whether_a_retry_is_safe() -> None:
    conn = ClientConnection()
    conn.send_request("GET", "/", [("Host", "d")])
    assert conn.bytes_received == 0
    conn.receive_data(b"HTTP/1.1")
    assert conn.bytes_received == 8


def test_head_size_limit() -> None:
    conn = ClientConnection()
    conn.send_request("GET", "/", [("Host", "d")])
    conn.receive_data(b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 70000)
    with pytest.raises(RemoteProtocolError, match="larger than"):
        conn.next_event()


def test_large_body_is_not_copied_piecewise() -> None:
    conn = ClientConnection()
    conn.send_request("GET", "/logs", [("Host", "d")])
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    assert isinstance(conn.next_event(), Response)
    piece = b"y" * 500000
    conn.receive_data(piece)
    event = conn.next_event()
    assert isinstance(event, Data) and event.data is piece  # handed over, not copied


# -- what the fuzzer found: the same verdict however the bytes arrive, typed errors only ------


def test_a_content_length_of_thousands_of_digits_is_a_protocol_error() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 4400 + b"\r\n\r\nx"
    with pytest.raises(RemoteProtocolError, match="4400 digits"):
        exchange(raw)


def test_an_unrequested_101_blames_the_daemon() -> None:
    raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n"
    with pytest.raises(RemoteProtocolError, match="without being asked"):
        exchange(raw)


@pytest.mark.parametrize("split", [None, 1, 7, 4096])
def test_a_long_trailer_line_is_refused_however_it_arrives(split: int | None) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\nX-Trailer: " + b"t" * 5000 + b"\r\n\r\n"
    )
    with pytest.raises(RemoteProtocolError, match="line too long"):
        exchange(raw, split=split)


@pytest.mark.parametrize("split", [None, 1, 7])
def test_a_long_chunk_extension_is_refused_however_it_arrives(split: int | None) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2;ext=" + b"e" * 5000 + b"\r\nok\r\n0\r\n\r\n"
    )
    with pytest.raises(RemoteProtocolError, match="line too long"):
        exchange(raw, split=split)


def test_a_head_fed_one_byte_at_a_time_costs_linear_time() -> None:
    """A 64 KiB head in 1-byte reads: each read used to copy and re-scan all before it."""
    import time

    head = b"HTTP/1.1 200 OK\r\n" + b"".join(
        b"X-Filler-%05d: %s\r\n" % (i, b"v" * 40) for i in range(1000)
    )
    raw = (
        head[: 60 * 1024] + b"\r\n"
        if len(head) > 60 * 1024
        else head + b"Content-Length: 0\r\n\r\n"
    )
    started = time.process_time()
    events = exchange(raw, split=1)
    assert isinstance(events[0], Response) and isinstance(events[-1], EndOfMessage)
    assert time.process_time() - started < 0.5


def test_blanks_in_a_header_value_cost_linear_time() -> None:
    import time

    raw = (
        b"HTTP/1.1 200 OK\r\nX-Blank: a"
        + b" " * 50_000
        + b"b"
        + b" " * 3000
        + b"\r\nContent-Length: 0\r\n\r\n"
    )
    started = time.process_time()
    (response, *_) = exchange(raw)
    assert isinstance(response, Response)
    assert response.headers.get("x-blank") == "a" + " " * 50_000 + "b"
    assert time.process_time() - started < 0.5


def _parsed(text: str, *, strictly: bool) -> object:
    """What a fresh connection makes of the response head `text`: its parts, or the error."""
    conn = ClientConnection()
    try:
        head = conn._parse_head_strictly(text) if strictly else conn._parse_head(text)
    except RemoteProtocolError as exc:
        return ("error", str(exc))
    return (head.status, head.reason, head.http_version, head.headers.raw(), dict(head.headers))


def test_the_quick_head_parse_agrees_with_the_strict_one() -> None:
    """The usual head takes a shortcut (its lines checked once and remembered); on any head,
    usual or not, first seen or not, it must give what the strict parse gives (the same fields,
    or the same error). Heads mutated at random, seeded."""
    import random

    rng = random.Random(1812)
    seeds = [
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 2\r\nApi-Version: 1.51",
        "HTTP/1.1 204 No Content\r\nOstype: linux\r\nSwarm: inactive",
        "HTTP/1.0 404 Not Found\r\nContent-Type: application/json",
        "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp",
        "HTTP/1.1 500 \r\nX: y",
        "HTTP/1.1 200",
        "HTTP/1.1 200 OK",
    ]
    pieces = [
        " ",
        "\t",
        ":",
        ": ",
        "\r",
        "\n",
        "\r\n",
        "\x00",
        "é",
        "²",
        "0",
        "a",
        "A",
        "-",
        "x: y",
    ]
    texts = [
        *seeds,
        "HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2",  # a repeated name
        "HTTP/1.1 200 OK\r\nA:b: c",  # the first colon ends the name
        "HTTP/1.1 200 OK\r\nA:  b \t",  # blanks around a value
        "HTTP/1.1 200 OK\r\nA: ",  # an empty value
        "HTTP/1.1 200 OK\r\n: b",  # no name
        "HTTP/1.1 200 OK\r\nA b: c",  # a blank inside a name
        "HTTP/1.1 200 OK\r\nX_Y!~: 1",  # a token beyond letters, digits and dashes
        "HTTP/1.1 200 OK\r\nXé: 1",  # not a token
        "HTTP/1.1 200 OK\r\nX²: 1",  # not a token, though str.isalnum() says alphanumeric
        "HTTP/1.1 099 OK",
        "HTTP/1.1 2x0 OK",
        "HTTP/1.1 ²00 OK",
        "HTTP/1.1 200OK",
        "HTTP/1.1 20",
    ]
    for _ in range(20_000):
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(text))
            if rng.random() < 0.3:
                text = text[:at] + text[at + rng.randint(1, 3) :]
            else:
                text = text[:at] + rng.choice(pieces) + text[at:]
        texts.append(text)
    valid = 0
    for text in texts:
        expected = _parsed(text, strictly=True)
        assert _parsed(text, strictly=False) == expected, text
        assert _parsed(text, strictly=False) == expected, text  # its lines remembered now
        valid += expected[0] != "error"
    assert valid > 2000  # the mutations left many heads valid: both paths were compared


def test_status_lines_remembered_are_bounded() -> None:
    """Status lines are checked once and remembered, but a daemon inventing reason phrases
    cannot grow that memory: each head still parses, the store stays small."""
    from engineapi.http import _connection

    for i in range(3 * _connection._STATUS_LINES_MAX):
        (head, *_) = exchange(b"HTTP/1.1 200 Fine %d\r\nContent-Length: 0\r\n\r\n" % i)
        assert isinstance(head, Response) and head.reason == f"Fine {i}"
    assert len(_connection._STATUS_LINES) <= _connection._STATUS_LINES_MAX


def test_field_lines_remembered_are_bounded() -> None:
    """Field lines are remembered across replies, but a daemon sending ever new ones (or long
    ones) cannot grow that memory: each head still parses right, the store stays small."""
    from engineapi.http import _connection

    for i in range(3 * _connection._FIELD_LINES_MAX):
        raw = b"HTTP/1.1 200 OK\r\nX-Seq: %d\r\nX-Long: %s\r\nContent-Length: 0\r\n\r\n" % (
            i,
            b"v" * 300,
        )
        (head, *_) = exchange(raw)
        assert isinstance(head, Response)
        assert head.headers["x-seq"] == str(i) and head.headers["x-long"] == "v" * 300
        assert head.headers.raw()[0] == ("X-Seq", str(i))
    assert len(_connection._FIELD_LINES) <= _connection._FIELD_LINES_MAX
    assert all(len(line) <= _connection._FIELD_LINE_MAX for line in _connection._FIELD_LINES)


def _events_of(raw: bytes, method: str, split: int | None) -> object:
    """What a fresh connection makes of the response `raw` to `method`: its events and
    whether it can carry another request, or the error."""
    conn = ClientConnection()
    conn.send_request(
        method,
        "/x",
        [("Host", "docker"), ("Connection", "Upgrade"), ("Upgrade", "tcp")]
        if method == "POST"
        else [("Host", "docker")],
    )
    pieces = [raw] if split is None else [raw[i : i + split] for i in range(0, len(raw), split)]
    shown: list[object] = []
    try:
        for piece in [*pieces, b""]:
            conn.receive_data(piece)
            while (event := conn.next_event()) is not NEED_DATA:
                if isinstance(event, Response):
                    shown.append((event.status, event.reason, event.headers.raw()))
                elif isinstance(event, Data):
                    shown.append(event.data)
                else:
                    shown.append("end")
                if isinstance(event, EndOfMessage) or conn.switched_protocol:
                    return shown, conn.reusable, conn.switched_protocol
    except (RemoteProtocolError, ConnectionLost) as exc:
        return shown, type(exc).__name__, str(exc)
    return shown, conn.reusable, conn.switched_protocol


@pytest.mark.parametrize("split", [None, 5])
def test_a_head_seen_before_reads_as_it_did_the_first_time(
    split: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heads are remembered byte for byte with their body framing; a head seen again (as the
    same reply repeated within a second) must give the same events, body and reusability as
    a head parsed afresh, for each framing and request method."""
    from engineapi.http import _connection

    replies = [
        b"HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 2\r\n\r\nOK",
        b"HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKextra",
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nServer: t\r\n\r\nuntil close",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\n\r\n",
        b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nraw",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nOK",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
    ]
    methods = ["GET", "HEAD", "POST"]
    _connection._HEADS.clear()
    monkeypatch.setattr(_connection, "_HEAD_MAX", -1)  # nothing remembered: each parsed afresh
    fresh = {(r, m): _events_of(r, m, split) for r in replies for m in methods}
    monkeypatch.undo()
    _connection._HEADS.clear()
    for _ in range(2):  # first seen, then remembered
        for reply in replies:
            for method in methods:
                assert _events_of(reply, method, split) == fresh[reply, method], (reply, method)
    if split is None:  # whole heads come as bytes and are remembered (pieces are not)
        assert b"HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 2" in _connection._HEADS


def test_heads_remembered_are_bounded() -> None:
    """A daemon whose heads never repeat (a new Date each second, new lengths) cannot grow the
    memory of whole heads: each still reads right, the store stays small."""
    from engineapi.http import _connection

    for i in range(3 * _connection._HEADS_MAX):
        events = exchange(b"HTTP/1.1 200 OK\r\nX-Seq: %d\r\nContent-Length: 1\r\n\r\nx" % i)
        assert isinstance(events[0], Response) and events[0].headers["x-seq"] == str(i)
        assert body_of(events) == b"x"
    (head, *_) = exchange(b"HTTP/1.1 200 OK\r\nX: %s\r\nContent-Length: 0\r\n\r\n" % (b"v" * 3000))
    assert isinstance(head, Response) and head.headers["x"] == "v" * 3000
    assert len(_connection._HEADS) <= _connection._HEADS_MAX
    assert all(len(head) <= _connection._HEAD_MAX for head in _connection._HEADS)


def test_request_fields_remembered_are_checked_every_time() -> None:
    """Request fields are rendered once and remembered; a remembered field does not let a
    bad one through, the Upgrade flag is set on each request that asks, fields may come as
    any iterable of pairs, and the memory stays small."""
    from engineapi.http import _connection

    fields = [("Host", "docker"), ("User-Agent", "t")]
    for _ in range(2):
        conn = ClientConnection()
        assert conn.send_request("GET", "/a", fields) == (
            b"GET /a HTTP/1.1\r\nHost: docker\r\nUser-Agent: t\r\n\r\n"
        )
    conn = ClientConnection()
    with pytest.raises(LocalProtocolError, match="line break"):
        conn.send_request("GET", "/a", [*fields, ("X-A", "a\r\nEvil: 1")])
    with pytest.raises(LocalProtocolError, match="body framing"):
        conn.send_request("GET", "/a", [("content-length", "3"), *fields])
    upgrade = [("Host", "docker"), ("Connection", "Upgrade"), ("Upgrade", "tcp")]
    for _ in range(2):
        conn = ClientConnection()
        conn.send_request("POST", "/attach", upgrade)
        assert conn.upgrade_requested
    conn = ClientConnection()
    conn.send_request("POST", "/attach", fields)
    assert not conn.upgrade_requested
    as_lists = ClientConnection().send_request("GET", "/a", [["Host", "docker"]])  # type: ignore[list-item]
    from_generator = ClientConnection().send_request("GET", "/a", (f for f in fields[:1]))
    assert as_lists == from_generator == b"GET /a HTTP/1.1\r\nHost: docker\r\n\r\n"
    for i in range(3 * _connection._REQUEST_FIELDS_MAX):
        ClientConnection().send_request("GET", "/", [("X-Seq", str(i)), ("X-Long", "v" * 300)])
    assert len(_connection._REQUEST_FIELDS) <= _connection._REQUEST_FIELDS_MAX
