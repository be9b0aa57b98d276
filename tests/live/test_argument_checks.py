"""A wrong argument is refused before anything is sent: the request hook never fires."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engineapi import AsyncClient, Client, InvalidArgument, RequestInfo
from tests.conftest import Engine

BAD: list[dict[str, Any]] = [
    {"all": "yes"},
    {"limit": "5"},
    {"limit": "five"},
    {"limit": True},
    {"filters": [("status", "running")]},
    {"filters": {"status": 1}},
]


def test_nothing_is_sent(engine: Engine) -> None:
    sent: list[RequestInfo] = []
    with Client(
        engine.host, version=engine.api_version, event_hooks={"request": [sent.append]}
    ) as client:
        for kwargs in BAD:
            with pytest.raises(InvalidArgument) as info:
                client.containers.list(**kwargs)
            assert info.value.argument == next(iter(kwargs))
        assert sent == []
        client.containers.list(all=True, limit=1, filters={"status": ["running"]})
        assert [r.operation_id for r in sent] == ["ContainerList"]


def test_nothing_is_sent_async(engine: Engine) -> None:
    sent: list[RequestInfo] = []

    async def main() -> None:
        hooks = {"request": [sent.append]}
        async with AsyncClient(
            engine.host, version=engine.api_version, event_hooks=hooks
        ) as client:
            for kwargs in BAD:
                with pytest.raises(InvalidArgument):
                    await client.containers.list(**kwargs)
            assert sent == []

    asyncio.run(main())
