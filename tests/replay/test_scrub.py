"""Scrubbing: credentials never reach a cassette file.

The live test records, on every engine, a session that logs in to the local registry with its
real credentials (``POST /auth``) and pulls with them (``X-Registry-Auth``), with a user
pattern, and checks that no secret is in any file written; the committed cassettes are checked
the same way. (The local registry answers no identity tokens; their scrubbing is tested on a
made-up response.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engineapi.replay import (
    PLACEHOLDER,
    Cassette,
    Exchange,
    HijackStep,
    Request,
    Response,
    Scrubber,
)
from tests.replay.conftest import FIXTURES, open_session, run_scenario
from tests.replay.scenarios import ENGINES, SCENARIOS, SECRET_PATTERN, SECRETS


def test_registry_headers_are_replaced() -> None:
    request = Request(
        "POST",
        "/images/create",
        headers=[
            ("X-Registry-Auth", "eyJzZWNyZXQiOiJ4In0="),
            ("x-registry-config", "e30="),
            ("Authorization", "Bearer abc"),
            ("Content-Type", "application/json"),
        ],
    )
    scrubbed = Scrubber().request(request)
    assert scrubbed.headers == [
        ("X-Registry-Auth", PLACEHOLDER),
        ("x-registry-config", PLACEHOLDER),
        ("Authorization", PLACEHOLDER),
        ("Content-Type", "application/json"),
    ]


def test_auth_body_keeps_only_the_server_address() -> None:
    body = b'{"username":"me","password":"pw","email":"a@b","serveraddress":"r.example"}'
    scrubbed = Scrubber().request(Request("POST", "/auth", body=body))
    assert json.loads(scrubbed.body) == {
        "username": PLACEHOLDER,
        "password": PLACEHOLDER,
        "email": PLACEHOLDER,
        "serveraddress": "r.example",
    }


def test_identity_tokens_and_passwords_anywhere_in_json() -> None:
    response = Response(
        200,
        "OK",
        body=b'{"Status":"Login Succeeded","IdentityToken":"tok-123"}\n',
    )
    scrubbed = Scrubber().response(response)
    assert (
        scrubbed.body == b'{"Status":"Login Succeeded","IdentityToken":"\\u003cscrubbed\\u003e"}\n'
    )
    nested = Scrubber().body(b'{"a":[{"Password":"x","RegistryToken":"y","other":"z"}]}')
    assert json.loads(nested) == {
        "a": [{"Password": PLACEHOLDER, "RegistryToken": PLACEHOLDER, "other": "z"}]
    }


def test_user_patterns_everywhere_even_across_pieces() -> None:
    scrubber = Scrubber([r"tok-\d+"], secrets=["hunter2"])
    exchange = Exchange(
        Request("GET", "/x/hunter2", [("q", "tok-99")], [("X-Note", "hunter2")]),
        Response(200, "OK", chunks=[b"a tok-1", b"23 b hun", b"ter2 c"]),
        [HijackStep("client", b"pass hunter2\n"), HijackStep("daemon", b"tok-7")],
    )
    scrubbed = scrubber.exchange(exchange)
    assert scrubbed.request.path == f"/x/{PLACEHOLDER}"
    assert scrubbed.request.query == [("q", PLACEHOLDER)]
    assert scrubbed.request.headers == [("X-Note", PLACEHOLDER)]
    assert scrubbed.response is not None and scrubbed.response.chunks is not None
    assert b"".join(scrubbed.response.chunks) == f"a {PLACEHOLDER} b {PLACEHOLDER} c".encode()
    assert scrubbed.hijack is not None
    assert [s.data for s in scrubbed.hijack] == [
        f"pass {PLACEHOLDER}\n".encode(),
        PLACEHOLDER.encode(),
    ]


def secrets_in(directory: Path, *, pattern: bool = False) -> list[str]:
    """The secrets found in any file under `directory`, as ``file: secret``."""
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        text = path.read_text(errors="replace")
        for secret in SECRETS:
            if secret in text:
                found.append(f"{path}: {secret}")
        if pattern and re.search(SECRET_PATTERN, text):
            found.append(f"{path}: the user pattern")
    return found


def test_no_committed_cassette_holds_a_secret() -> None:
    assert list(FIXTURES.rglob("scrub.json")), "the scrub cassettes are missing"
    assert secrets_in(FIXTURES) == []


@pytest.mark.parametrize("engine_name", ENGINES)
def test_recording_with_real_credentials_writes_no_secret(engine_name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS["scrub"]
    run_scenario(open_session(engine_name, scenario, record=True, directory=tmp_path), scenario)
    assert secrets_in(tmp_path, pattern=True) == []
    path = tmp_path / engine_name / "scrub.json"
    text = path.read_text()
    assert text.count(PLACEHOLDER) >= 3  # the header, the login's username and password
    assert SCENARIOS["scrub"].secrets == SECRETS
    # …and the scrubbed cassette still replays, the client sending the real credentials.
    cassette = Cassette.load(path)
    assert [e.request.path for e in cassette.exchanges][-2:] == ["/auth", "/images/create"]
    run_scenario(open_session(engine_name, scenario, record=False, directory=tmp_path), scenario)


# -- leaks the fuzzer found --------------------------------------------------------------------


def _streamed(pieces: list[bytes]) -> bytes:
    response = Response(200, "OK", [], chunks=pieces)
    scrubbed = Scrubber().response(response)
    assert scrubbed.chunks is not None
    return b"".join(scrubbed.chunks)


def test_two_json_lines_in_one_piece_are_both_scrubbed() -> None:
    out = _streamed([b'{"password":"p1"}\n{"password":"p2"}\n'])
    # (written as the daemon writes JSON: "<" as \u003c)
    assert b"p1" not in out and b"p2" not in out and out.count(b"scrubbed") == 2


def test_a_json_object_split_across_pieces_is_scrubbed() -> None:
    out = _streamed([b'{"user":"u","pass', b'word":"hunter2"}\n'])
    assert b"hunter2" not in out and b"scrubbed" in out


def test_a_body_with_leading_whitespace_is_scrubbed() -> None:
    request = Request("POST", "/x", body=b' \n {"identitytoken": "tok-123"}')
    assert b"tok-123" not in Scrubber().request(request).body


def test_secret_payloads_and_secret_keys_are_scrubbed() -> None:
    created = Request("POST", "/secrets/create", body=b'{"Name":"s","Data":"c2VjcmV0"}')
    body = Scrubber().request(created).body
    assert b"c2VjcmV0" not in body and b'"Name":"s"' in body
    updated = Request("POST", "/secrets/abc/update", body=b'{"Data":"c2VjcmV0"}')
    assert b"c2VjcmV0" not in Scrubber().request(updated).body
    helper = Request("POST", "/x", body=b'{"ServerURL":"r","Username":"u","Secret":"s3cr3t"}')
    assert b"s3cr3t" not in Scrubber().request(helper).body
    # Elsewhere Data is not a secret (a volume's driver data, an image's graph driver data).
    other = Request("POST", "/volumes/create", body=b'{"Data":"kept"}')
    assert b"kept" in Scrubber().request(other).body


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc"])
def test_a_literal_secret_is_scrubbed_in_its_base64_forms(prefix: bytes) -> None:
    import base64

    secret = "correct horse battery"
    scrubber = Scrubber(secrets=[secret])
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        blob = encode(prefix + b'{"password":"' + secret.encode() + b'"}').decode()
        request = Request("GET", "/x", headers=[("X-Note", blob)])
        shown = Scrubber(secrets=[secret]).request(request).headers[0][1]
        assert blob not in shown and PLACEHOLDER in shown, (prefix, shown)
        assert scrubber.text(f"say {secret}!") == f"say {PLACEHOLDER}!"
