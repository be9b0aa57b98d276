"""pytest plugin: engine clients that replay a cassette, or record it against a live engine.

Registered as the ``engineapi`` entry point of ``pytest11``, so installing engineapi is enough.

Fixtures:

- ``engine_client``: an `engineapi.Client`;
- ``async_engine_client``: an `engineapi.AsyncClient` (needs pytest-asyncio);
- ``engine_session``: the `engineapi.replay.Session` behind them (mode, path, transport).

By default they replay ``<engine_cassette_dir>/<test module>/<test name>.json`` with no daemon;
with ``--engine-record`` (or ``ENGINEAPI_RECORD=1``) they run against the live engine chosen as
usual (``DOCKER_HOST``, the docker context, …, or ``--engine-host``) and write the cassette when
the test passes. A replayed test fails if a request does not match the cassette, and errors at
teardown if recorded exchanges were left unused.

The marker ``@pytest.mark.engine_cassette(name=None, *, volatile=(), secrets=(),
patterns=(), order="strict", engine=None)`` names the cassette (a path relative to the cassette
directory, without ``.json``) and sets its options. Options: ``--engine-cassette-dir`` or the ini
value ``engine_cassette_dir`` (default ``fixtures``, relative to the rootdir).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from engineapi._async.client import AsyncClient
    from engineapi._sync.client import Client
    from engineapi.replay._session import Session

__all__ = ["async_engine_client", "engine_client", "engine_session"]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("engineapi", "engineapi recorded fixtures")
    group.addoption(
        "--engine-record",
        action="store_true",
        default=False,
        help="record the engine cassettes against a live engine (also: ENGINEAPI_RECORD=1)",
    )
    group.addoption(
        "--engine-host",
        default=None,
        help="the engine to record against (default: DOCKER_HOST, the docker context, …)",
    )
    group.addoption(
        "--engine-cassette-dir",
        default=None,
        help="where the cassettes are (default: the ini value engine_cassette_dir)",
    )
    parser.addini(
        "engine_cassette_dir",
        "directory of the engine cassettes, relative to the rootdir",
        default="fixtures",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine_cassette(name=None, *, volatile=(), secrets=(), patterns=(), order='strict', "
        "engine=None): the cassette the engine_client fixtures record to or replay",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[report.when] = report


def _passed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    call = reports.get("call")
    setup = reports.get("setup")
    return call is not None and call.passed and (setup is None or setup.passed)


def cassette_dir(config: pytest.Config) -> Path:
    configured = config.getoption("--engine-cassette-dir") or config.getini("engine_cassette_dir")
    path = Path(str(configured))
    return path if path.is_absolute() else config.rootpath / path


def default_name(request: pytest.FixtureRequest) -> str:
    """``<test module>/<test name>``, parameters kept but made file-name safe."""
    module = Path(str(request.node.path)).stem
    name = _UNSAFE.sub("-", request.node.name).strip("-")
    return f"{module}/{name}"


def _session(request: pytest.FixtureRequest) -> Session:
    from engineapi.replay._session import Session, record_requested

    config = request.config
    marker = request.node.get_closest_marker("engine_cassette")
    args: tuple[Any, ...] = marker.args if marker else ()
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    name = options.pop("name", None) or (args[0] if args else None) or default_name(request)
    record = bool(config.getoption("--engine-record")) or record_requested()
    path = cassette_dir(config) / f"{name}.json"
    if record:
        options.setdefault("host", config.getoption("--engine-host"))
    return Session(path, "record" if record else "replay", **options)


@pytest.fixture
def engine_session(request: pytest.FixtureRequest) -> Session:
    """The recording or replay session of this test (see the module docstring)."""
    return _session(request)


@pytest.fixture
def engine_client(engine_session: Session, request: pytest.FixtureRequest) -> Iterator[Client]:
    """An `engineapi.Client` replaying this test's cassette, or recording it."""
    client = engine_session.client()
    try:
        yield client
    finally:
        client.close()
    engine_session.finish(ok=_passed(request))


async def _async_engine_client(
    engine_session: Session, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncClient]:
    """An `engineapi.AsyncClient` replaying this test's cassette, or recording it."""
    client = engine_session.async_client()
    try:
        yield client
    finally:
        await client.aclose()
    engine_session.finish(ok=_passed(request))


def _needs_pytest_asyncio() -> None:
    """Needs pytest-asyncio."""
    pytest.fail("the async_engine_client fixture needs pytest-asyncio", pytrace=False)


async_engine_client: Any
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixture then says what is missing
    async_engine_client = pytest.fixture(_needs_pytest_asyncio, name="async_engine_client")
else:
    async_engine_client = pytest_asyncio.fixture(_async_engine_client, name="async_engine_client")
