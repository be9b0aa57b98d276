"""Containers and exec on every live engine: lifecycle, logs, stats, archives, attach, exec."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client, ConfigError, Conflict, DaemonError, NotFound
from engineapi.models import ContainerCreateRequest, ContainerUpdateRequest, HostConfig
from engineapi.streams.stdcopy import STDERR, STDOUT
from tests.conftest import Engine


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    with Client(engine.host) as c:
        yield c


@pytest.fixture
def make_container(client: Client) -> Iterator[object]:
    created: list[str] = []

    def make(cmd: list[str], *, tty: bool = False, stdin: bool = False, start: bool = True) -> str:
        config = ContainerCreateRequest(
            image="busybox",
            cmd=cmd,
            tty=tty,
            open_stdin=stdin,
            attach_stdin=stdin,
            stdin_once=stdin,
            labels={"engineapi.test": "1"},
        )
        cid = client.containers.create(config).id
        assert cid
        created.append(cid)
        if start:
            client.containers.start(cid)
        return cid

    yield make
    for cid in created:
        try:
            client.containers.delete(cid, force=True)
        except NotFound:
            pass


def wait_for_status(client: Client, cid: str, status: str) -> bool:
    """The daemon may report the old state for a moment after pause/unpause returns."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if client.containers.inspect(cid).state.status == status:
            return True
        time.sleep(0.05)
    return False


def test_lifecycle(client: Client, make_container, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"], start=False)
    assert client.containers.inspect(cid).state.status == "created"
    client.containers.start(cid)
    client.containers.start(cid)  # already started: not an error (304)
    inspect = client.containers.inspect(cid, size=True)
    assert inspect.state.running is True and "busybox" in (inspect.config.image or "")
    top = client.containers.top(cid)
    assert top.processes and any("sleep" in " ".join(p) for p in top.processes)
    client.containers.pause(cid)
    assert client.containers.inspect(cid).state.status == "paused"
    client.containers.unpause(cid)
    assert wait_for_status(client, cid, "running")
    new_name = f"engineapi-renamed-{cid[:8]}"
    client.containers.rename(cid, name=new_name)
    assert client.containers.inspect(cid).name == f"/{new_name}"
    if engine.is_podman:  # Podman 4.3's compat API has no /containers/{id}/update
        with pytest.raises(NotFound):
            client.containers.update(cid, ContainerUpdateRequest(cpu_shares=512))
    else:
        client.containers.update(cid, ContainerUpdateRequest(cpu_shares=512))
        assert client.containers.inspect(cid).host_config.cpu_shares == 512
    client.containers.restart(cid, timeout=1)
    assert client.containers.inspect(cid).state.running is True
    client.containers.kill(cid, signal="SIGKILL")
    assert client.containers.wait(cid).status_code == 137
    client.containers.stop(cid)  # already stopped: not an error (304)
    other = make_container(["true"], start=False)
    with pytest.raises(Conflict):
        client.containers.rename(other, name=new_name)  # the name is taken
    client.containers.delete(cid)
    with pytest.raises(NotFound) as info:
        client.containers.inspect(cid)
    assert cid[:12] in info.value.message or "no such" in info.value.message.lower()


def test_wait_returns_the_exit_code(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "sleep 0.5; exit 7"])
    assert client.containers.wait(cid).status_code == 7


def test_stop_with_signal_and_timeout(client: Client, make_container, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"])
    start = time.monotonic()
    if client.api_version() >= "1.42":
        client.containers.stop(cid, signal="SIGKILL", timeout=30)
        assert time.monotonic() - start < 10  # SIGKILL at once, no 30 s grace
    else:
        client.containers.stop(cid, timeout=1)
    assert client.containers.inspect(cid).state.running is False


def test_logs_demultiplexed(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "echo out1; echo err1 >&2; echo out2"])
    client.containers.wait(cid)
    frames = list(client.containers.logs(cid))
    assert (STDOUT, b"out1\n") in frames and (STDERR, b"err1\n") in frames
    out, err = client.containers.logs(cid).read_split()
    assert out == b"out1\nout2\n" and err == b"err1\n"
    assert client.containers.logs(cid, stderr=False).read() == b"out1\nout2\n"
    assert client.containers.logs(cid, stdout=False).read() == b"err1\n"
    # tail counts lines of both streams together (their order across pipes is not fixed)
    last = client.containers.logs(cid, tail=1).read()
    assert last in (b"out2\n", b"err1\n")
    assert len(client.containers.logs(cid, tail="all").read().splitlines()) == 3
    stamped = client.containers.logs(cid, timestamps=True, stderr=False).read().splitlines()
    assert stamped[0].endswith(b" out1") and stamped[0][:4].isdigit()


