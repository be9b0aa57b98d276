"""Generated code is up to date: the sync twin and the client namespaces (models: test_codegen)."""

from __future__ import annotations

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
