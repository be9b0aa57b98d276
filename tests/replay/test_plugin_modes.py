"""The pytest plugin as vcrpy / pytest-recording users expect it: record modes, the first
mismatch as the failure, negotiation pings, the cassette directory, the re-record hint.

Replayed behaviours run on recorded data only; the ones whose point is recording use the live
docker28 engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engineapi.replay import Cassette, Exchange, Meta, Request, Response
from tests.replay.conftest import live_host

pytest_plugins = ["pytester"]

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
HEADERS = [("Api-Version", "1.51"), ("Server", "Docker/28.5.1 (linux)")]
NOWHERE = "--engine-host=unix:///nonexistent/nowhere.sock"
VERSION_BODY = b'{"Version":"28.5.1","ApiVersion":"1.51"}\n'


def ping() -> Exchange:
    return Exchange(Request("HEAD", "/_ping"), Response(200, "OK", HEADERS))


def get(path: str, body: bytes) -> Exchange:
    return Exchange(Request("GET", path), Response(200, "OK", HEADERS, body=body))


def cassette(*exchanges: Exchange) -> Cassette:
    meta = Meta(engine="docker28", api_version="1.51", host="unix:///var/run/docker.sock")
    return Cassette(meta, list(exchanges))


def version_cassette() -> Cassette:
    return cassette(ping(), get("/version", VERSION_BODY))


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("ENGINEAPI_RECORD", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    pytester.makeini(INI)
    return pytester


VERSION_TEST = """
import pytest

@pytest.mark.engine_cassette("v")
def test_version(engine_client):
    assert engine_client.system.version().api_version == "1.51"
"""


# -- record modes ----------------------------------------------------------------------------------


def test_mode_none_replays_and_a_missing_cassette_fails_with_the_hint(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_user=VERSION_TEST)
    result = project.runpytest("-p", "no:cacheprovider", "--engine-record-mode=none", NOWHERE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*CassetteError: no cassette at *fixtures/v.json*",
            "*engineapi cassette fixtures/v.json (missing); re-record it against a live engine: "
            "cd * && pytest --engine-record-mode=once test_user.py::test_version",
        ]
    )
    version_cassette().save(project.path / "fixtures" / "v.json")
    project.runpytest("-p", "no:cacheprovider", NOWHERE).assert_outcomes(passed=1)


def test_mode_once_replays_an_existing_cassette_offline(project: pytest.Pytester) -> None:
    saved = version_cassette().save(project.path / "fixtures" / "v.json")
    before = saved.read_text()
    project.makepyfile(test_user=VERSION_TEST)
    result = project.runpytest("-p", "no:cacheprovider", "--engine-record-mode=once", NOWHERE)
    result.assert_outcomes(passed=1)
    assert saved.read_text() == before


def test_mode_once_records_a_missing_cassette_live(project: pytest.Pytester) -> None:
    host = live_host("docker28")
    project.makepyfile(test_user=VERSION_TEST)
    args = ["-p", "no:cacheprovider", "--engine-record-mode=once"]
    project.runpytest(*args, f"--engine-host={host}").assert_outcomes(passed=1)
    written = json.loads((project.path / "fixtures" / "v.json").read_text())
    assert [e["request"]["path"] for e in written["exchanges"]] == ["/_ping", "/version"]
    assert written["meta"]["host"] == host
    # …and from now on it replays, with no engine.
    project.runpytest(*args, NOWHERE).assert_outcomes(passed=1)


def test_mode_new_episodes_offline_when_nothing_is_new(project: pytest.Pytester) -> None:
    saved = version_cassette().save(project.path / "fixtures" / "v.json")
    before = saved.read_text()
    project.makepyfile(test_user=VERSION_TEST)
    result = project.runpytest(
        "-p", "no:cacheprovider", "--engine-record-mode=new_episodes", NOWHERE
    )
    result.assert_outcomes(passed=1)
    assert saved.read_text() == before  # nothing new, nothing unused: not rewritten


def test_mode_new_episodes_replays_known_and_records_new(project: pytest.Pytester) -> None:
    host = live_host("docker28")
    # A recorded answer no live engine gives: it must come back replayed, not re-recorded.
    known = b'{"Version":"0.0.0-recorded","ApiVersion":"1.51"}\n'
    cassette(ping(), get("/version", known)).save(project.path / "fixtures" / "v.json")
    project.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.engine_cassette("v")
        def test_version_then_info(engine_client):
            assert engine_client.system.version().version == "0.0.0-recorded"
            assert engine_client.system.info().containers is not None
        """
    )
    args = ["-p", "no:cacheprovider"]
    result = project.runpytest(*args, "--engine-record-mode=new_episodes", f"--engine-host={host}")
    result.assert_outcomes(passed=1)
    written = json.loads((project.path / "fixtures" / "v.json").read_text())
    assert [(e["request"]["method"], e["request"]["path"]) for e in written["exchanges"]] == [
        ("HEAD", "/_ping"),
        ("GET", "/version"),
        ("GET", "/info"),
    ]
    assert written["exchanges"][1]["response"]["body"]["json"]["Version"] == "0.0.0-recorded"
    assert "ServerVersion" in json.dumps(written["exchanges"][2]["response"])
    project.runpytest(*args, "--engine-record-mode=none", NOWHERE).assert_outcomes(passed=1)