def test_logs_of_a_tty_container_are_raw(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "echo on a tty; echo err too >&2"], tty=True)
    client.containers.wait(cid)
    output = client.containers.logs(cid)
    data = output.read()
    assert not output.multiplexed
    assert b"on a tty" in data and b"err too" in data


def test_logs_since_until(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "echo early; sleep 2; echo late"])
    client.containers.wait(cid)
    inspect = client.containers.inspect(cid)
    assert inspect.state.started_at
    middle = time.time() - 1  # between the two lines (the container just finished)
    assert client.containers.logs(cid, since=middle).read() == b"late\n"
    assert client.containers.logs(cid, until=middle).read() == b"early\n"


def test_logs_follow_streams_and_ends_with_the_container(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.3; done"])
    seen = [data for _, data in client.containers.logs(cid, follow=True)]
    assert b"".join(seen) == b"1\n2\n3\n"


def test_changes_export_stats(client: Client, make_container, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "echo x > /tmp/new-file; sleep 300"])
    time.sleep(0.5)
    changes = client.containers.changes(cid)
    assert any(c.path == "/tmp/new-file" for c in changes)
    size = 0
    with client.containers.export(cid) as stream:
        for piece in stream:
            size += len(piece)
    assert size > 500_000
    sample = client.containers.stats(cid, one_shot=not engine.is_podman)
    assert sample.memory_stats is not None
    with client.containers.stats_stream(cid) as samples:
        first = next(iter(samples))
    assert first.cpu_stats is not None


