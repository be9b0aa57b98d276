"""Backend selection and the httpx/requests backends without a daemon."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engineapi import AsyncClient, Client, Timeouts
from engineapi._async.pool import AsyncConnectionPool
from engineapi._sync.pool import ConnectionPool
from engineapi.api._call import Call
from engineapi.errors import ConfigError, ConnectError

httpx = pytest.importorskip("httpx")
pytest.importorskip("requests_unixsocket")

from engineapi.backends.httpx import AsyncHttpxBackend, HttpxBackend  # noqa: E402
from engineapi.backends.requests import HijackUnsupported, RequestsBackend  # noqa: E402

SOCK = "unix:///nonexistent/engineapi.sock"


def test_default_is_the_builtin_pool() -> None:
    assert isinstance(Client(SOCK, environ={})._pool, ConnectionPool)
    assert isinstance(AsyncClient(SOCK, environ={})._pool, AsyncConnectionPool)


@pytest.mark.parametrize(
    ("name", "sync_type", "async_type"),
    [("httpx", HttpxBackend, AsyncHttpxBackend), ("builtin", ConnectionPool, AsyncConnectionPool)],
)
def test_names_pick_the_flavour(name: str, sync_type: type, async_type: type) -> None:
    assert isinstance(Client(SOCK, backend=name)._pool, sync_type)
    assert isinstance(AsyncClient(SOCK, backend=name)._pool, async_type)


def test_environment_variable_names_the_backend() -> None:
    client = Client(SOCK, environ={"ENGINEAPI_BACKEND": "requests"})
    assert isinstance(client._pool, RequestsBackend)
    # the argument wins over the variable
    client = Client(SOCK, backend="builtin", environ={"ENGINEAPI_BACKEND": "requests"})
    assert isinstance(client._pool, ConnectionPool)


def test_unknown_name_and_async_requests_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="choose one of builtin, httpx, requests") as info:
        Client(SOCK, environ={"ENGINEAPI_BACKEND": "curl"})
    assert info.value.source == "ENGINEAPI_BACKEND"
    with pytest.raises(ConfigError, match="synchronous"):
        AsyncClient(SOCK, backend="requests")


def test_an_instance_is_used_as_is() -> None:
    backend = HttpxBackend(SOCK)
    assert Client(SOCK, backend=backend)._pool is backend


def test_ssh_hosts_are_refused_clearly() -> None:
    with pytest.raises(ConfigError, match="built-in backend"):
        HttpxBackend("ssh://user@example.com")
    with pytest.raises(ConfigError, match="built-in backend"):
        RequestsBackend("ssh://user@example.com")


def test_import_engineapi_stays_lean() -> None:
    code = (
        "import sys, engineapi; from engineapi import Client;"
        "Client('unix:///none.sock');"
        "print(sorted(m for m in ('httpx', 'httpcore', 'requests', 'urllib3',"
        " 'requests_unixsocket') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _echo(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/_ping":
        return httpx.Response(200, headers={"Api-Version": "1.51"}, content=b"OK")
    body = request.read()
    return httpx.Response(
        200,
        json={
            "path": request.url.path,
            "host": request.headers["host"],
            "length": request.headers.get("content-length"),
            "chunked": request.headers.get("transfer-encoding"),
            "body": body.decode(),
        },
    )


def _echo_call(body: object, length: int | None) -> Call[object]:
    return Call(
        "Echo",
        method="PUT",
        path="/echo",
        decode=lambda r: r.json(),
        body=body,
        content_length=length,
    )  # type: ignore[arg-type]


def test_a_preconfigured_httpx_client_is_used_and_left_open() -> None:
    given = httpx.Client(transport=httpx.MockTransport(_echo), base_url="http://docker")
    with Client(SOCK, backend=HttpxBackend(client=given), version="1.51") as client:
        echoed = client.send(_echo_call(iter([b"ab", b"cd"]), 4))
        assert echoed == {
            "path": "/v1.51/echo",
            "host": "api.moby.localhost",
            "length": "4",
            "chunked": None,
            "body": "abcd",
        }
        assert client.send(_echo_call(iter([b"x"]), None))["chunked"] == "chunked"
    assert not given.is_closed


async def test_a_preconfigured_async_httpx_client() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return _echo(request)

    given = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://d")
    async with AsyncClient(SOCK, backend=AsyncHttpxBackend(client=given)) as client:
        assert await client.api_version() == "1.51"
        echoed = await client.send(_echo_call(iter([b"sync", b"-iter"]), None))
        assert echoed["body"] == "sync-iter"
    assert not given.is_closed
    await given.aclose()


def test_httpx_errors_are_translated() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    given = httpx.Client(transport=httpx.MockTransport(refuse), base_url="http://docker")
    backend = HttpxBackend(SOCK, client=given)
    with pytest.raises(ConnectError) as info:
        backend.request("GET", "/_ping", [], timeouts=Timeouts())
    assert info.value.host == SOCK


def test_requests_hijacks_through_the_builtin_engine_unless_the_session_is_yours() -> None:
    # Nothing listens on SOCK: reaching the network raises ConnectError.
    call: Call[object] = Call(
        "ContainerAttach", method="POST", path="/containers/x/attach", decode=lambda r: r
    )
    with Client(SOCK, backend="requests", version="1.41") as client:
        with pytest.raises(ConnectError) as info:  # dialled by engineapi's own transport
            client.hijack(call)
        assert info.value.host == SOCK
    import requests_unixsocket  # type: ignore[import-untyped]

    with requests_unixsocket.Session() as session:
        backend = RequestsBackend(SOCK, session=session)
        with Client(SOCK, backend=backend, version="1.41") as client:
            with pytest.raises(HijackUnsupported, match="hijack_transport="):
                client.hijack(call)  # before anything is sent: no ConnectError
    assert issubclass(HijackUnsupported, NotImplementedError)