def test_mode_all_records_everything_again(project: pytest.Pytester) -> None:
    host = live_host("docker28")
    stale = b'{"Version":"0.0.0-stale","ApiVersion":"1.51"}\n'
    cassette(ping(), get("/version", stale)).save(project.path / "fixtures" / "v.json")
    project.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.engine_cassette("v")
        def test_version(engine_client):
            assert engine_client.system.version().version != "0.0.0-stale"
        """
    )
    args = ["-p", "no:cacheprovider"]
    project.runpytest(*args, "--engine-record-mode=all", f"--engine-host={host}").assert_outcomes(
        passed=1
    )
    written = (project.path / "fixtures" / "v.json").read_text()
    assert "0.0.0-stale" not in written
    project.runpytest(*args, NOWHERE).assert_outcomes(passed=1)


def test_record_mode_from_the_ini_file_and_a_bad_one(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    version_cassette().save(project.path / "fixtures" / "v.json")
    project.makepyfile(test_user=VERSION_TEST)
    project.makeini(INI + "engine_record_mode = once\n")
    project.runpytest("-p", "no:cacheprovider", NOWHERE).assert_outcomes(passed=1)
    project.makeini(INI + "engine_record_mode = sometimes\n")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))  # this checkout
    result = project.runpytest_subprocess("-p", "no:cacheprovider", NOWHERE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*engine_record_mode = 'sometimes': choose one of none, once*"])


# -- failures ------------------------------------------------------------------------------------


def test_the_first_mismatch_is_the_failure_and_later_ones_are_notes(
    project: pytest.Pytester,
) -> None:
    version_cassette().save(project.path / "fixtures" / "v.json")
    project.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.engine_cassette("v")
        def test_cleanup_also_mismatches(engine_client):
            try:
                engine_client.system.info()          # the cassette has GET /version here
            finally:
                engine_client.containers.list()      # cleanup: a second mismatch
        """
    )
    result = project.runpytest("-p", "no:cacheprovider", NOWHERE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*ReplayMismatch: request 2 does not match *v.json*",
            "E*expected: GET /version",
            "E*actual:   GET /info",
            "E*later mismatch (after the first): request 3 does not match *",
            "*engineapi cassette fixtures/v.json (replayed in record mode 'none'); re-record it "
            "against a live engine: cd * && pytest --engine-record-mode=all "
            "test_user.py::test_cleanup_also_mismatches",
        ]
    )
    out = result.stdout.str()  # the cleanup's request appears in the note only
    assert out.index("later mismatch") < out.index("actual:   GET /containers/json")
    # the cleanup's mismatch is only a note, never the headline
    # (pytest's short summary repeats it, untruncated when $CI is set)
    raised = [line for line in result.stdout.lines if "ReplayMismatch: request" in line]
    assert raised and all("request 2" in line for line in raised)
    assert [line for line in raised if line.startswith("E ")] == raised[:1]


