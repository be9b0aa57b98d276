"""`engineapi.otel`: one CLIENT span per operation, read back with the OpenTelemetry SDK's
in-memory exporter, against the live engines over a Unix socket, TCP and TLS (SSH: in
test_ssh.py), sync and async — calls, streams (ended when closed or exhausted, not by a
timed-out wait), hijacked sessions and errors."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import engineapi
from engineapi import AsyncClient, Client, DeadlineExceeded, WaitTimeout
from engineapi.config import TLSConfig
from engineapi.streams.stdcopy import STDOUT
from tests.conftest import Engine

REASON = "the OpenTelemetry SDK is not installed: `make venv` installs it (the dev extra)"
pytest.importorskip("opentelemetry.sdk", reason=REASON)

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

import engineapi.otel  # noqa: E402

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@contextlib.contextmanager
def instrumented() -> Iterator[InMemorySpanExporter]:
    """engineapi traced into `EXPORTER`, emptied before and after."""
    EXPORTER.clear()
    engineapi.otel.instrument(PROVIDER)
    try:
        yield EXPORTER
    finally:
        engineapi.otel.uninstrument()
        EXPORTER.clear()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with instrumented() as exporter:
        yield exporter


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def only(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = named(exporter, name)
    assert len(found) == 1, [span.name for span in exporter.get_finished_spans()]
    return found[0]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def check_ok(span: ReadableSpan, method: str, api_version: str | None) -> dict[str, Any]:
    assert span.kind is trace.SpanKind.CLIENT
    assert span.status.status_code is trace.StatusCode.UNSET
    found = attributes(span)
    assert found["http.request.method"] == method
    assert found["http.response.status_code"] == 200
    assert found.get("engineapi.api_version") == api_version
    assert "error.type" not in found
    return found


def failed(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    """The one span of `name` that failed (on API < 1.42 a logs call inspects first)."""
    found = [s for s in named(exporter, name) if s.status.status_code is trace.StatusCode.ERROR]
    assert len(found) == 1, [span.name for span in exporter.get_finished_spans()]
    return found[0]


def check_not_found(span: ReadableSpan) -> None:
    assert span.status.status_code is trace.StatusCode.ERROR
    found = attributes(span)
    assert found["http.response.status_code"] == 404
    assert found["error.type"] == "404"
    (event,) = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"].endswith("ContainerNotFound")


def check_unix(found: dict[str, Any], engine: Engine) -> None:
    assert found["network.transport"] == "unix"
    assert found["network.peer.address"] == engine.host.removeprefix("unix://")
    assert found["engineapi.host"] == engine.host
    assert "url.full" not in found  # no HTTP URL names a Unix socket


def test_sync_calls_errors_and_a_stream(engine: Engine, spans: InMemorySpanExporter) -> None:
    version = engine.api_version
    with Client(engine.host, version=version) as client:
        outer = PROVIDER.get_tracer("test")
        with outer.start_as_current_span("caller") as caller:
            client.containers.list()
        with pytest.raises(engineapi.ContainerNotFound):
            client.containers.inspect(f"engineapi-none-{uuid.uuid4().hex[:8]}")
        events = client.system.events(filters={"container": ["engineapi-never"]})
        with pytest.raises(WaitTimeout):
            events.next(timeout=0.2)
        assert not named(spans, "SystemEvents")  # a wait that timed out ends nothing
        events.close()
    listed = only(spans, "ContainerList")
    check_unix(check_ok(listed, "GET", version), engine)
    # A child of the span current where the call was made.
    assert listed.parent is not None
    assert listed.parent.span_id == caller.get_span_context().span_id
    check_not_found(failed(spans, "ContainerInspect"))
    check_ok(only(spans, "SystemEvents"), "GET", version)


@pytest.fixture
def greeter(engine: Engine) -> Iterator[str]:
    """A container that says hello, then stays quiet (Podman sends a followed log's head only
    with its first output)."""
    cid = engine.docker(
        "run", "-d", "--label", "engineapi.test=1", "busybox", "sh", "-c", "echo hi; sleep 300"
    ).strip()
    try:
        yield cid
    finally:
        engine.docker("rm", "-f", cid, check=False)


async def test_async_calls_errors_and_a_stream(
    engine: Engine, spans: InMemorySpanExporter, greeter: str
) -> None:
    busybox_container = greeter
    async with AsyncClient(engine.host) as client:
        await client.containers.list()
        with pytest.raises(engineapi.ContainerNotFound):
            await client.containers.inspect(f"engineapi-none-{uuid.uuid4().hex[:8]}")
        async with client.containers.logs(busybox_container, follow=True) as logs:
            assert (await logs.next(timeout=30))[1] == b"hi\n"
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(logs.next(), 0.2)  # a cancelled read: the span goes on
            assert not named(spans, "ContainerLogs")
        # A stream run to its end ends its span without being closed by the caller.
        frames = [frame async for frame in client.containers.logs(busybox_container)]
        assert frames == [(STDOUT, b"hi\n")]
    version = engine.api_version
    check_unix(check_ok(only(spans, "ContainerList"), "GET", version), engine)
    check_not_found(failed(spans, "ContainerInspect"))
    logs_spans = named(spans, "ContainerLogs")
    assert len(logs_spans) == 2
    for span in logs_spans:
        check_ok(span, "GET", version)
    ping = named(spans, "SystemPingHead") or named(spans, "SystemPing")
    assert ping and "engineapi.api_version" not in attributes(ping[0])


def test_attach_span_ends_when_the_session_closes(
    engine: Engine, spans: InMemorySpanExporter, busybox_container: str
) -> None:
    with Client(engine.host) as client:
        attached = client.containers.attach(busybox_container, stdout=True)
        assert not named(spans, "ContainerAttach")
        attached.close()
    span = only(spans, "ContainerAttach")
    assert span.status.status_code is trace.StatusCode.UNSET
    assert attributes(span)["http.request.method"] == "POST"
    assert attributes(span)["http.response.status_code"] in (101, 200)


async def test_async_exec_span_ends_when_its_session_closes(
    engine: Engine, spans: InMemorySpanExporter, busybox_container: str
) -> None:
    async with AsyncClient(engine.host) as client:
        result = await client.exec.run(busybox_container, ["echo", "traced"])
        assert result.stdout == b"traced\n"
    started = only(spans, "ExecStart")  # the hijacked session, closed at the output's end
    assert started.status.status_code is trace.StatusCode.UNSET
    assert attributes(started)["http.response.status_code"] in (101, 200)
    assert only(spans, "ContainerExec").status.status_code is trace.StatusCode.UNSET


def test_deadline_and_connect_errors_are_recorded(
    engine: Engine, spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    with Client(engine.host) as client:
        with pytest.raises(DeadlineExceeded):
            for _ in client.system.events(filters={"container": ["engineapi-never"]}, deadline=0.5):
                pass
    span = only(spans, "SystemEvents")
    assert span.status.status_code is trace.StatusCode.ERROR
    assert attributes(span)["error.type"] == "engineapi.errors.DeadlineExceeded"
    assert [event.name for event in span.events] == ["exception"]
    missing = tmp_path / "missing.sock"
    with Client(f"unix://{missing}", version="1.41", environ={}) as client:
        with pytest.raises(engineapi.ConnectError):
            client.containers.list()
    span = only(spans, "ContainerList")
    assert span.status.status_code is trace.StatusCode.ERROR
    found = attributes(span)
    assert found["error.type"] == "engineapi.errors.ConnectError"
    assert found["network.peer.address"] == str(missing)
    assert "http.response.status_code" not in found


def test_uninstrumented_clients_make_no_spans(engine: Engine) -> None:
    EXPORTER.clear()
    assert not engineapi.otel.is_instrumented()
    with Client(engine.host) as client:
        client.system.ping()
    assert EXPORTER.get_finished_spans() == ()


def _check_tcp(span: ReadableSpan, scheme: str, address: str, port: int) -> None:
    found = attributes(span)
    assert found["server.address"] == address and found["server.port"] == port
    assert found["url.full"].startswith(f"{scheme}://{address}:{port}/v")
    assert found["url.full"].endswith("/containers/json")  # the path, never a query
    assert "network.peer.address" not in found


def test_tcp_spans(tcp_engine: Engine, spans: InMemorySpanExporter) -> None:
    assert tcp_engine.tcp
    _, _, netloc = tcp_engine.tcp.partition("://")
    address, _, port = netloc.rpartition(":")
    with Client(tcp_engine.tcp, tls=False) as client:
        client.containers.list(filters={"label": ["engineapi.test=1"]})

    async def main() -> None:
        async with AsyncClient(tcp_engine.tcp, tls=False) as client:
            await client.containers.list(all=True)

    asyncio.run(main())
    for span in named(spans, "ContainerList"):
        _check_tcp(span, "http", address, int(port))
    assert len(named(spans, "ContainerList")) == 2


def test_tls_spans(tls_engine: Engine, spans: InMemorySpanExporter) -> None:
    assert tls_engine.tls_host and tls_engine.tls_cert_path
    tls = TLSConfig.from_cert_path(tls_engine.tls_cert_path, verify=True)
    _, _, netloc = tls_engine.tls_host.partition("://")
    address, _, port = netloc.rpartition(":")
    with Client(tls_engine.tls_host, tls=tls) as client:
        client.containers.list()
        with pytest.raises(engineapi.ContainerNotFound):
            client.containers.inspect(f"engineapi-none-{uuid.uuid4().hex[:8]}")

    async def main() -> None:
        async with AsyncClient(tls_engine.tls_host, tls=tls) as client:
            await client.containers.list()

    asyncio.run(main())
    for span in named(spans, "ContainerList"):
        _check_tcp(span, "https", address, int(port))
    assert len(named(spans, "ContainerList")) == 2
    check_not_found(failed(spans, "ContainerInspect"))


def test_pull_progress_spans(engine: Engine, spans: InMemorySpanExporter) -> None:
    """A pull's progress stream: its span ends with the stream, an error reported inside it
    (Podman answers 200 and reports a failed pull in the stream) or as a status (Docker) is
    recorded the same way."""
    registry = "127.0.0.1:15000"  # the open test registry (tests/engines/engines.sh)
    missing = f"{registry}/engineapi/otel-none-{uuid.uuid4().hex[:8]}:latest"
    with Client(engine.host) as client:
        with pytest.raises(engineapi.ImagePullError):
            client.images.pull(missing).wait()
        if not engine.is_podman:  # Podman refuses this plain-HTTP registry without a flag
            reference = f"{registry}/engineapi/otel:{uuid.uuid4().hex[:12]}"
            engine.docker("tag", "busybox", reference)
            try:
                engine.docker("push", reference)
                engine.docker("rmi", reference)
                progress = client.images.pull(reference)
                assert progress.next(timeout=60)  # the first message: not the end yet
                assert not [s for s in named(spans, "ImageCreate") if s.status.is_ok]
                assert progress.wait()
            finally:
                engine.docker("rmi", reference, check=False)
    pulls = named(spans, "ImageCreate")
    failed_pull = failed(spans, "ImageCreate")
    found = attributes(failed_pull)
    assert found["error.type"] in (
        str(found["http.response.status_code"]),
        "engineapi.errors.ImagePullError",
    )
    assert [event.name for event in failed_pull.events] == ["exception"]
    if not engine.is_podman:
        assert len(pulls) == 2
        check_ok(next(s for s in pulls if s is not failed_pull), "POST", engine.api_version)
