"""Logging, event hooks and scoped timeouts, against the live engines (unix, TCP, TLS)."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from typing import Any

import pytest

from engineapi import (
    AsyncClient,
    Client,
    NotFound,
    RequestInfo,
    ResponseInfo,
    TimeoutError,
    Timeouts,
)
from engineapi.config import TLSConfig
from tests.conftest import Engine

SECRET = "s3cret-label-value"


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "engineapi"]


def test_one_debug_record_per_request(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="engineapi")
    with Client(engine.host) as client:
        client.system.ping()
        client.containers.list(all=True, filters={"label": [f"engineapi.secret={SECRET}"]})
        with pytest.raises(NotFound):
            client.containers.inspect("engineapi-no-such")
        with client.system.events(since=time.time() - 3600, until=time.time()) as events:
            for _ in events:
                pass
    records = _records(caplog)
    by_operation = {r.engineapi_operation: r for r in records}
    # Negotiation (HEAD /_ping) and the four calls.
    assert {"SystemPingHead", "SystemPing", "ContainerList", "ContainerInspect"} <= set(
        by_operation
    ), sorted(by_operation)
    assert "SystemEvents" in by_operation
    listing = by_operation["ContainerList"]
    assert listing.engineapi_method == "GET"  # type: ignore[attr-defined]
    assert listing.engineapi_path == f"/v{engine.api_version}/containers/json"  # type: ignore[attr-defined]
    assert listing.engineapi_status == 200  # type: ignore[attr-defined]
    assert listing.engineapi_bytes_received >= 2  # type: ignore[attr-defined]
    assert listing.engineapi_bytes_sent == 0  # type: ignore[attr-defined]
    assert listing.engineapi_reused_connection is True  # type: ignore[attr-defined]
    assert listing.engineapi_host == engine.host  # type: ignore[attr-defined]
    assert 0 < listing.engineapi_duration < 30  # type: ignore[attr-defined]
    assert by_operation["ContainerInspect"].engineapi_status == 404  # type: ignore[attr-defined]
    assert by_operation["SystemEvents"].engineapi_bytes_received is None  # type: ignore[attr-defined]
    assert records[0].engineapi_reused_connection is False  # type: ignore[attr-defined]
    for record in records:
        text = record.getMessage() + repr(vars(record))
        assert SECRET not in text  # never a query string
        assert record.levelno == logging.DEBUG


def test_no_record_when_debug_is_off(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="engineapi")
    with Client(engine.host) as client:
        client.system.ping()
    assert _records(caplog) == []


def _hooked_calls(client: Client) -> None:
    client.system.ping()
    client.system.ping()
    client.containers.list()
    with pytest.raises(NotFound):
        client.containers.inspect("engineapi-no-such")


def _check_hooked(seen: list[Any], api_version: str, host: str) -> None:
    requests = [i for i in seen if isinstance(i, RequestInfo)]
    responses = [i for i in seen if isinstance(i, ResponseInfo)]
    assert len(requests) == len(responses) >= 5
    assert [type(i) for i in seen[:2]] == [RequestInfo, ResponseInfo]
    ops = [r.operation_id for r in requests if r.operation_id != "SystemPingHead"]  # negotiation
    assert ops[-4:] == ["SystemPing", "SystemPing", "ContainerList", "ContainerInspect"]
    assert responses[-1].status == 404 and responses[-2].status == 200
    assert responses[-1].request.path == f"/v{api_version}/containers/engineapi-no-such/json"
    assert all(r.host == host for r in requests)
    assert responses[-2].reused_connection is True


def test_hooks_see_every_request_on_unix(engine: Engine) -> None:
    seen: list[Any] = []
    hooks = {"request": [seen.append], "response": [seen.append]}
    with Client(engine.host, event_hooks=hooks) as client:
        _hooked_calls(client)
    _check_hooked(seen, engine.api_version, engine.host)


def test_hooks_on_tcp_and_tls(tcp_engine: Engine, tls_engine: Engine) -> None:
    assert tcp_engine.tcp and tls_engine.tls_host and tls_engine.tls_cert_path
    for host, tls in (
        (tcp_engine.tcp, None),
        (tls_engine.tls_host, TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)),
    ):
        seen: list[Any] = []
        hooks = {"request": [seen.append], "response": [seen.append]}
        with Client(host, tls=tls, event_hooks=hooks) as client:
            _hooked_calls(client)
            api_version = client.api_version()
        _check_hooked(seen, api_version, host)


def test_a_hook_that_raises_fails_the_call(engine: Engine) -> None:
    class Refused(Exception):
        pass

    def refuse(info: RequestInfo) -> None:
        if info.operation_id == "ContainerDelete":
            raise Refused(info.path)

    with Client(engine.host, event_hooks={"request": [refuse]}) as client:
        with pytest.raises(Refused, match="/containers/anything"):
            client.containers.delete("anything")
        assert client.system.ping().api_version  # nothing else is affected


def test_bad_hooks_are_refused_at_once() -> None:
    with pytest.raises(TypeError, match="'request' and 'response'"):
        Client("unix:///nonexistent.sock", event_hooks={"requests": []})
    with pytest.raises(TypeError, match="list of callables"):
        Client("unix:///nonexistent.sock", event_hooks={"request": print})  # type: ignore[dict-item]


async def test_async_hooks_may_be_coroutines(engine: Engine) -> None:
    seen: list[Any] = []

    async def on_response(info: ResponseInfo) -> None:
        await asyncio.sleep(0)
        seen.append(info)

    hooks = {"request": [seen.append], "response": [on_response]}
    async with AsyncClient(engine.host, event_hooks=hooks) as client:
        await client.system.ping()
        await client.system.ping()
        await client.containers.list()
        with pytest.raises(NotFound):
            await client.containers.inspect("engineapi-no-such")
    _check_hooked(seen, engine.api_version, engine.host)


def test_a_coroutine_hook_on_a_blocking_client_is_an_error(engine: Engine) -> None:
    async def hook(info: RequestInfo) -> None:
        pass

    with Client(engine.host, event_hooks={"request": [hook]}) as client:
        with pytest.raises(TypeError, match="coroutine function"):
            client.system.ping()


# -- scoped timeouts ------------------------------------------------------------------------------


def test_scoped_read_timeout_bounds_a_silent_stream(engine: Engine) -> None:
    with Client(engine.host) as client:
        assert client.timeouts.read is None
        start = time.monotonic()
        with client.timeouts(read=0.5) as scoped:
            assert scoped.read == 0.5 and client.timeouts.read == 0.5
            with pytest.raises(TimeoutError):
                for _ in client.system.events(filters={"container": ["engineapi-never"]}):
                    pass
        assert 0.4 < time.monotonic() - start < 10
        assert client.timeouts.read is None  # the override ended with the block
        assert client.system.ping().api_version


async def test_scoped_timeouts_belong_to_their_task(engine: Engine) -> None:
    async with AsyncClient(engine.host) as client:

        async def silent_for(read: float | None) -> str:
            with client.timeouts(read=read):
                try:
                    async with asyncio.timeout(1.5):
                        async for _ in client.system.events(
                            filters={"container": ["engineapi-never"]}
                        ):
                            pass
                except TimeoutError:
                    return "engineapi timeout"
                except builtins.TimeoutError:
                    return "still waiting"
            return "ended"

        short, unbounded = await asyncio.gather(silent_for(0.3), silent_for(None))
        assert (short, unbounded) == ("engineapi timeout", "still waiting")
        assert client.timeouts.read is None


def test_timeouts_can_still_be_replaced_whole(engine: Engine) -> None:
    with Client(engine.host) as client:
        client.timeouts = Timeouts(connect=3, response=7, read=None)
        assert (client.timeouts.connect, client.timeouts.response) == (3, 7)
        with client.timeouts(Timeouts(connect=1, response=2)):
            assert client.timeouts.response == 2
        assert client.timeouts.response == 7