def test_a_caught_mismatch_still_fails_the_test_at_teardown(project: pytest.Pytester) -> None:
    version_cassette().save(project.path / "fixtures" / "v.json")
    project.makepyfile(
        test_user="""
        import pytest
        from engineapi.replay import ReplayMismatch

        @pytest.mark.engine_cassette("v")
        def test_swallows(engine_client):
            for _ in range(2):
                try:
                    engine_client.system.info()
                except ReplayMismatch:
                    pass
        """
    )
    result = project.runpytest("-p", "no:cacheprovider", NOWHERE)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*2 mismatch(es) during the replay; the first: request 2 does not match*",
            "*later mismatch (after the first): request 3*",
            "*engineapi cassette fixtures/v.json*--engine-record-mode=all*",
        ]
    )


def test_negotiation_pings_are_never_unused(project: pytest.Pytester) -> None:
    # Recorded by two clients (two negotiations), replayed by one; and a client with the
    # version pinned that does not negotiate at all.
    cassette(
        ping(), get("/version", VERSION_BODY), ping(), get("/info", b'{"Containers":3}\n')
    ).save(project.path / "fixtures" / "two.json")
    version_cassette().save(project.path / "fixtures" / "v.json")
    project.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.engine_cassette("two")
        def test_one_client(engine_client):
            assert engine_client.system.version().version == "28.5.1"
            assert engine_client.system.info().containers == 3

        @pytest.mark.engine_cassette("v")
        def test_pinned(engine_session):
            with engine_session.client(version="1.51") as client:
                assert client.system.version().version == "28.5.1"
            engine_session.finish()
        """
    )
    project.runpytest("-p", "no:cacheprovider", NOWHERE).assert_outcomes(passed=2)


def test_an_explicit_ping_left_unused_still_counts(project: pytest.Pytester) -> None:
    cassette(ping(), get("/version", VERSION_BODY), get("/_ping", b"OK")).save(
        project.path / "fixtures" / "v.json"
    )
    project.makepyfile(test_user=VERSION_TEST)
    result = project.runpytest("-p", "no:cacheprovider", NOWHERE)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*1 recorded exchange(s) of*never requested*", "*3. GET /_ping*"])


# -- where the cassettes are -----------------------------------------------------------------------


def test_the_ini_directory_is_relative_to_the_ini_file_not_the_cwd(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makeini(INI + "engine_cassette_dir = tests/cassettes\n")
    version_cassette().save(project.path / "tests" / "cassettes" / "v.json")
    tests = project.path / "tests"
    (tests / "test_user.py").write_text(VERSION_TEST)
    project.runpytest("-p", "no:cacheprovider", NOWHERE).assert_outcomes(passed=1)
    monkeypatch.chdir(tests)  # cd tests && pytest: the same cassettes
    project.runpytest("-p", "no:cacheprovider", NOWHERE).assert_outcomes(passed=1)
    project.runpytest("-p", "no:cacheprovider", NOWHERE, "test_user.py").assert_outcomes(passed=1)


def test_the_option_is_relative_to_the_invocation_directory(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    version_cassette().save(project.path / "tests" / "recorded" / "v.json")
    tests = project.path / "tests"
    (tests / "test_user.py").write_text(VERSION_TEST)
    monkeypatch.chdir(tests)
    result = project.runpytest("-p", "no:cacheprovider", NOWHERE, "--engine-cassette-dir=recorded")
    result.assert_outcomes(passed=1)
    absolute = f"--engine-cassette-dir={Path(tests, 'recorded')}"
    monkeypatch.chdir(project.path)
    project.runpytest("-p", "no:cacheprovider", NOWHERE, absolute).assert_outcomes(passed=1)
