"""engineapi.testing: MockBackend answers both clients with a handler of the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

import engineapi
from engineapi import AsyncClient, Client, Conflict, NotFound, StreamError
from engineapi.testing import (
    MockBackend,
    MockRequest,
    MockResponse,
    ScriptedDuplex,
    UnhandledRequest,
    json_lines,
    match_route,
    stdcopy_frames,
)

HOST = "unix:///nonexistent/mock.sock"
CONTAINERS = [
    {"Id": "c1", "Names": ["/web"], "Image": "nginx", "State": "running"},
    {"Id": "c2", "Names": ["/db"], "Image": "postgres", "State": "exited"},
]
MULTIPLEXED = {"Content-Type": "application/vnd.docker.multiplexed-stream"}


def daemon(request: MockRequest) -> MockResponse | None:
    """A small daemon, as a test would write one."""
    op = request.operation_id
    if op == "ContainerList":
        wanted = request.param("all") == "1"
        return MockResponse(json=[c for c in CONTAINERS if wanted or c["State"] == "running"])
    if op == "ContainerInspect":
        return MockResponse.error(404, f"No such container: {request.path_params['id']}")
    if op == "ContainerLogs":
        frames = stdcopy_frames([(1, b"listening\n"), (2, "warning: é\n"), (1, b"ready\n")])
        return MockResponse(headers=MULTIPLEXED, stream=[frames[:5], frames[5:20], frames[20:]])
    if op == "SystemEvents":
        return MockResponse(
            stream=json_lines(
                {"Type": "container", "Action": action, "Actor": {"ID": "c1"}, "time": t}
                for t, action in enumerate(["create", "start", "die"])
            )
        )
    if op == "ImageCreate":
        return MockResponse(
            stream=json_lines(
                [
                    {"status": "Pulling from library/busybox", "id": "latest"},
                    {"status": "Downloading", "id": "abc", "progressDetail": {"current": 1}},
                    {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"},
                ]
            )
        )
    if op == "ContainerDelete":
        return MockResponse.error(409, "container is running")
    return None


def test_list_containers_with_their_query() -> None:
    mock = MockBackend(daemon)
    with Client(HOST, backend=mock) as client:
        running = client.containers.list()
        everything = client.containers.list(all=True, filters={"label": ["a=b", "c"]})
        assert [c.names for c in running] == [["/web"]]
        assert [c.id for c in everything] == ["c1", "c2"]
        assert client.api_version() == "1.51"
    ping, first, second = mock.requests
    assert (ping.method, ping.path, ping.operation_id) == ("HEAD", "/_ping", "SystemPingHead")
    assert (first.operation_id, first.api_version, first.query) == ("ContainerList", "1.51", [])
    assert second.param("all") == "1"
    assert second.query_dict["filters"] == ['{"label":["a=b","c"]}']
    assert second.headers["user-agent"].startswith("engineapi/")
    assert mock.closed


def test_a_404_is_not_found_and_a_409_conflict() -> None:
    with Client(HOST, backend=MockBackend(daemon)) as client:
        with pytest.raises(NotFound, match="No such container: nope") as info:
            client.containers.inspect("nope")
        assert (info.value.status, info.value.path) == (404, "/containers/nope/json")
        with pytest.raises(Conflict, match="container is running"):
            client.containers.delete("c1")


def test_logs_from_stdcopy_frames_cut_anywhere() -> None:
    with Client(HOST, backend=MockBackend(daemon)) as client:
        assert list(client.containers.logs("c1")) == [
            (1, b"listening\n"),
            (2, "warning: é\n".encode()),
            (1, b"ready\n"),
        ]


def test_events_stream_as_typed_messages() -> None:
    with Client(HOST, backend=MockBackend(daemon)) as client:
        events = list(client.system.events(since=0, until=10))
    assert [(e.action, e.actor.id if e.actor else None) for e in events] == [
        ("create", "c1"),
        ("start", "c1"),
        ("die", "c1"),
    ]


def test_pull_progress_with_an_error_inside_the_stream() -> None:
    seen = []
    with Client(HOST, backend=MockBackend(daemon)) as client:
        with pytest.raises(StreamError, match="unexpected EOF"):
            for progress in client.images.pull("busybox"):
                seen.append(progress.status)
    assert seen == ["Pulling from library/busybox", "Downloading"]


def test_a_stream_is_read_lazily_as_the_client_reads() -> None:
    produced: list[int] = []

    def pieces() -> Iterator[bytes]:
        for n in range(3):
            produced.append(n)
            yield b'{"Type":"container","Action":"a%d"}\n' % n

    def handler(request: MockRequest) -> MockResponse | None:
        return None if request.is_ping else MockResponse(stream=pieces())

    with Client(HOST, backend=MockBackend(handler)) as client:
        events = iter(client.system.events())
        assert next(events).action == "a0"
        assert produced == [0]
        events.close()  # type: ignore[attr-defined]


def test_the_handler_may_answer_the_ping_itself() -> None:
    def old_daemon(request: MockRequest) -> MockResponse | None:
        if request.is_ping:
            return MockResponse(headers={"Api-Version": "1.43", "Server": "Docker/24.0.7"})
        return MockResponse(json={"Version": "24.0.7", "ApiVersion": "1.43"})

    mock = MockBackend(old_daemon)
    with Client(HOST, backend=mock) as client:
        assert client.system.version().version == "24.0.7"
        assert client.api_version() == "1.43"
        assert client.last_ping is not None and client.last_ping.server == "Docker/24.0.7"
    assert mock.requests[-1].target == "/v1.43/version"


def test_a_catch_all_answer_to_the_ping_still_negotiates() -> None:
    mock = MockBackend(lambda request: MockResponse(json=[]), api_version="1.45")
    with Client(HOST, backend=mock) as client:
        assert client.containers.list() == []
        assert client.api_version() == "1.45"


def test_an_error_answer_to_the_ping_is_the_daemon_failing() -> None:
    mock = MockBackend(lambda request: MockResponse.error(500, "daemon is starting"))
    with Client(HOST, backend=mock) as client:
        with pytest.raises(engineapi.ServerError, match="daemon is starting"):
            client.containers.list()


def test_the_automatic_ping_announces_the_version_asked() -> None:
    mock = MockBackend(daemon, api_version="1.44")
    with Client(HOST, backend=mock) as client:
        assert client.api_version() == "1.44"
        assert client.system.ping().api_version == "1.44"  # GET /_ping, answered too


def test_an_unhandled_request_names_itself() -> None:
    with Client(HOST, backend=MockBackend(daemon)) as client:
        with pytest.raises(UnhandledRequest, match=r"GET /info \(operation SystemInfo\)"):
            client.system.info()


def test_a_wrong_answer_type_is_a_type_error() -> None:
    with Client(HOST, backend=MockBackend(lambda r: {"Id": "x"})) as client:  # type: ignore[arg-type, return-value]
        with pytest.raises(TypeError, match="return a MockResponse or None"):
            client.containers.list()


def test_an_async_handler_is_for_async_client_only() -> None:
    async def handler(request: MockRequest) -> MockResponse:
        return MockResponse(json=[])

    with Client(HOST, backend=MockBackend(handler)) as client:
        with pytest.raises(TypeError, match="serves AsyncClient only"):
            client.containers.list()


def test_request_bodies_reach_the_handler() -> None:
    bodies = []

    def handler(request: MockRequest) -> MockResponse | None:
        if request.operation_id == "ContainerCreate":
            bodies.append(request.json())
            assert request.param("name") == "web"
            return MockResponse(201, json={"Id": "new", "Warnings": []})
        return None

    with Client(HOST, backend=MockBackend(handler)) as client:
        created = client.containers.create({"Image": "busybox", "Cmd": ["true"]}, name="web")
    assert created.id == "new"
    assert bodies == [{"Image": "busybox", "Cmd": ["true"]}]


def test_exec_run_over_a_scripted_hijack() -> None:
    def handler(request: MockRequest) -> MockResponse | None:
        op = request.operation_id
        if op == "ContainerExec":
            return MockResponse(201, json={"Id": "e1"})
        if op == "ExecStart":
            assert request.headers["upgrade"] == "tcp"
            return MockResponse.upgraded([stdcopy_frames([(1, b"hello\n"), (2, b"oops\n")])])
        if op == "ExecInspect":
            return MockResponse(json={"ID": "e1", "Running": False, "ExitCode": 3})
        return None

    with Client(HOST, backend=MockBackend(handler)) as client:
        result = client.exec.run("c1", ["sh", "-c", "echo hello; echo oops >&2; exit 3"])
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"hello\n", b"oops\n")


def test_attach_with_stdin_echoed_by_the_script() -> None:
    script = ScriptedDuplex(respond=lambda data: [stdcopy_frames([(1, data.upper())])])

    def handler(request: MockRequest) -> MockResponse | None:
        if request.operation_id == "ContainerAttach":
            return MockResponse(101, MULTIPLEXED, duplex=script)
        return None

    with Client(HOST, backend=MockBackend(handler)) as client:
        with client.containers.attach("c1", stdin=True) as attached:
            attached.write(b"hi\n")
            attached.close_write()
            assert attached.read_split() == (b"HI\n", b"")
    assert (bytes(script.written), script.write_closed) == (b"hi\n", True)


def test_routes_match_the_most_specific_template() -> None:
    assert match_route("GET", "/images/json") == ("ImageList", {})
    assert match_route("GET", "/images/registry:5000/team/app/json") == (
        "ImageInspect",
        {"name": "registry:5000/team/app"},
    )
    assert match_route("GET", "/containers/c1/attach/ws") == (
        "ContainerAttachWebsocket",
        {"id": "c1"},
    )
    assert match_route("POST", "/containers/create") == ("ContainerCreate", {})
    assert match_route("DELETE", "/containers/c1") == ("ContainerDelete", {"id": "c1"})
    assert match_route("GET", "/nothing/here") == (None, {})


def test_response_options_are_checked() -> None:
    with pytest.raises(ValueError, match="at most one"):
        MockResponse(json={}, content=b"x")
    assert MockResponse.error(500, "x").status == 500
    assert stdcopy_frames([(1, "a")]) == b"\x01\x00\x00\x00\x00\x00\x00\x01a"
    assert json_lines([{"a": 1}, [2]]) == [b'{"a": 1}\n', b"[2]\n"]


# -- AsyncClient ---------------------------------------------------------------------------------


def test_async_client_with_the_same_sync_handler() -> None:
    async def main() -> None:
        async with AsyncClient(HOST, backend=MockBackend(daemon)) as client:
            containers, events = await asyncio.gather(
                client.containers.list(all=True), _actions(client)
            )
            assert [c.id for c in containers] == ["c1", "c2"]
            assert events == ["create", "start", "die"]
            with pytest.raises(NotFound):
                await client.containers.inspect("nope")
            logs = [frame async for frame in client.containers.logs("c1")]
            assert logs[0] == (1, b"listening\n")
            with pytest.raises(StreamError, match="unexpected EOF"):
                async for _ in client.images.pull("busybox"):
                    pass

    asyncio.run(main())


async def _actions(client: AsyncClient) -> list[str]:
    async with client.system.events() as events:
        return [event.action or "" async for event in events]


def test_async_handler_and_async_stream() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for action in ("start", "stop"):
            await asyncio.sleep(0)
            yield b'{"Type":"container","Action":"%s"}\n' % action.encode()

    async def handler(request: MockRequest) -> MockResponse | None:
        await asyncio.sleep(0)
        if request.operation_id == "SystemEvents":
            return MockResponse(stream=pieces())
        if request.operation_id == "ContainerExec":
            return MockResponse(201, json={"Id": "e1"})
        if request.operation_id == "ExecStart":
            return MockResponse.upgraded([stdcopy_frames([(1, b"async\n")])])
        if request.operation_id == "ExecInspect":
            return MockResponse(json={"ID": "e1", "ExitCode": 0})
        return None

    async def main() -> None:
        mock = MockBackend(handler)
        async with AsyncClient(HOST, backend=mock) as client:
            assert await _actions(client) == ["start", "stop"]
            result = await client.exec.run("c1", ["echo", "async"])
            assert (result.exit_code, result.stdout) == (0, b"async\n")
        assert mock.closed

    asyncio.run(main())


def test_the_testing_guide_mock_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The testing guide's MockBackend example, run offline here (its live run is test_guides)."""
    import re
    from pathlib import Path

    guide = Path(__file__).resolve().parents[2] / "engineapi/docs/pages/guides/testing.md"
    text = guide.read_text()
    section = text[text.index("## Mocks: the daemon as a function") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    exec(compile(match.group(1), str(guide), "exec"), {"__name__": "guide_example"})
    out = capsys.readouterr().out
    assert "No such container: nope" in out and "unexpected EOF" in out
    assert "['HEAD /_ping', 'GET /containers/json'," in out
    assert "['start']" in out  # the async part ran too
