"""Answers of the wrong shape or nesting: typed `RemoteProtocolError`, never AttributeError,
TypeError or RecursionError from the decoders; a reply lacking a key the spec requires:
`MissingFieldError` (a stub server: no daemon sends these)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import Client, MissingFieldError, RemoteProtocolError
from engineapi.streams.jsonlines import JSONLinesDecoder
from tests.faults.stub import stub_server


def answering(body: bytes, status: int = 200) -> object:
    def answer(head: bytes) -> Iterator[bytes]:
        yield (
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nServer: Stub/1.0\r\n"
            b"Content-Length: %d\r\n\r\n" % (status, len(body))
        )
        yield body

    return answer


BOMB = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.parametrize(
    ("operation", "body", "fragment"),
    [
        ("list", b'{"message": "x"}', "JSON array of ContainerSummary"),
        ("list", b'"a string"', "JSON array"),
        ("list", b"[1, 2]", "not the shape"),
        ("inspect", b"[]", "not the shape"),
        ("inspect", b"42", "not the shape"),
        ("create", b'"a string"', "not the shape"),
        ("create", b"[]", "not the shape"),
        ("volume", b"null", "not the shape"),
        ("volume", b"[1]", "not the shape"),
        ("info", BOMB, "nested too deeply"),
        ("list", BOMB, "nested too deeply"),
    ],
)
def test_a_reply_of_another_shape_is_a_protocol_error(
    tmp_path: Path, operation: str, body: bytes, fragment: str
) -> None:
    with (
        stub_server(tmp_path, answering(body)) as host,  # type: ignore[arg-type]
        Client(host, version="1.51", environ={}) as client,
    ):
        call = {
            "list": lambda: client.containers.list(all=True),
            "inspect": lambda: client.containers.inspect("c"),
            "info": lambda: client.system.info(),
            "create": lambda: client.containers.create({"Image": "x"}),
            "volume": lambda: client.volumes.inspect("v"),
        }[operation]
        with pytest.raises(RemoteProtocolError, match=fragment):
            call()


@pytest.mark.parametrize(
    ("body", "how"), [(b'{"Warnings": []}', "absent"), (b'{"Id": null, "Warnings": []}', "null")]
)
def test_a_reply_lacking_a_required_key_names_model_field_and_engine(
    tmp_path: Path, body: bytes, how: str
) -> None:
    with stub_server(tmp_path, answering(body, 201)) as host:  # type: ignore[arg-type]
        with Client(host, version="1.51", environ={}) as client:
            with pytest.raises(MissingFieldError) as caught:
                client.containers.create({"Image": "x"})
        error = caught.value
        assert isinstance(error, RemoteProtocolError)  # what a shape error has always been
        assert (error.model, error.field, error.wire, error.how) == (
            "ContainerCreateResponse",
            "id",
            "Id",
            how,
        )
        assert error.operation == "ContainerCreate (POST /containers/create)"
        assert (error.server, error.host) == ("Stub/1.0", host)
        assert f"ContainerCreateResponse.id (JSON key 'Id') is {how}" in str(error)
        assert "strict_models=False" in str(error) and host in str(error)
        # Lenient: the same reply decodes, with None where the key is missing.
        with Client(host, version="1.51", environ={}, strict_models=False) as client:
            created = client.containers.create({"Image": "x"})
        assert created.id is None and created.warnings == []


def test_a_nested_object_lacking_a_required_key_is_named(tmp_path: Path) -> None:
    body = b'[{"Id": "c", "Ports": [{"PrivatePort": 80}]}]'  # the port has no Type
    with (
        stub_server(tmp_path, answering(body)) as host,  # type: ignore[arg-type]
        Client(host, version="1.51", environ={}) as client,
    ):
        with pytest.raises(MissingFieldError, match=r"PortSummary\.type .* in the reply to "):
            client.containers.list()


def test_an_event_of_another_shape_is_a_protocol_error(tmp_path: Path) -> None:
    def answer(head: bytes) -> Iterator[bytes]:
        yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n"
        yield b"[1,2]\n"

    with stub_server(tmp_path, answer) as host, Client(host, version="1.51", environ={}) as c:
        with pytest.raises(RemoteProtocolError, match="stream item is not the shape"):
            list(c.system.events())


@pytest.mark.parametrize("read", [None, 32 * 1024])
def test_a_json_line_past_the_limit_is_refused_however_it_arrives(read: int | None) -> None:
    decoder = JSONLinesDecoder(max_line=1024 * 1024)
    line = b'{"a": "' + b"x" * (1024 * 1024) + b'"}\n'
    pieces = [line] if read is None else [line[i : i + read] for i in range(0, len(line), read)]
    with pytest.raises(RemoteProtocolError, match="longer than 1048576 bytes"):
        for piece in pieces:
            decoder.feed(piece)


def test_a_long_line_in_small_reads_costs_linear_time() -> None:
    """12 MiB in 32 KiB reads: re-joining the pending bytes on every read took seconds."""
    line = b'{"a": "' + b"x" * (12 * 1024 * 1024) + b'"}\n'
    decoder = JSONLinesDecoder()
    started = time.process_time()
    values = []
    for i in range(0, len(line), 32 * 1024):
        values += decoder.feed(line[i : i + 32 * 1024])
    assert len(values) == 1 and len(values[0]["a"]) == 12 * 1024 * 1024
    assert time.process_time() - started < 1.0


def test_a_json_depth_bomb_in_a_stream_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError, match="nested too deeply"):
        JSONLinesDecoder().feed(BOMB + b"\n")
