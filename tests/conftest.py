"""Shared test set-up: the live engines `make engines` starts, one test per engine.

A test that takes the `engine` fixture runs once on every engine listed in
``/run/engineapi/engines.json`` (Docker 20.10, Docker 28.x, Podman). If that file is missing
the tests FAIL, naming the command to run; ``ENGINEAPI_NO_ENGINES=1`` opts out and every live
test is reported as skipped with that reason.

The whole run is watched by `tests.tools.outside_reads`: a test that reads beside the repository
or in the home directory fails the session, naming the paths. ``DOCKER_CONFIG`` points at an
empty directory of the suite's own, so the tester's docker configuration never takes part.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.tools.outside_reads import OutsideReads

OUTSIDE_READS = OutsideReads.for_repository(Path(__file__).resolve().parents[1])
sys.addaudithook(OUTSIDE_READS)

# The tester's docker configuration (credentials, helpers, contexts) must not reach the suite:
# clients and docker CLI runs that take the process environment find an empty one of its own.
SUITE_DOCKER_CONFIG = tempfile.mkdtemp(prefix="engineapi-tests-docker-config-")
os.environ["DOCKER_CONFIG"] = SUITE_DOCKER_CONFIG
atexit.register(shutil.rmtree, SUITE_DOCKER_CONFIG, True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    OUTSIDE_READS.context = item.nodeid
    try:
        return (yield)
    finally:
        OUTSIDE_READS.context = ""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OUTSIDE_READS.seen:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if OUTSIDE_READS.seen:
        terminalreporter.section("paths outside the repository", sep="=", red=True, bold=True)
        terminalreporter.line(
            "the suite read beside the repository or in the home directory; a clone elsewhere "
            "would not see the same:\n" + OUTSIDE_READS.report()
        )


ENGINES_FILE = Path(os.environ.get("ENGINEAPI_ENGINES_FILE", "/run/engineapi/engines.json"))
OPT_OUT = "ENGINEAPI_NO_ENGINES"


@attrs.frozen
class Engine:
    """One live engine under test."""

    name: str
    host: str
    api_version: str
    kind: str
    tcp: str | None = None
    tls_host: str | None = None
    tls_cert_path: str | None = None

    def docker(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        """Run the reference docker CLI against this engine."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DOCKER_") or k == "DOCKER_CONFIG"
        }
        result = subprocess.run(
            ["docker", "-H", self.host, *args],
            capture_output=True,
            env=env,
            input=input,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} on {self.name} failed: {result.stderr.decode()}"
            )
        return result.stdout.decode()

    @property
    def is_podman(self) -> bool:
        return self.kind == "podman"


def _load_engines() -> list[Engine] | str:
    if os.environ.get(OPT_OUT):
        return f"{OPT_OUT}=1: live engine tests skipped on request"
    if not ENGINES_FILE.exists():
        return (
            f"no live engines: {ENGINES_FILE} is missing. Run 'make engines' (root, Debian) "
            f"or set {OPT_OUT}=1 to skip the live tests"
        )
    engines = []
    for item in json.loads(ENGINES_FILE.read_text()):
        tls = item.get("tls") or {}
        engines.append(
            Engine(
                name=item["name"],
                host=item["host"],
                api_version=item["api_version"],
                kind=item["kind"],
                tcp=item.get("tcp"),
                tls_host=tls.get("host"),
                tls_cert_path=tls.get("cert_path"),
            )
        )
    return engines


_ENGINES = _load_engines()


def live_engines() -> list[Engine]:
    return _ENGINES if isinstance(_ENGINES, list) else []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    if isinstance(_ENGINES, str):
        metafunc.parametrize("engine", [_ENGINES], ids=["no-engines"], indirect=True)
    else:
        metafunc.parametrize("engine", _ENGINES, ids=[e.name for e in _ENGINES], indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Engine:
    value: Any = request.param
    if isinstance(value, str):
        if os.environ.get(OPT_OUT):
            pytest.skip(value)
        pytest.fail(value, pytrace=False)
    return value  # type: ignore[no-any-return]


def _by_name(name: str) -> Engine:
    for candidate in live_engines():
        if candidate.name == name:
            return candidate
    if os.environ.get(OPT_OUT):
        pytest.skip(f"{OPT_OUT}=1: live engine tests skipped on request")
    pytest.fail(f"engine {name!r} is not running: run 'make engines'", pytrace=False)


@pytest.fixture
def tls_engine() -> Engine:
    """The engine that listens with TLS (Docker 20.10)."""
    for candidate in live_engines():
        if candidate.tls_host:
            return candidate
    return _by_name("docker20-tls")


@pytest.fixture
def tcp_engine() -> Engine:
    """The engine that listens on plain TCP (Docker 28.x)."""
    for candidate in live_engines():
        if candidate.tcp:
            return candidate
    return _by_name("docker28-tcp")


@pytest.fixture
def busybox_container(engine: Engine) -> Iterator[str]:
    """A running busybox container on `engine`, removed afterwards."""
    cid = engine.docker("run", "-d", "--label", "engineapi.test=1", "busybox", "sleep", "300")
    cid = cid.strip()
    try:
        yield cid
    finally:
        engine.docker("rm", "-f", cid, check=False)