def test_archives_put_info_get(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        payload = b"hello archive\n"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    client.containers.put_archive(cid, buffer.getvalue(), path="/tmp")
    stat = client.containers.archive_info(cid, path="/tmp/hello.txt")
    assert stat.name == "hello.txt" and stat.size == len(payload)
    data = client.containers.get_archive(cid, path="/tmp/hello.txt").read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("hello.txt")
        assert member is not None and member.read() == payload
    with pytest.raises(NotFound):
        client.containers.archive_info(cid, path="/no/such/path")


def test_prune_removes_stopped_labelled_containers(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    label = f"engineapi.prune={os.getpid()}-{time.time_ns()}"
    cid = client.containers.create(
        {"Image": "busybox", "Cmd": ["true"], "Labels": {label.split("=")[0]: label.split("=")[1]}}
    ).id
    assert cid
    client.containers.start(cid)
    client.containers.wait(cid)
    report = client.containers.prune(filters={"label": [label]})
    assert cid in (report.containers_deleted or [])


def _attach_cat(client: Client, make_container, payload_size: int) -> tuple[bytes, int]:  # type: ignore[no-untyped-def]
    cid = make_container(["cat"], stdin=True, start=False)
    attached = client.containers.attach(cid, stdin=True)
    payload = os.urandom(payload_size)
    received = bytearray()
    with attached:
        client.containers.start(cid)

        def feed() -> None:
            view = memoryview(payload)
            for offset in range(0, len(payload), 1 << 20):
                attached.write(bytes(view[offset : offset + (1 << 20)]))
            attached.close_write()

        writer = threading.Thread(target=feed)
        writer.start()
        for stream, data in attached:
            assert stream == STDOUT
            received += data
        writer.join()
    assert bytes(received) == payload
    return bytes(received), client.containers.wait(cid).status_code or 0


def test_attach_cat_echoes_100_mb_and_exits_after_close_write(
    client: Client, make_container
) -> None:  # type: ignore[no-untyped-def]
    _, exit_code = _attach_cat(client, make_container, 100 * 1024 * 1024)
    assert exit_code == 0


def test_attach_to_a_container_that_exits_at_once(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "echo bye; echo gone >&2"], start=False)
    with client.containers.attach(cid, logs=True) as attached:
        client.containers.start(cid)
        out, err = attached.read_split()  # must end, not hang
    assert out == b"bye\n" and err == b"gone\n"


def test_exec_run_keeps_the_exit_code(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"])
    result = client.exec.run(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    ok = client.exec.run(cid, "true")
    assert ok.exit_code == 0
    env = client.exec.run(cid, ["sh", "-c", "echo $A-$(pwd)"], env={"A": "1"}, workdir="/tmp")
    assert env.stdout == b"1-/tmp\n"


def test_exec_stream_gives_exit_code_at_the_end(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"])
    with client.exec.stream(cid, ["sh", "-c", "echo a; sleep 0.2; echo b >&2; exit 4"]) as run:
        assert run.exit_code is None
        frames = list(run)
    assert frames == [(STDOUT, b"a\n"), (STDERR, b"b\n")]
    assert run.exit_code == 4


def test_exec_with_tty_and_resize(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"])
    created = client.exec.create(
        cid,
        {"Cmd": ["sh", "-c", "sleep 0.5; stty size"], "Tty": True, "AttachStdout": True},
    )
    assert created.id
    with client.exec.start(created.id, tty=True) as attached:
        assert attached.multiplexed is False
        client.exec.resize(created.id, height=33, width=111)
        out, _ = attached.read_split()
    assert b"33 111" in out
    inspect = client.exec.inspect(created.id)
    assert inspect.exit_code == 0 and inspect.process_config is not None


def test_exec_stdin_through_hijack(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"])
    created = client.exec.create(
        cid,
        {"Cmd": ["sh", "-c", "wc -c"], "AttachStdin": True, "AttachStdout": True},
    )
    assert created.id
    with client.exec.start(created.id) as attached:
        attached.write(b"x" * 12345)
        attached.close_write()
        out, _ = attached.read_split()
    assert out.strip() == b"12345"


def test_resize_a_tty_container(client: Client, make_container) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sh", "-c", "sleep 1; stty size"], tty=True)
    client.containers.resize(cid, height=40, width=100)
    client.containers.wait(cid)
    assert client.containers.logs(cid).read().strip() == b"40 100"


async def test_async_lifecycle_and_follow_cancel(engine: Engine) -> None:
    async with AsyncClient(engine.host, max_connections=4) as client:
        cid = (
            await client.containers.create(
                ContainerCreateRequest(
                    image="busybox",
                    cmd=["sh", "-c", "while true; do echo tick; sleep 0.1; done"],
                    host_config=HostConfig(auto_remove=False),
                )
            )
        ).id
        assert cid
        try:
            await client.containers.start(cid)
            ticks = 0

            async def follow() -> None:
                nonlocal ticks
                async for _, data in client.containers.logs(cid, follow=True):
                    ticks += data.count(b"tick")

            task = asyncio.create_task(follow())
            await asyncio.sleep(1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert ticks >= 3
            result = await client.exec.run(cid, ["sh", "-c", "echo async; exit 2"])
            assert (result.exit_code, result.stdout) == (2, b"async\n")
            async with client.exec.stream(cid, ["echo", "streamed"]) as run:
                frames = [frame async for frame in run]
            assert frames == [(STDOUT, b"streamed\n")] and run.exit_code == 0
            await client.containers.kill(cid)
            assert (await client.containers.wait(cid)).status_code == 137
        finally:
            await client.containers.delete(cid, force=True)


async def test_async_attach_cat_echoes_with_close_write(engine: Engine) -> None:
    payload = os.urandom(8 * 1024 * 1024)
    async with AsyncClient(engine.host) as client:
        cid = (
            await client.containers.create(
                {
                    "Image": "busybox",
                    "Cmd": ["cat"],
                    "OpenStdin": True,
                    "StdinOnce": True,
                    "AttachStdin": True,
                }
            )
        ).id
        assert cid
        try:
            async with await client.containers.attach(cid, stdin=True) as attached:
                await client.containers.start(cid)

                async def feed() -> None:
                    for offset in range(0, len(payload), 1 << 20):
                        await attached.write(payload[offset : offset + (1 << 20)])
                    await attached.close_write()

                writer = asyncio.create_task(feed())
                out, _ = await attached.read_split()
                await writer
            assert out == payload
            assert (await client.containers.wait(cid)).status_code == 0
        finally:
            await client.containers.delete(cid, force=True)


async def test_200_concurrent_inspects_leak_no_file_descriptor(engine: Engine) -> None:
    async with AsyncClient(engine.host, max_connections=8) as client:
        cid = (await client.containers.create({"Image": "busybox", "Cmd": ["true"]})).id
        assert cid
        try:
            await client.containers.inspect(cid)
            before = len(os.listdir("/proc/self/fd"))
            results = await asyncio.gather(*[client.containers.inspect(cid) for _ in range(200)])
            assert all(r.id == cid for r in results)
            assert client._pool.idle_connections <= 8
        finally:
            await client.containers.delete(cid, force=True)
    after = len(os.listdir("/proc/self/fd"))
    assert after <= before


def test_attach_over_websocket(client: Client, make_container, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["cat"], stdin=True, start=False)
    if engine.is_podman:  # Podman 4.3's compat API has no /attach/ws
        with pytest.raises(NotFound):
            client.containers.attach_websocket(cid, stdin=True)
        return
    with client.containers.attach_websocket(cid, stdin=True) as ws:
        client.containers.start(cid)
        ws.write(b"over a websocket\n")
        received = b""
        while b"\n" not in received:
            received += ws.read(timeout=10)
    assert received == b"over a websocket\n"


def test_copy_to_and_from_a_directory_tree(client: Client, make_container, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cid = make_container(["sleep", "300"])
    source = tmp_path / "tree"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_bytes(b"alpha")
    (source / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    (source / "link").symlink_to("a.txt")
    client.containers.copy_to(cid, source, path="/tmp")
    assert client.exec.run(cid, ["cat", "/tmp/tree/link"]).stdout == b"alpha"
    dest = tmp_path / "back"
    dest.mkdir()
    extracted = client.containers.copy_from(cid, "/tmp/tree", dest=dest)
    assert "tree/sub/b.bin" in extracted
    assert (dest / "tree" / "sub" / "b.bin").read_bytes() == (source / "sub" / "b.bin").read_bytes()
    assert os.readlink(dest / "tree" / "link") == "a.txt"


def test_copy_from_refuses_a_link_escaping_dest(client: Client, make_container, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engineapi.archive.tarball import UnsafeArchiveError

    cid = make_container(
        ["sh", "-c", "mkdir /tmp/evil && ln -s ../../../../etc/passwd /tmp/evil/p; sleep 300"]
    )
    time.sleep(0.5)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafeArchiveError, match="p"):
        client.containers.copy_from(cid, "/tmp/evil", dest=dest)
    assert not (tmp_path / "etc").exists()


# -- docker run -----------------------------------------------------------------------------------

RUN_LABELS = {"Labels": {"engineapi.test": "1"}}


def _with_label(client: Client, label: str) -> list[str]:
    found = client.containers.list(all=True, filters={"label": [label]})
    return [c.id or "" for c in found]


def test_run_to_completion(client: Client) -> None:
    result = client.containers.run(
        "busybox", ["sh", "-c", "echo out; echo err >&2; exit 3"], config=RUN_LABELS
    )
    try:
        assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
        assert client.containers.inspect(result.id).state.status == "exited"
    finally:
        client.containers.delete(result.id, force=True)


def test_run_with_remove_and_a_tty(client: Client) -> None:
    config = {"Tty": True, "Env": ["WHO=engineapi"], **RUN_LABELS}
    result = client.containers.run("busybox", ["sh", "-c", "echo hi $WHO >&2"], config=config)
    client.containers.delete(result.id)
    result = client.containers.run(
        "busybox", ["sh", "-c", "echo hi $WHO >&2"], config=config, remove=True
    )
    assert result.exit_code == 0
    assert result.stdout.replace(b"\r\n", b"\n") == b"hi engineapi\n"  # a TTY merges stderr
    with pytest.raises(NotFound):
        client.containers.inspect(result.id)


def test_run_removes_the_container_when_a_step_fails(client: Client, engine: Engine) -> None:
    label = f"engineapi.run-fails={time.time_ns()}"
    config = {"Labels": {"engineapi.run-fails": label.split("=")[1]}}
    with pytest.raises(DaemonError) as info:
        client.containers.run("busybox", ["/no/such/program"], config=config, remove=True)
    assert "/no/such/program" in str(info.value)
    assert _with_label(client, label) == []


def test_run_detached(client: Client) -> None:
    cid = client.containers.run_detached("busybox", ["sleep", "300"], config=RUN_LABELS)
    try:
        assert client.containers.inspect(cid).state.status == "running"
    finally:
        client.containers.delete(cid, force=True)


def test_a_failed_run_detached_leaves_no_container(client: Client) -> None:
    """Its start fails (no such executable): the container it made is removed, and the error
    says so with its id."""
    label = f"engineapi.failed-run={time.time_ns()}"
    key, value = label.split("=")
    config = {"Labels": {"engineapi.test": "1", key: value}}
    with pytest.raises(DaemonError) as info:
        client.containers.run_detached("busybox", ["/no/such/program"], config=config)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "was removed" in notes
    assert any(len(word) == 64 for word in notes.split())  # the id of what was removed
    assert client.containers.list(all=True, filters={"label": [label]}) == []


def test_a_failed_run_keeps_the_container_it_was_asked_to_keep(client: Client) -> None:
    label = f"engineapi.failed-run={time.time_ns()}"
    key, value = label.split("=")
    config = {"Labels": {"engineapi.test": "1", key: value}}
    with pytest.raises(DaemonError) as info:
        client.containers.run("busybox", ["/no/such/program"], config=config)
    kept = client.containers.list(all=True, filters={"label": [label]})
    try:
        assert len(kept) == 1
        notes = " ".join(getattr(info.value, "__notes__", []))
        assert kept[0].id in notes and "is kept" in notes
    finally:
        for container in kept:
            client.containers.delete(container.id, force=True)
    with pytest.raises(DaemonError) as removed:
        client.containers.run("busybox", ["/no/such/program"], config=config, remove=True)
    assert "was removed" in " ".join(getattr(removed.value, "__notes__", []))
    assert client.containers.list(all=True, filters={"label": [label]}) == []


def test_run_pull_policies(client: Client, engine: Engine) -> None:
    with pytest.raises(ConfigError, match="missing, always, never"):
        client.containers.run("busybox", ["true"], pull="sometimes")
    with pytest.raises(NotFound):
        client.containers.run("engineapi-test/not-here:never", ["true"], pull="never")
    if engine.is_podman:
        return  # the test registries are the Docker engines' (see test_registry.py)
    # An image only the open registry has: `missing` pulls it, as docker run does.
    registry = json.loads(Path("/run/engineapi/registry.json").read_text())["open"]
    repo = f"{registry}/engineapi-test/run-{engine.name}-{time.time_ns()}"
    client.images.tag("busybox", repo=repo, tag="1")
    client.images.push(repo, tag="1", auth={}).wait()
    client.images.delete(f"{repo}:1")
    with pytest.raises(NotFound):
        client.images.inspect(f"{repo}:1")
    result = client.containers.run(f"{repo}:1", ["echo", "pulled"], config=RUN_LABELS, remove=True)
    assert (result.exit_code, result.stdout) == (0, b"pulled\n")
    # `always` pulls again even though the image is there now.
    result = client.containers.run(
        f"{repo}:1", ["echo", "again"], config=RUN_LABELS, remove=True, pull="always"
    )
    assert result.stdout == b"again\n"
    client.images.delete(f"{repo}:1")


async def test_async_run_and_run_detached(engine: Engine) -> None:
    async with AsyncClient(engine.host) as client:
        result = await client.containers.run(
            "busybox", ["sh", "-c", "echo async; exit 5"], config=RUN_LABELS, remove=True
        )
        assert (result.exit_code, result.stdout, result.stderr) == (5, b"async\n", b"")
        cid = await client.containers.run_detached("busybox", ["sleep", "300"], config=RUN_LABELS)
        try:
            assert (await client.containers.inspect(cid)).state.status == "running"
        finally:
            await client.containers.delete(cid, force=True)


# -- docker run: attach before start (issue #16 B2, M5) -------------------------------------------

AUTO_REMOVE = {**RUN_LABELS, "HostConfig": {"AutoRemove": True}}
SCRIPT = ["sh", "-c", "echo out; echo err >&2; exit 7"]


def _gone(client: Client, cid: str) -> bool:
    try:
        client.containers.inspect(cid)
    except NotFound:
        return True
    return False


def test_run_with_auto_remove_never_loses_output(client: Client) -> None:
    """The logs were read after the wait: the container could be gone already (409 'dead or
    marked for removal' on Docker 20.10, an intermittent 404 on 28.5). Looped for the race."""
    for _ in range(20):
        result = client.containers.run("busybox", SCRIPT, config=AUTO_REMOVE)
        assert (result.exit_code, result.stdout, result.stderr) == (7, b"out\n", b"err\n")
        assert _gone(client, result.id)  # removed by the daemon before run returned


def test_run_remove_is_never_a_conflict(client: Client) -> None:
    """remove=True with AutoRemove: no DELETE racing the daemon's own removal (409 'removal
    already in progress'); remove=True alone deletes it."""
    for config in (AUTO_REMOVE, RUN_LABELS):
        for _ in range(5):
            result = client.containers.run("busybox", SCRIPT, config=config, remove=True)
            assert (result.exit_code, result.stdout, result.stderr) == (7, b"out\n", b"err\n")
            assert _gone(client, result.id)


def test_run_without_a_readable_log_driver(client: Client) -> None:
    """LogConfig none: the logs endpoint answers 501, the attach has the output."""
    config = {**RUN_LABELS, "HostConfig": {"LogConfig": {"Type": "none"}}}
    result = client.containers.run("busybox", SCRIPT, config=config, remove=True)
    assert (result.exit_code, result.stdout, result.stderr) == (7, b"out\n", b"err\n")
    both = {**RUN_LABELS, "HostConfig": {"LogConfig": {"Type": "none"}, "AutoRemove": True}}
    result = client.containers.run("busybox", SCRIPT, config=both)
    assert (result.exit_code, result.stdout, result.stderr) == (7, b"out\n", b"err\n")


def test_run_sends_input_then_eof(client: Client) -> None:
    data = b"".join(b"line %d\n" % i for i in range(20000))  # ~200 kB: read while written
    result = client.containers.run("busybox", ["cat"], config=RUN_LABELS, remove=True, input=data)
    assert (result.exit_code, result.stdout, result.stderr) == (0, data, b"")
    result = client.containers.run(
        "busybox", ["sh", "-c", "wc -c; exit 3"], config=AUTO_REMOVE, input=b"12345"
    )
    assert (result.exit_code, result.stdout.strip()) == (3, b"5")
    # A container that never reads its stdin still ends with its exit code.
    result = client.containers.run(
        "busybox", ["true"], config=RUN_LABELS, remove=True, input=b"x" * 1_000_000
    )
    assert result.exit_code == 0


def test_run_stream_hands_output_over_as_it_comes(client: Client) -> None:
    start = time.monotonic()
    arrivals: list[tuple[float, int, bytes]] = []
    with client.containers.run_stream(
        "busybox", ["sh", "-c", "echo a; sleep 1; echo b >&2; exit 4"], config=AUTO_REMOVE
    ) as run:
        assert run.id and run.exit_code is None
        for stream, data in run:
            arrivals.append((time.monotonic() - start, stream, data))
    end = time.monotonic() - start
    assert [(s, d) for _, s, d in arrivals] == [(STDOUT, b"a\n"), (STDERR, b"b\n")]
    assert arrivals[0][0] < end - 0.7  # the first line came well before the exit
    assert run.exit_code == 4
    assert _gone(client, run.id)


def test_run_stream_with_a_tty_and_input(client: Client) -> None:
    config = {**RUN_LABELS, "Tty": True}
    with client.containers.run_stream(
        "busybox", ["sh", "-c", "echo tty; echo err >&2"], config=config, remove=True
    ) as run:
        frames = list(run)
    assert {stream for stream, _ in frames} == {STDOUT}  # raw: a TTY merges stderr
    assert b"".join(d for _, d in frames).replace(b"\r\n", b"\n") == b"tty\nerr\n"
    assert run.exit_code == 0 and run.id and _gone(client, run.id)
    with client.containers.run_stream(
        "busybox", ["cat"], config=RUN_LABELS, remove=True, input=b"fed\n"
    ) as run:
        assert b"".join(d for _, d in run) == b"fed\n"
    assert run.exit_code == 0


def test_run_stream_left_early(client: Client) -> None:
    """Leaving before the end closes the attach: with remove the container is removed (force),
    without it keeps running."""
    with client.containers.run_stream(
        "busybox", ["sh", "-c", "echo go; sleep 300"], config=RUN_LABELS, remove=True
    ) as run:
        for _, data in run:
            assert data == b"go\n"
            break
    assert run.id and _gone(client, run.id) and run.exit_code is None
    with client.containers.run_stream(
        "busybox", ["sh", "-c", "echo go; sleep 300"], config=RUN_LABELS
    ) as run:
        assert next(iter(run)) == (STDOUT, b"go\n")
    try:
        assert run.id and client.containers.inspect(run.id).state.running is True
    finally:
        client.containers.delete(run.id or "", force=True)


def test_a_failed_run_stream_says_what_became_of_its_container(client: Client) -> None:
    label = f"engineapi.failed-run-stream={time.time_ns()}"
    key, value = label.split("=")
    config = {"Labels": {"engineapi.test": "1", key: value}}
    with pytest.raises(DaemonError) as info:
        with client.containers.run_stream(
            "busybox", ["/no/such/program"], config=config, remove=True
        ):
            pass
    assert "was removed" in " ".join(getattr(info.value, "__notes__", []))
    assert client.containers.list(all=True, filters={"label": [label]}) == []


async def test_async_run_attached(engine: Engine) -> None:
    async with AsyncClient(engine.host) as client:
        for _ in range(20):
            result = await client.containers.run("busybox", SCRIPT, config=AUTO_REMOVE)
            assert (result.exit_code, result.stdout, result.stderr) == (7, b"out\n", b"err\n")
        config = {**RUN_LABELS, "HostConfig": {"LogConfig": {"Type": "none"}}}
        result = await client.containers.run("busybox", SCRIPT, config=config, remove=True)
        assert (result.exit_code, result.stdout, result.stderr) == (7, b"out\n", b"err\n")
        data = b"".join(b"async %d\n" % i for i in range(20000))
        result = await client.containers.run(
            "busybox", ["cat"], config=AUTO_REMOVE, remove=True, input=data
        )
        assert (result.exit_code, result.stdout) == (0, data)
        start = time.monotonic()
        arrivals: list[float] = []
        async with client.containers.run_stream(
            "busybox", ["sh", "-c", "echo a; sleep 1; echo b; exit 2"], config=AUTO_REMOVE
        ) as run:
            async for _stream, _data in run:
                arrivals.append(time.monotonic() - start)
        assert len(arrivals) == 2 and arrivals[0] < time.monotonic() - start - 0.7
        assert run.exit_code == 2
        with pytest.raises(NotFound):
            await client.containers.inspect(run.id or "")
        async with client.containers.run_stream(
            "busybox", ["sh", "-c", "echo tty"], config={**RUN_LABELS, "Tty": True}, remove=True
        ) as run:
            out = b"".join([d async for _, d in run])
        assert (out, run.exit_code) == (b"tty\r\n", 0)
