"""The cassette format: byte-exact bodies in readable forms, a stable file, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engineapi.replay import (
    Cassette,
    CassetteError,
    Exchange,
    HijackStep,
    Meta,
    Request,
    Response,
)
from engineapi.replay._cassette import decode_body, encode_body, split_target
from tests.replay.conftest import FIXTURES

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize(
    ("data", "form"),
    [
        (b'{"Id":"abc","Warnings":[]}\n', {"json": {"Id": "abc", "Warnings": []}}),
        (b'{"Image":"busybox"}', {"json": {"Image": "busybox"}, "newline": False}),
        (b'{"a":"\\u003cb\\u003e \\u0026"}\n', {"json": {"a": "<b> &"}}),
        (b"OK", "OK"),
        (b'{"a": 1}\n', '{"a": 1}\n'),  # not compact: kept as text, byte for byte
        (b'{"a":1e5}\n', '{"a":1e5}\n'),  # would come back as 100000.0: text
        (
            b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n\x02\x00\x00\x00\x00\x00\x00\x04err\n",
            {"frames": [{"stdout": "hi\n"}, {"stderr": "err\n"}]},
        ),
        (b"\x00" * 20, {"base64": ["AAAAAAAAAAAAAAAAAAAAAAAAAAA="]}),
        (b"\xff\xfe", {"base64": ["//4="]}),
    ],
)
def test_body_forms(data: bytes, form: object) -> None:
    assert encode_body(data) == form
    assert decode_body(form) == data


@given(JSON_VALUES, st.booleans())
def test_json_bodies_round_trip_exactly(value: object, newline: bool) -> None:
    data = json.dumps(value, separators=(",", ":")).encode() + (b"\n" if newline else b"")
    stored = encode_body(data)
    assert decode_body(json.loads(json.dumps(stored))) == data


@given(st.binary())
def test_any_bytes_round_trip(data: bytes) -> None:
    stored = encode_body(data)
    assert decode_body(json.loads(json.dumps(stored))) == data


def test_long_binary_is_split_in_lines() -> None:
    stored = encode_body(bytes(range(256)) * 4)
    assert isinstance(stored, dict)
    assert all(len(line) <= 76 for line in stored["base64"]) and len(stored["base64"]) > 10


def test_version_prefix_is_removed_and_query_decoded() -> None:
    assert split_target("/v1.51/containers/json?all=1&filters=%7B%22a%22%3A1%7D") == (
        "/containers/json",
        [("all", "1"), ("filters", '{"a":1}')],
        "1.51",
    )
    assert split_target("/_ping") == ("/_ping", [], None)


def sample() -> Cassette:
    return Cassette(
        Meta(engine="docker28", api_version="1.51", host="unix:///x.sock"),
        [
            Exchange(
                Request("GET", "/events", [("since", "1"), ("filters", '{"a":["b"]}')]),
                Response(
                    200,
                    "OK",
                    [("Content-Type", "application/json")],
                    chunks=[b'{"Action":"create"}\n', b'{"Action":"start"}\n'],
                    complete=False,
                ),
            ),
            Exchange(
                Request(
                    "POST",
                    "/containers/x/attach",
                    [("stream", "1"), ("stream", "2")],
                    [("Upgrade", "tcp")],
                ),
                Response(101, "UPGRADED", [("Upgrade", "tcp")]),
                [
                    HijackStep("client", b"stdin\n"),
                    HijackStep("client", close_write=True),
                    HijackStep("daemon", b"\x01\x00\x00\x00\x00\x00\x00\x06stdin\n"),
                    HijackStep("daemon", eof=True),
                ],
            ),
            Exchange(Request("POST", "/containers/x/stop"), None),
            Exchange(
                Request("GET", "/containers/x/export"),
                Response(200, "OK", [], body=b"\0" * 1024, until_close=True),
            ),
        ],
        volatile=["GET /info response.body"],
    )


def test_file_round_trip_is_stable(tmp_path: Path) -> None:
    cassette = sample()
    path = cassette.save(tmp_path / "sub" / "c.json")
    loaded = Cassette.load(path)
    assert loaded.exchanges == cassette.exchanges
    assert loaded.meta == cassette.meta and loaded.volatile == cassette.volatile
    assert loaded.dumps() == path.read_text() == cassette.dumps()
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    document = json.loads(path.read_text())
    assert list(document) == ["engineapi_cassette", "meta", "volatile", "exchanges"]
    attach = document["exchanges"][1]
    assert attach["request"]["query"] == {"stream": ["1", "2"]}
    assert attach["hijack"][2] == {"from": "daemon", "data": {"frames": [{"stdout": "stdin\n"}]}}
    assert document["exchanges"][2]["response"] is None


def test_committed_fixtures_load_and_dump_unchanged() -> None:
    paths = sorted(FIXTURES.rglob("*.json"))
    assert paths, "no cassettes under fixtures/"
    for path in paths:
        assert Cassette.load(path).dumps() == path.read_text(), path


@pytest.mark.parametrize(
    ("text", "message"),
    [("not json", "not JSON"), ('{"engineapi_cassette": 99}', "not an engineapi cassette")],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CassetteError, match=message):
        Cassette.load(path)


def test_a_missing_cassette_says_how_to_record_it(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="ENGINEAPI_RECORD=1"):
        Cassette.load(tmp_path / "missing.json")
