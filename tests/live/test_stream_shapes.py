"""One shape for every stream (attach and exec start go straight into ``async with``), and an
`AsyncClient` reused across ``asyncio.run()`` calls."""

from __future__ import annotations

import asyncio
import os

from engineapi import AsyncClient, ResponseInfo
from tests.conftest import Engine


async def _cat(client: AsyncClient, form: str) -> tuple[bytes, int | None]:
    created = await client.containers.create(
        {"Image": "busybox", "Cmd": ["cat"], "OpenStdin": True, "StdinOnce": True}
    )
    cid = created.id
    try:
        attach = client.containers.attach(cid, stdin=True)
        if form == "await":  # the older form keeps working
            attached = await attach
        elif form == "open":
            attached = await attach.open()
        else:
            attached = attach
        async with attached as stream:  # the hijack happens here at the latest
            await client.containers.start(cid)
            await stream.write(f"via {form}\n".encode())
            await stream.close_write()
            out, _ = await stream.read_split()
        return out, (await client.containers.wait(cid)).status_code
    finally:
        await client.containers.delete(cid, force=True)


def test_attach_forms(engine: Engine) -> None:
    async def main() -> None:
        async with AsyncClient(engine.host) as client:
            for form in ("async with", "await", "open"):
                assert await _cat(client, form) == (f"via {form}\n".encode(), 0)

    asyncio.run(main())


def test_exec_start_without_await(engine: Engine, busybox_container: str) -> None:
    async def main() -> bytes:
        async with AsyncClient(engine.host) as client:
            created = await client.exec.create(
                busybox_container,
                {"Cmd": ["echo", "from exec"], "AttachStdout": True, "AttachStderr": True},
            )
            async with client.exec.start(created.id) as started:
                out, _ = await started.read_split()
            # Never entered, never awaited: nothing sent, closing is a no-op.
            await client.exec.start(created.id).aclose()
            return out

    assert asyncio.run(main()) == b"from exec\n"


def test_client_reused_across_event_loops(engine: Engine) -> None:
    seen: list[ResponseInfo] = []
    client = AsyncClient(engine.host, event_hooks={"response": [seen.append]})

    async def use() -> int:
        await client.system.ping()
        count = len(await client.containers.list(all=True))
        async for _ in client.system.events(since=0, until=1):
            pass
        return count

    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        seen.clear()
        assert asyncio.run(use()) >= 0
        # Each loop starts on a fresh connection (those of the ended loop were dropped),
        # then reuses it.
        assert seen[0].reused_connection is False
        assert seen[1].reused_connection is True
    asyncio.run(client.aclose())
    assert len(os.listdir("/proc/self/fd")) <= fds  # none left open
