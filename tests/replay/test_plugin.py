"""The pytest plugin, run the way users run it: in a test project of its own (pytester)."""

from __future__ import annotations

import json

import pytest

from engineapi.replay import Cassette, Exchange, Meta, Request, Response
from tests.replay.conftest import live_host
from tests.replay.scenarios import API_VERSIONS, ENGINES

pytest_plugins = ["pytester"]

HEADERS = [("Api-Version", "1.51"), ("Server", "Docker/28.5.1 (linux)")]


def ping_and_version() -> Cassette:
    return Cassette(
        Meta(engine="docker28", api_version="1.51", host="unix:///var/run/docker.sock"),
        [
            Exchange(Request("HEAD", "/_ping"), Response(200, "OK", HEADERS)),
            Exchange(
                Request("GET", "/version"),
                Response(200, "OK", HEADERS, body=b'{"Version":"28.5.1","ApiVersion":"1.51"}\n'),
            ),
        ],
    )


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("ENGINEAPI_RECORD", raising=False)  # `make record` must not leak in
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    return pytester


def test_replays_the_cassette_named_by_the_marker(project: pytest.Pytester) -> None:
    ping_and_version().save(project.path / "fixtures" / "docker28" / "version.json")
    project.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.engine_cassette("docker28/version")
        def test_version(engine_client):
            assert engine_client.system.version().version == "28.5.1"

        @pytest.mark.engine_cassette("docker28/version")
        async def test_version_async(async_engine_client):
            version = await async_engine_client.system.version()
            assert version.api_version == await async_engine_client.api_version() == "1.51"
        """
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_default_name_is_module_and_test(project: pytest.Pytester) -> None:
    ping_and_version().save(project.path / "fixtures" / "test_user" / "test_version-a.json")
    project.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.parametrize("x", ["a"])
        def test_version(engine_client, x):
            assert engine_client.system.version().version == "28.5.1"
        """
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_mismatch_fails_with_a_diff_and_unused_exchanges_error(
    project: pytest.Pytester,
) -> None:
    ping_and_version().save(project.path / "fixtures" / "c.json")
    project.makepyfile(
        test_user="""
        import pytest

        @pytest.mark.engine_cassette("c")
        def test_other_request(engine_client):
            engine_client.system.info()

        @pytest.mark.engine_cassette("c")
        def test_leaves_some_unused(engine_client):
            engine_client.api_version()
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ReplayMismatch: request 2 does not match*",
            "*expected: GET /version*",
            "*actual:   GET /info*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_some_unused*",
            "*1 recorded exchange(s) of*c.json were never requested*",
            "*2. GET /version*",
        ]
    )


def test_a_missing_cassette_says_how_to_record_it(project: pytest.Pytester) -> None:
    project.makepyfile(test_user="def test_x(engine_client):\n    engine_client.system.ping()\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no cassette at *test_user/test_x.json*--engine-record*"])


def test_cassette_directory_option(project: pytest.Pytester) -> None:
    ping_and_version().save(project.path / "cassettes" / "test_user" / "test_version.json")
    project.makepyfile(
        test_user="def test_version(engine_client):\n"
        "    assert engine_client.system.version().version == '28.5.1'\n"
    )
    result = project.runpytest("-p", "no:cacheprovider", "--engine-cassette-dir=cassettes")
    result.assert_outcomes(passed=1)


#: The example test of the README, verbatim.
README_EXAMPLE = """
import pytest


def test_engine_answers(engine_client):  # cassette: fixtures/test_engine/test_engine_answers.json
    assert engine_client.system.ping().api_version
    assert engine_client.system.info().server_version


@pytest.mark.engine_cassette("engine/exec")  # cassette: fixtures/engine/exec.json
def test_exec_in_a_container(engine_client):
    created = engine_client.containers.create(
        {"Image": "busybox", "Cmd": ["sleep", "60"]}, name="engineapi-readme-example"
    )
    try:
        engine_client.containers.start(created.id)
        result = engine_client.exec.run(created.id, ["echo", "hello"])
        assert (result.exit_code, result.stdout) == (0, b"hello\\n")
    finally:
        engine_client.containers.delete(created.id, force=True)


@pytest.mark.asyncio
async def test_version_async(async_engine_client):
    version = await async_engine_client.system.version()
    assert version.api_version == await async_engine_client.api_version()
"""


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_readme_example_records_live_then_replays_offline(
    engine_name: str, project: pytest.Pytester
) -> None:
    host = live_host(engine_name)
    project.makepyfile(test_engine=README_EXAMPLE)
    recorded = project.runpytest(
        "-p", "no:cacheprovider", "--engine-record", f"--engine-host={host}"
    )
    recorded.assert_outcomes(passed=3)
    fixtures = project.path / "fixtures"
    written = sorted(str(p.relative_to(fixtures)) for p in fixtures.rglob("*.json"))
    assert written == [
        "engine/exec.json",
        "test_engine/test_engine_answers.json",
        "test_engine/test_version_async.json",
    ]
    document = json.loads((fixtures / "engine" / "exec.json").read_text())
    assert document["meta"]["api_version"] == API_VERSIONS[engine_name]
    assert document["meta"]["host"] == host
    # Offline: nothing listens at the recorded host any more, as far as the tests can tell.
    replayed = project.runpytest("-p", "no:cacheprovider", "--engine-host=unix:///nowhere.sock")
    replayed.assert_outcomes(passed=3)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_failing_test_writes_no_cassette(engine_name: str, project: pytest.Pytester) -> None:
    host = live_host(engine_name)
    project.makepyfile(
        test_user="""
        def test_fails(engine_client):
            engine_client.system.ping()
            assert False, "a failing test writes no cassette"
        """
    )
    project.runpytest("-p", "no:cacheprovider", "--engine-record", f"--engine-host={host}")
    assert not (project.path / "fixtures").exists()
