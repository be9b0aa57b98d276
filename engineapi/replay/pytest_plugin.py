"""pytest plugin: engine clients that replay a cassette, or record it against a live engine.

Registered as the ``engineapi`` entry point of ``pytest11``, so installing engineapi is enough.

Fixtures:

- ``engine_client``: an `engineapi.Client`;
- ``async_engine_client``: an `engineapi.AsyncClient` (needs pytest-asyncio);
- ``engine_session``: the `engineapi.replay.Session` behind them (mode, path, transport).

By default they replay ``<cassette dir>/<test module>/<test name>.json`` with no daemon. The
record mode, ``--engine-record-mode`` (or the ini value ``engine_record_mode``), says when to
reach a live engine, as in vcrpy / pytest-recording:

- ``none`` (the default): replay only; a missing cassette fails the test;
- ``once``: record if the cassette is missing, else replay it;
- ``new_episodes``: replay the requests the cassette has, record the others against the live
  engine and rewrite the cassette (this run's exchanges in order, unused ones dropped);
- ``all``: record everything again (``--engine-record`` and ``ENGINEAPI_RECORD=1`` mean this).

Recording runs against the engine chosen as usual (``DOCKER_HOST``, the docker context, …, or
``--engine-host``) and writes the cassette only when the test passes. A replayed test fails with
the first request that does not match the cassette — later mismatches (say in a ``finally:``
cleanup) are notes of that failure — and errors at teardown if recorded exchanges were left
unused (the client's own negotiation pings never count). A failure names the cassette and the
command that re-records it.

The marker ``@pytest.mark.engine_cassette(name=None, *, volatile=(), secrets=(),
patterns=(), order="strict", engine=None)`` names the cassette (a path relative to the cassette
directory, without ``.json``) and sets its options.

The cassette directory: ``--engine-cassette-dir`` relative to the directory pytest was started
in; else the ini value ``engine_cassette_dir`` (default ``fixtures``) relative to the directory
of the ini file, or to the rootdir when there is no ini file — so running pytest from a
sub-directory (``cd tests && pytest``) finds the same cassettes. An absolute path is used as is.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from engineapi._async.client import AsyncClient
    from engineapi._sync.client import Client
    from engineapi.replay._match import Player
    from engineapi.replay._session import Session

__all__ = [
    "RECORD_MODES",
    "async_engine_client",
    "cassette_dir",
    "engine_client",
    "engine_session",
    "record_mode",
]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


#: The record modes, as vcrpy and pytest-recording name them.
RECORD_MODES = ("none", "once", "new_episodes", "all")
_SESSION = pytest.StashKey["Session"]()
_CASSETTE = pytest.StashKey[tuple[Path, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("engineapi", "engineapi recorded fixtures")
    group.addoption(
        "--engine-record",
        action="store_true",
        default=False,
        help="record the engine cassettes against a live engine: --engine-record-mode=all "
        "(also: ENGINEAPI_RECORD=1)",
    )
    group.addoption(
        "--engine-record-mode",
        choices=RECORD_MODES,
        default=None,
        help="none: replay only (default); once: record missing cassettes; new_episodes: "
        "replay known requests, record new ones; all: record everything again",
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
        "directory of the engine cassettes, relative to the ini file's directory",
        default="fixtures",
    )
    parser.addini(
        "engine_record_mode",
        "the default --engine-record-mode: none, once, new_episodes or all",
        default="none",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine_cassette(name=None, *, volatile=(), secrets=(), patterns=(), order='strict', "
        "engine=None): the cassette the engine_client fixtures record to or replay",
    )
    record_mode(config)  # a bad ini value is a usage error now, not in every test


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    if report.failed:
        hint = _hint(item)
        longrepr = report.longrepr
        add_section = getattr(longrepr, "addsection", None)
        if hint is not None and callable(add_section):
            add_section("engineapi", hint)
        elif hint is not None and isinstance(longrepr, str):
            report.longrepr = f"{longrepr}\n{hint}"


def _passed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    call = reports.get("call")
    setup = reports.get("setup")
    return call is not None and call.passed and (setup is None or setup.passed)


def cassette_dir(config: pytest.Config) -> Path:
    """Where the cassettes are: ``--engine-cassette-dir`` relative to the invocation
    directory, else ``engine_cassette_dir`` relative to the ini file's directory (the
    rootdir when there is no ini file) — never to the current directory."""
    option = config.getoption("--engine-cassette-dir")
    if option:
        base = config.invocation_params.dir
        path = Path(str(option))
    else:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        path = Path(str(config.getini("engine_cassette_dir")))
    return path if path.is_absolute() else base / path


def record_mode(config: pytest.Config) -> str:
    """The record mode: ``--engine-record-mode``; ``all`` with ``--engine-record`` or
    ``ENGINEAPI_RECORD=1``; else the ini value ``engine_record_mode`` (``none``)."""
    from engineapi.replay._session import record_requested

    mode = config.getoption("--engine-record-mode")
    if mode:
        return str(mode)
    if config.getoption("--engine-record") or record_requested():
        return "all"
    mode = str(config.getini("engine_record_mode")).strip() or "none"
    if mode not in RECORD_MODES:
        raise pytest.UsageError(
            f"engine_record_mode = {mode!r}: choose one of {', '.join(RECORD_MODES)}"
        )
    return mode


def default_name(request: pytest.FixtureRequest) -> str:
    """``<test module>/<test name>``, parameters kept but made file-name safe."""
    module = Path(str(request.node.path)).stem
    name = _UNSAFE.sub("-", request.node.name).strip("-")
    return f"{module}/{name}"


def _session(request: pytest.FixtureRequest) -> Session:
    from engineapi.replay._session import Session

    config = request.config
    marker = request.node.get_closest_marker("engine_cassette")
    args: tuple[Any, ...] = marker.args if marker else ()
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    name = options.pop("name", None) or (args[0] if args else None) or default_name(request)
    path = cassette_dir(config) / f"{name}.json"
    mode = record_mode(config)
    request.node.stash[_CASSETTE] = (path, mode)
    session_mode = {"none": "replay", "all": "record"}.get(mode)
    if session_mode is None:  # once, new_episodes: what the cassette's existence decides
        exists = path.is_file()
        session_mode = "record" if not exists else "replay" if mode == "once" else mode
    if session_mode != "replay":
        options.setdefault("host", config.getoption("--engine-host"))
    else:
        options.pop("engine", None)
    session = Session(path, session_mode, **options)
    request.node.stash[_SESSION] = session
    return session


def _player(item: pytest.Item) -> Player | None:
    session = item.stash.get(_SESSION, None)
    return getattr(session.transport, "player", None) if session is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """The first mismatch is the failure: a later one (a ``finally:`` cleanup replaying
    requests the cassette does not have) or what the code under test made of the first
    becomes a note of it rather than the failure shown."""
    try:
        return (yield)
    except BaseException as exc:
        player = _player(item)
        if player is None or not player.mismatches:
            raise
        first, *later = player.mismatches
        for other in later:
            first.add_note(f"later mismatch (after the first): {other}")
        if exc is first:
            raise
        if exc not in later:
            first.add_note(f"after it, the test raised {type(exc).__name__}: {exc}")
        raise first from None


def _hint(item: pytest.Item) -> str | None:
    """One line: the cassette and the command that re-records it."""
    found = item.stash.get(_CASSETTE, None)
    if found is None:
        return None
    path, mode = found
    rootdir = item.config.rootpath
    try:
        shown = str(path.relative_to(rootdir))
    except ValueError:
        shown = str(path)
    missing = not path.is_file()
    again = "once" if missing else "all"
    state = "missing" if missing else f"replayed in record mode {mode!r}"
    return (
        f"engineapi cassette {shown} ({state}); re-record it against a live engine: "
        f"cd {shlex.quote(str(rootdir))} && pytest --engine-record-mode={again} "
        f"{shlex.quote(item.nodeid)}"
    )


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
