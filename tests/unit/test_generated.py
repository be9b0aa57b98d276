"""Generated code is up to date: the sync twin and the client namespaces (models: test_codegen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engineapi._codegen import namespaces, unasync


def test_sync_twin_is_regenerated_from_async() -> None:
    assert unasync.main(["--check"]) == 0, "engineapi/_sync is stale: run make gen"


def test_namespaces_are_regenerated_from_api() -> None:
    assert namespaces.main(["--check"]) == 0, "_namespaces.py is stale: run make gen"


def test_sync_and_async_surfaces_match() -> None:
    from engineapi import AsyncClient, Client
    from engineapi._async import _namespaces as async_ns
    from engineapi._sync import _namespaces as sync_ns

    for name in namespaces.NAMESPACES:
        cls = name.title()
        async_public = {m for m in vars(getattr(async_ns, "Async" + cls)) if not m.startswith("_")}
        sync_public = {m for m in vars(getattr(sync_ns, cls)) if not m.startswith("_")}
        assert async_public == sync_public, name
    assert {m for m in vars(AsyncClient) if not m.startswith("_")} - {"aclose"} == {
        m for m in vars(Client) if not m.startswith("_")
    } - {"close"}


def test_sync_httpx_backend_is_generated_from_the_async_one() -> None:
    """The httpx backends are one source: each async class has its sync twin, with the same
    methods (but for the async names unasync rewrites)."""
    pytest.importorskip("httpx")
    from engineapi.backends import _httpx_async, _httpx_sync, httpx

    assert unasync.FILES[Path(_httpx_async.__file__)] == Path(_httpx_sync.__file__)
    assert httpx.HttpxBackend is _httpx_sync.HttpxBackend
    async_names = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}
    async_names |= {"__aiter__": "__iter__", "handle_async_request": "handle_request"}
    classes = [
        c
        for c in vars(_httpx_async).values()
        if getattr(c, "__module__", "") == _httpx_async.__name__
    ]
    assert classes
    for cls in classes:
        if not isinstance(cls, type):
            continue
        twin = getattr(_httpx_sync, cls.__name__.replace("Async", ""))
        methods = {async_names.get(m, m) for m in vars(cls) if callable(vars(cls)[m])}
        assert methods - {"sleep"} == {m for m in vars(twin) if callable(vars(twin)[m])}, cls
