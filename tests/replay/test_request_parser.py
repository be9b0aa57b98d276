"""The server-side request parser the recorder and the replayer read requests with."""

from __future__ import annotations

import pytest

from engineapi.errors import LocalProtocolError
from engineapi.http import NEED_DATA, ClientConnection, Data, EndOfMessage
from engineapi.replay._request_parser import RequestHead, RequestParser


def events(parser: RequestParser, data: bytes, *, step: int | None = None) -> list[object]:
    out: list[object] = []
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        parser.receive_data(piece)
        while (event := parser.next_event()) is not NEED_DATA:
            out.append(event)
    return out


def summary(found: list[object]) -> list[object]:
    result: list[object] = []
    for event in found:
        if isinstance(event, RequestHead):
            result.append((event.method, event.target))
        elif isinstance(event, Data):
            if result and isinstance(result[-1], bytes):
                result[-1] += event.data
            else:
                result.append(event.data)
        elif isinstance(event, EndOfMessage):
            result.append("end")
    return result


def client_bytes(method: str, target: str, body: bytes | None = None, **kw: object) -> bytes:
    return ClientConnection().send_request(method, target, [("Host", "docker")], body=body, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("step", [None, 1, 7])
def test_content_length_body_in_any_pieces(step: int | None) -> None:
    data = client_bytes("POST", "/v1.51/containers/create?name=x", b'{"Image":"busybox"}')
    found = summary(events(RequestParser(), data, step=step))
    assert found == [("POST", "/v1.51/containers/create?name=x"), b'{"Image":"busybox"}', "end"]


@pytest.mark.parametrize("step", [None, 1, 5])
def test_chunked_body_as_the_client_frames_it(step: int | None) -> None:
    connection = ClientConnection()
    data = connection.send_request("PUT", "/archive", [("Host", "docker")], chunked=True)
    data += connection.send_data(b"first piece") + connection.send_data(b"second")
    data += connection.send_end()
    found = summary(events(RequestParser(), data, step=step))
    assert found == [("PUT", "/archive"), b"first piecesecond", "end"]


def test_requests_one_after_another_on_one_connection() -> None:
    data = client_bytes("GET", "/_ping") + client_bytes("POST", "/containers/x/start")
    found = summary(events(RequestParser(), data))
    assert found == [("GET", "/_ping"), "end", ("POST", "/containers/x/start"), "end"]


def test_upgrade_request_leaves_the_raw_bytes_as_trailing_data() -> None:
    parser = RequestParser()
    head = ClientConnection().send_request(
        "POST", "/containers/x/attach", [("Host", "docker"), ("Upgrade", "tcp")]
    )
    found = events(parser, head + b"stdin bytes")
    assert isinstance(found[0], RequestHead) and found[0].get("upgrade") == "tcp"
    assert isinstance(found[-1], EndOfMessage)
    assert parser.trailing_data == b"stdin bytes"


@pytest.mark.parametrize(
    "data",
    [
        b"NOT A REQUEST\r\n\r\n",
        b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_requests_are_refused(data: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        events(RequestParser(), data)
