"""The recorded scenarios: engineapi calls only, so that they replay with no daemon at all.

Each scenario is a function of a client (sync, or async for the ``*_async`` ones) that runs
the same way live and replayed: everything it sends is fixed or derived from what the daemon
answered (ids, times), never from the clock or randomness. Container operations use raw
`Call`s until the containers issue brings their methods. Every object a scenario creates
carries the label ``engineapi.replay=<scenario>`` and is removed by the scenario itself.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from engineapi import AsyncClient, Client, DaemonError
from engineapi._sync.streams import RawStream
from engineapi.api import Raw
from engineapi.api._call import Call, RawCall, Reply

ENGINES = ("docker20", "docker28", "podman")
API_VERSIONS = {"docker20": "1.41", "docker28": "1.51", "podman": "1.41"}
LABEL = "engineapi.replay"
TINY_IMAGE = "engineapi-replay-tiny"

# The scrubbing scenario logs in to the local registry with its real credentials (written by
# the engines script). They must appear in no file under fixtures/. Offline, any values do: the
# recording is scrubbed, and so is each replayed request before it is matched.
REGISTRY_FILE = Path("/run/engineapi/registry.json")


def _registry() -> dict[str, str]:
    try:
        return dict(json.loads(REGISTRY_FILE.read_text()))
    except (OSError, ValueError):
        return {}


_REGISTRY = _registry()
REGISTRY = _REGISTRY.get("auth", "127.0.0.1:15001")
USERNAME = _REGISTRY.get("username", "engineapi")
PASSWORD = _REGISTRY.get("password", "0123456789abcdef0123456789abcdef")
#: The user pattern: the registry's passwords are 32 hex digits.
SECRET_PATTERN = r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"
REGISTRY_AUTH = base64.urlsafe_b64encode(
    json.dumps({"username": USERNAME, "password": PASSWORD, "serveraddress": REGISTRY}).encode()
).decode()
SECRETS = (PASSWORD, REGISTRY_AUTH)


@attrs.frozen
class Scenario:
    name: str
    run: Callable[[Any], Any]
    is_async: bool = False
    volatile: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    #: The engines it is recorded on (Podman lacks update, attach/ws, swarm, plugins, …).
    engines: tuple[str, ...] = ENGINES
    #: It puts its engine in swarm mode: recorded under the live swarm tests' lock, and the
    #: swarm is left (unrecorded) should the scenario fail half-way.
    swarm: bool = False


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str,
    *,
    volatile: tuple[str, ...] = (),
    secrets: tuple[str, ...] = (),
    patterns: tuple[str, ...] = (),
    engines: tuple[str, ...] = ENGINES,
    swarm: bool = False,
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def register(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        SCENARIOS[name] = Scenario(
            name,
            function,
            asyncio.iscoroutinefunction(function),
            volatile,
            secrets,
            patterns,
            engines,
            swarm,
        )
        return function

    return register


def cases() -> list[Any]:
    """(engine, scenario) pairs to parametrize over: each scenario on the engines it supports."""
    return [
        pytest.param(engine, name, id=f"{engine}-{name}")
        for engine in ENGINES
        for name, item in SCENARIOS.items()
        if engine in item.engines
    ]


# -- raw calls (until the containers issue brings the methods) ---------------------------------


def _json(reply: Reply) -> Any:
    return reply.json() if reply.body.strip() else None


def _status(reply: Reply) -> int:
    return reply.status


def create(name: str, *, cmd: list[str], image: str = "busybox", **config: Any) -> Call[Any]:
    body = {"Image": image, "Cmd": cmd, "Labels": {LABEL: name}, **config}
    return Call(
        "ContainerCreate",
        method="POST",
        path="/containers/create",
        query={"name": f"engineapi-replay-{name}"},
        json_body=body,
        decode=_json,
    )


def start(cid: str) -> Call[int]:
    return Call("ContainerStart", method="POST", path=f"/containers/{cid}/start", decode=_status)


def stop(cid: str) -> Call[int]:
    return Call(
        "ContainerStop",
        method="POST",
        path=f"/containers/{cid}/stop",
        query={"t": 1},
        decode=_status,
    )


def wait(cid: str) -> Call[Any]:
    return Call("ContainerWait", method="POST", path=f"/containers/{cid}/wait", decode=_json)


def inspect(cid: str) -> Call[Any]:
    return Call("ContainerInspect", method="GET", path=f"/containers/{cid}/json", decode=_json)


def remove(cid: str, *, force: bool = False) -> Call[int]:
    return Call(
        "ContainerDelete",
        method="DELETE",
        path=f"/containers/{cid}",
        query={"force": force or None},
        decode=_status,
    )


def stdout_of(frames: bytes) -> bytes:
    """The stdout stream of a multiplexed (stdcopy) body."""
    out = bytearray()
    while len(frames) >= 8:
        size = int.from_bytes(frames[4:8], "big")
        if frames[0] == 1:
            out += frames[8 : 8 + size]
        frames = frames[8 + size :]
    return bytes(out)


def daemon_time(value: str) -> datetime:
    """An RFC 3339 time from the daemon (nanoseconds cut to microseconds)."""
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", value)
    assert match, value
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}").astimezone(UTC)


def tar_of(files: dict[str, bytes]) -> bytes:
    """A small, reproducible tar archive (fixed times and owners, no padding to 10 KiB)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 1_700_000_000
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    end = data.rfind(b"\0" * 1024)  # keep the two zero end blocks, drop the record padding
    size = sum(512 + (len(c) + 511) // 512 * 512 for c in files.values()) + 1024
    assert end >= 0 and len(data) >= size
    return data[:size]


def tar_files(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        result = {}
        for member in tar.getmembers():
            file = tar.extractfile(member) if member.isfile() else None
            result[member.name] = file.read() if file is not None else b""
        return result


# -- the scenarios -------------------------------------------------------------------------------

WHOLE_INFO = ("GET /info response.body", "GET /system/df response.body")


@scenario("system", volatile=WHOLE_INFO)
def system(client: Client) -> None:
    ping = client.system.ping()
    head = client.system.ping_head()
    assert ping.api_version and head.api_version == ping.api_version
    version = client.system.version()
    assert version.api_version == client.api_version() == ping.api_version
    info = client.system.info()
    assert info.images and info.server_version
    usage = client.system.data_usage()
    assert usage.images is not None


@scenario("system_async", volatile=WHOLE_INFO)
async def system_async(client: AsyncClient) -> None:
    version = await client.system.version()
    assert version.api_version == await client.api_version()
    infos = await asyncio.gather(*[client.system.info() for _ in range(3)])
    assert len({info.name for info in infos}) == 1


LISTING_VOLATILE = (
    "GET /images/json response.body.*.Containers",
    # Podman: every digest busybox was pushed or pulled as, and a size counting each of their
    # manifests; both grow with what the tests before this one did with the image.
    "GET /images/json response.body.*.RepoDigests",
    "GET /images/json response.body.*.Size",
    "GET /images/json response.body.*.VirtualSize",
)


@scenario("listing", volatile=LISTING_VOLATILE)
def listing(client: Client) -> None:
    cid = client.send(create("listing", cmd=["true"]))["Id"]
    try:
        mine = client.containers.list(all=True, filters={"label": [f"{LABEL}=listing"]})
        assert [c.id for c in mine] == [cid]
        assert mine[0].labels == {LABEL: "listing"}
        assert client.containers.list(filters={"label": [f"{LABEL}=listing"]}) == []  # not running
        images = client.images.list(filters={"reference": ["busybox"]})
        assert any("busybox:latest" in tag for image in images for tag in image.repo_tags or [])
    finally:
        client.send(remove(cid))


@scenario("containers")
def containers(client: Client) -> None:
    cid = client.send(create("containers", cmd=["sleep", "300"], StopSignal="SIGKILL"))["Id"]
    try:
        assert client.send(start(cid)) == 204
        running = client.containers.list(filters={"label": [f"{LABEL}=containers"]})
        assert [c.id for c in running] == [cid] and running[0].state == "running"
        assert client.send(inspect(cid))["State"]["Running"] is True
        exec_id = client.send(
            Call(
                "ContainerExec",
                method="POST",
                path=f"/containers/{cid}/exec",
                json_body={
                    "AttachStdout": True,
                    "AttachStderr": True,
                    "Cmd": ["echo", "hello from exec"],
                },
                decode=_json,
            )
        )["Id"]
        exec_start: Call[Any] = Call(
            "ExecStart",
            method="POST",
            path=f"/exec/{exec_id}/start",
            json_body={"Detach": False, "Tty": False},
            decode=_json,
        )
        out = bytearray()
        with client.hijack(exec_start).stream as stream:
            while chunk := stream.read(65536, timeout=30):
                out += chunk
        assert stdout_of(bytes(out)) == b"hello from exec\n"
        assert client.send(stop(cid)) == 204
        assert client.send(inspect(cid))["State"]["Running"] is False
        # Not forced: Podman 4.3 fails to force-remove a container it has just stopped.
        assert client.send(remove(cid)) == 204
    except BaseException:
        client.send(remove(cid, force=True))
        raise
    assert client.containers.list(all=True, filters={"label": [f"{LABEL}=containers"]}) == []


ATTACH_CONFIG = {
    "OpenStdin": True,
    "StdinOnce": True,
    "AttachStdin": True,
    "AttachStdout": True,
    "AttachStderr": True,
}
PAYLOAD = b"".join(b"line %d through a hijacked attach\n" % i for i in range(20))


def _attach(cid: str) -> Call[Any]:
    return Call(
        "ContainerAttach",
        method="POST",
        path=f"/containers/{cid}/attach",
        query={"stream": True, "stdin": True, "stdout": True, "stderr": True},
        decode=_json,
    )


@scenario("attach")
def attach(client: Client) -> None:
    cid = client.send(create("attach", cmd=["cat"], **ATTACH_CONFIG))["Id"]
    try:
        out = bytearray()
        with client.hijack(_attach(cid)).stream as stream:
            assert client.send(start(cid)) == 204
            stream.write(PAYLOAD)
            stream.close_write()
            while chunk := stream.read(65536, timeout=30):
                out += chunk
        assert stdout_of(bytes(out)) == PAYLOAD
        assert client.send(wait(cid))["StatusCode"] == 0
        assert client.send(remove(cid)) == 204
    except BaseException:
        client.send(remove(cid, force=True))
        raise


@scenario("attach_async")
async def attach_async(client: AsyncClient) -> None:
    cid = (await client.send(create("attach_async", cmd=["cat"], **ATTACH_CONFIG)))["Id"]
    try:
        out = bytearray()
        async with (await client.hijack(_attach(cid))).stream as stream:
            assert await client.send(start(cid)) == 204
            await stream.write(PAYLOAD)
            await stream.close_write()
            while chunk := await stream.read(65536, timeout=30):
                out += chunk
        assert stdout_of(bytes(out)) == PAYLOAD
        assert (await client.send(wait(cid)))["StatusCode"] == 0
        assert await client.send(remove(cid)) == 204
    except BaseException:
        await client.send(remove(cid, force=True))
        raise


UNTIL_AHEAD = timedelta(seconds=2)


@scenario("events", volatile=WHOLE_INFO)
def events(client: Client) -> None:
    cid = client.send(create("events", cmd=["true"]))["Id"]
    created = daemon_time(client.send(inspect(cid))["Created"])
    assert client.send(start(cid)) == 204
    assert client.send(wait(cid))["StatusCode"] == 0
    assert client.send(remove(cid)) == 204
    info = client.system.info()
    assert info.system_time
    # Podman 4.3 returns nothing when `until` has passed already: end the window just ahead.
    until = daemon_time(info.system_time) + UNTIL_AHEAD
    seen = list(
        client.system.events(
            since=int(created.timestamp()) - 1, until=until, filters={"container": [cid]}
        )
    )
    actions = [event.action for event in seen]
    assert {"create", "start", "die"} <= set(actions), actions
    assert {"destroy", "remove"} & set(actions), actions  # Podman says "remove"
    assert all(event.actor and event.actor.id == cid for event in seen)


@scenario("events_async", volatile=WHOLE_INFO)
async def events_async(client: AsyncClient) -> None:
    cid = (await client.send(create("events_async", cmd=["true"])))["Id"]
    created = daemon_time((await client.send(inspect(cid)))["Created"])
    assert await client.send(start(cid)) == 204
    assert (await client.send(wait(cid)))["StatusCode"] == 0
    assert await client.send(remove(cid)) == 204
    info = await client.system.info()
    assert info.system_time
    actions = []
    async with client.system.events(
        since=int(created.timestamp()) - 1,
        until=daemon_time(info.system_time) + UNTIL_AHEAD,
        filters={"container": [cid], "event": ["create", "start"]},
    ) as stream:
        async for event in stream:
            actions.append(event.action)
    assert actions == ["create", "start"]


UPLOAD = {"replay.txt": b"uploaded through a streamed request body\n" * 50}


@scenario("archive")
def archive(client: Client) -> None:
    cid = client.send(create("archive", cmd=["sleep", "300"], StopSignal="SIGKILL"))["Id"]
    try:
        assert client.send(start(cid)) == 204
        tar = tar_of(UPLOAD)
        pieces = [tar[i : i + 1000] for i in range(0, len(tar), 1000)]
        put: Call[int] = Call(
            "PutContainerArchive",
            method="PUT",
            path=f"/containers/{cid}/archive",
            query={"path": "/tmp"},
            headers=[("Content-Type", "application/x-tar")],
            body=iter(pieces),  # chunked: no length given
            decode=_status,
        )
        assert client.send(put) == 200
        get = RawCall(
            "ContainerArchive",
            method="GET",
            path=f"/containers/{cid}/archive",
            query={"path": "/tmp/replay.txt"},
        )
        with RawStream(client, get) as stream:
            data = b"".join(stream)
        assert tar_files(data) == UPLOAD
    finally:
        client.send(remove(cid, force=True))


@scenario("export")
def export(client: Client) -> None:
    image_tar = tar_of({"hello.txt": b"hello from a tiny image\n"})
    imported: Call[Any] = Call(
        "ImageCreate",
        method="POST",
        path="/images/create",
        query={"fromSrc": "-", "repo": TINY_IMAGE, "tag": "export"},
        headers=[("Content-Type", "application/x-tar")],
        body=iter([image_tar[:1024], image_tar[1024:]]),
        content_length=len(image_tar),  # streamed, with a Content-Length
        decode=lambda r: [json.loads(line) for line in r.body.splitlines() if line.strip()],
    )
    image = client.send(imported)[-1]["status"]
    assert image.startswith("sha256:")
    try:
        cid = client.send(create("export", cmd=["/hello"], image=image))["Id"]
        try:
            export_call = RawCall("ContainerExport", method="GET", path=f"/containers/{cid}/export")
            with RawStream(client, export_call) as stream:
                pieces = list(stream)
            files = tar_files(b"".join(pieces))
            assert files["hello.txt"] == b"hello from a tiny image\n"
        finally:
            client.send(remove(cid))  # never started
    finally:
        client.send(
            Call(
                "ImageDelete",
                method="DELETE",
                path=f"/images/{image}",
                query={"force": True},
                decode=_json,
            )
        )


@scenario("scrub", secrets=SECRETS, patterns=(SECRET_PATTERN,))
def scrub(client: Client) -> None:
    credentials = {"username": USERNAME, "password": PASSWORD, "serveraddress": REGISTRY}
    login: Call[Any] = Call(
        "SystemAuth", method="POST", path="/auth", json_body=credentials, decode=_json
    )
    try:
        assert client.send(login)["Status"] == "Login Succeeded"
    except DaemonError as exc:  # Podman 4.3's compat /auth insists on HTTPS
        assert exc.status == 500 and "HTTPS" in exc.message
    pull: Call[bytes] = Call(
        "ImageCreate",
        method="POST",
        path="/images/create",
        query={"fromImage": f"{REGISTRY}/engineapi/replay-nothing", "tag": "latest"},
        headers=[("X-Registry-Auth", REGISTRY_AUTH)],
        decode=lambda r: r.body,
    )
    try:
        body = client.send(pull)  # Podman answers 200 and reports the error in the stream
        assert b"error" in body
    except DaemonError as exc:  # Docker: logged in, and the image is not there
        assert exc.status == 404 and "manifest unknown" in exc.message


# -- every operation the live suites call, through the public methods ---------------------------
#
# Names derive from the fixed prefix ``engineapi-replay-``; ids, addresses and times come from
# the daemon's answers (replay gives the recorded ones back). No polling: a loop that asks until
# the daemon is ready would make a different number of requests in each recording.

DOCKER = ("docker20", "docker28")
PREFIX = "engineapi-replay"
OPEN_REGISTRY = _REGISTRY.get("open", "127.0.0.1:15000")
#: The local swarm tests' lock: one swarm at a time on the engines (taken when recording).
SWARM_LOCK = Path("/run/engineapi/swarm-tests.lock")


def labels(name: str, **more: str) -> dict[str, str]:
    return {LABEL: name, **more}


def engine_number(client: Client) -> int:
    """20, 28 or 88 (Podman), from the daemon's version: picks per-engine subnets."""
    version = client.system.version()
    if any("podman" in (c.name or "").lower() for c in version.components or ()):
        return 88
    return int((version.version or "0").split(".")[0])


def tiny_image(client: Client, tag: str, *, changes: list[str] | None = None) -> str:
    """Import the tiny one-file image as ``engineapi-replay-tiny:<tag>``; its id."""
    image_tar = tar_of({"hello.txt": b"hello from a tiny image\n"})
    messages = client.images.import_image(
        image_tar, repo=TINY_IMAGE, tag=tag, changes=changes
    ).wait()
    image = messages[-1].status or ""
    assert image.startswith("sha256:"), messages
    return image


LIFECYCLE_VOLATILE = (
    # Usage counters of a running container: CPU, memory, I/O, PIDs at that instant.
    "GET /containers/*/stats response.body",
    # The file's mtime (in the base64 JSON header) is when the archive was put.
    "HEAD /containers/*/archive response.headers.X-Docker-Container-Path-Stat",
    # ps columns: PIDs, start times, CPU time.
    "GET /containers/*/top response.body.Processes",
    # Size of the container's writable layer, inspected with size=true.
    "GET /containers/*/json response.body.SizeRw",
    "GET /containers/*/json response.body.SizeRootFs",
    # The exec's process (exec.run): its PID while it runs, 0 after.
    "GET /exec/*/json response.body.Pid",
)


@scenario("containers_lifecycle", volatile=LIFECYCLE_VOLATILE)
def containers_lifecycle(client: Client) -> None:
    """create/inspect/start/top/pause/unpause/rename/update/restart/changes/stats/archives/
    kill/wait/delete, logs (multiplexed and TTY), resize, prune."""
    name = "containers_lifecycle"
    podman = engine_number(client) == 88
    cid = client.containers.create(
        {
            "Image": "busybox",
            "Cmd": ["sh", "-c", "echo x > /tmp/new-file; exec sleep 300"],
            "StopSignal": "SIGKILL",
            "Labels": labels(name),
        },
        name=f"{PREFIX}-lifecycle",
    ).id
    assert cid
    others: list[str] = []
    try:
        assert client.containers.inspect(cid).state.status == "created"
        client.containers.start(cid)
        inspect = client.containers.inspect(cid, size=True)
        assert inspect.state.running is True
        top = client.containers.top(cid)
        assert top.titles and top.processes
        client.containers.pause(cid)
        assert client.containers.inspect(cid).state.status == "paused"
        client.containers.unpause(cid)
        client.containers.rename(cid, name=f"{PREFIX}-renamed")
        assert client.containers.inspect(cid).name == f"/{PREFIX}-renamed"
        if not podman:  # Podman 4.3's compat API has no /containers/{id}/update
            client.containers.update(cid, {"CpuShares": 512})
        client.containers.restart(cid, timeout=1)
        assert client.containers.inspect(cid).state.running is True
        # The file is written by the container's first command: ask once it has run (exec).
        assert client.exec.run(cid, ["test", "-f", "/tmp/new-file"]).exit_code == 0
        changes = client.containers.changes(cid)
        assert any(c.path == "/tmp/new-file" for c in changes)
        sample = client.containers.stats(cid, one_shot=not podman)
        assert sample.memory_stats is not None
        payload = b"hello archive\n"
        client.containers.put_archive(cid, tar_of({"hello.txt": payload}), path="/tmp")
        stat = client.containers.archive_info(cid, path="/tmp/hello.txt")
        assert stat.name == "hello.txt" and stat.size == len(payload)
        assert tar_files(client.containers.get_archive(cid, path="/tmp/hello.txt").read()) == {
            "hello.txt": payload
        }
        client.containers.kill(cid, signal="SIGKILL")
        assert client.containers.wait(cid).status_code == 137
        client.containers.delete(cid)

        # Logs: multiplexed, then a TTY container (raw), resized while it runs.
        logged = client.containers.create(
            {
                "Image": "busybox",
                "Cmd": ["sh", "-c", "echo out1; echo err1 >&2; echo out2"],
                "Labels": labels(name),
            },
            name=f"{PREFIX}-logs",  # a generated name would change with each recording
        ).id
        assert logged
        others.append(logged)
        client.containers.start(logged)
        assert client.containers.wait(logged).status_code == 0
        assert client.containers.logs(logged, stderr=False).read() == b"out1\nout2\n"
        assert client.containers.logs(logged, stdout=False).read() == b"err1\n"
        tty = client.containers.create(
            {
                "Image": "busybox",
                "Cmd": ["sh", "-c", "sleep 1; stty size"],
                "Tty": True,
                "Labels": labels(name),
            },
            name=f"{PREFIX}-tty",
        ).id
        assert tty
        others.append(tty)
        client.containers.start(tty)
        client.containers.resize(tty, height=40, width=100)
        client.containers.wait(tty)
        assert client.containers.logs(tty).read().strip() == b"40 100"

        # Not `attach_websocket`: engineapi.replay cannot replay a WebSocket yet (the client's
        # random Sec-WebSocket-Key and frame masks differ from the recording's).

        # Prune: the stopped containers of this scenario.
        for other in others:
            client.containers.wait(other)
        pruned = client.containers.prune(filters={"label": [f"{LABEL}={name}"]})
        assert sorted(pruned.containers_deleted or []) == sorted(others)
        others.clear()
    finally:
        for leftover in [cid, *others]:
            try:
                client.containers.delete(leftover, force=True)
            except DaemonError:
                pass


EXEC_VOLATILE = (
    # The exec's process: its PID while it runs, 0 after.
    "GET /exec/*/json response.body.Pid",
)


@scenario("exec", volatile=EXEC_VOLATILE)
def exec_(client: Client) -> None:
    """exec create/start (TTY, resized)/inspect; run and stream, with their exit codes."""
    cid = client.containers.create(
        {
            "Image": "busybox",
            "Cmd": ["sleep", "300"],
            "StopSignal": "SIGKILL",
            "Labels": labels("exec"),
        },
        name=f"{PREFIX}-exec",
    ).id
    assert cid
    try:
        client.containers.start(cid)
        result = client.exec.run(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
        with client.exec.stream(cid, ["sh", "-c", "echo a; exit 4"]) as run:
            frames = list(run)
        assert b"".join(data for _, data in frames) == b"a\n" and run.exit_code == 4
        created = client.exec.create(
            cid, {"Cmd": ["sh", "-c", "sleep 0.5; stty size"], "Tty": True, "AttachStdout": True}
        )
        assert created.id
        with client.exec.start(created.id, tty=True) as attached:
            client.exec.resize(created.id, height=33, width=111)
            out, _ = attached.read_split()
        assert b"33 111" in out
        inspect = client.exec.inspect(created.id)
        assert inspect.exit_code == 0 and inspect.running is False
    finally:
        client.containers.delete(cid, force=True)


IMAGES_VOLATILE = (
    # A saved image is laid out by its content-addressed ids, and the import's time is in its
    # config: the members (and their order) change with each recording.
    "GET /images/*/get response.body",
    "POST /images/load request.body",
    # The random hostname of the container a commit or build step ran in; the sizes of the
    # images made (their configs hold times of varying length).
    "GET /images/*/json response.body.ContainerConfig.Hostname",
    "GET /images/*/json response.body.Size",
    "GET /images/*/json response.body.VirtualSize",
    # Disk sizes and creation details of images made during the recording.
    "GET /images/*/json response.body.Metadata",
    "GET /images/*/json response.body.RootFS",
    "GET /images/*/json response.body.GraphDriver",
    # Build cache freed: whatever earlier builds left.
    "POST /build/prune response.body",
    # The build's progress: Podman and Docker report cache use, step ids, timings.
    "POST /build response.body",
    # What prune found: anything dangling on the engine at that moment.
    "POST /images/prune response.body",
)


@scenario("images", volatile=IMAGES_VOLATILE)
def images(client: Client) -> None:
    """import, tag, inspect, history, get (save), load, commit, build, delete, prune."""
    podman = engine_number(client) == 88
    image = tiny_image(client, "images", changes=['LABEL source="engineapi"'])
    reference = f"{TINY_IMAGE}:images"
    if podman:  # Podman 4.3 ignores tag= on import
        client.images.tag(image, repo=TINY_IMAGE, tag="images")
    built = f"{TINY_IMAGE}:built"
    try:
        inspect = client.images.inspect(reference)
        assert (inspect.config.labels or {}).get("source") == "engineapi"
        client.images.tag(reference, repo=f"{PREFIX}/tagged", tag="v1")
        assert client.images.inspect(f"{PREFIX}/tagged:v1").id == inspect.id
        history = client.images.history(f"{PREFIX}/tagged:v1")
        assert history and history[0].id
        deleted = client.images.delete(f"{PREFIX}/tagged:v1")
        assert any((d.untagged or "").endswith(f"{PREFIX}/tagged:v1") for d in deleted)

        saved = client.images.get(reference).read()
        assert "manifest.json" in tar_files(saved)
        client.images.load(saved).wait()

        # Commit a container of busybox; then build FROM the tiny image.
        cid = client.containers.create(
            {
                "Image": "busybox",
                "Cmd": ["sh", "-c", "echo committed > /marker"],
                "Labels": labels("images"),
            },
            name=f"{PREFIX}-commit",
        ).id
        assert cid
        try:
            client.containers.start(cid)
            client.containers.wait(cid)
            committed = client.images.commit(
                cid, repo=TINY_IMAGE, tag="committed", comment="by engineapi"
            )
            assert committed.id
        finally:
            client.containers.delete(cid, force=True)
        client.images.delete(f"{TINY_IMAGE}:committed", force=True)

        dockerfile = f"FROM {reference}\nLABEL a=b\n".encode()
        client.images.build(
            tar_of({"Dockerfile": dockerfile}), tag=built, labels={"built.by": "engineapi"}
        ).wait()
        built_labels = client.images.inspect(built).config.labels or {}
        assert built_labels.get("a") == "b" and built_labels.get("built.by") == "engineapi"
        client.images.delete(built, force=True)
        if not podman:  # Podman 4.3 has no /build/prune
            client.images.build_prune(filters={"label": ["engineapi.never=set"]})
        report = client.images.prune(filters={"label": ["engineapi.never=set"]})
        assert report.images_deleted in (None, [])
    finally:
        for name in (built, reference):
            try:
                client.images.delete(name, force=True)
            except DaemonError:
                pass


REGISTRY_VOLATILE = (
    # Push and pull progress: "Pushed" the first time, "Layer already exists" after.
    "POST /images/*/push response.body",
    "POST /images/create response.body",
    # The import's time is in the image config, so the manifest's digest and size change.
    "GET /distribution/*/json response.body.Descriptor.size",
)


@scenario(
    "registry",
    volatile=REGISTRY_VOLATILE,
    secrets=SECRETS,
    patterns=(SECRET_PATTERN,),
    engines=DOCKER,
)
def registry(client: Client) -> None:
    """Login (system.auth, scrubbed), push to and pull from the open registry, distribution."""
    answer = client.system.auth(
        {"username": USERNAME, "password": PASSWORD, "serveraddress": REGISTRY}
    )
    assert answer.status == "Login Succeeded"
    number = engine_number(client)
    tiny_image(client, "registry")
    repo = f"{OPEN_REGISTRY}/{PREFIX}/tiny"
    tag = f"docker{number}"
    try:
        client.images.tag(f"{TINY_IMAGE}:registry", repo=repo, tag=tag)
        client.images.push(repo, tag=tag, auth={}).wait()
        found = client.distribution.inspect(f"{repo}:{tag}", auth={})
        assert found.descriptor and (found.descriptor.digest or "").startswith("sha256:")
        client.images.delete(f"{repo}:{tag}")
        client.images.pull(f"{repo}:{tag}", auth={}).wait()
        assert client.images.inspect(f"{repo}:{tag}").id
    finally:
        for name in (f"{repo}:{tag}", f"{TINY_IMAGE}:registry"):
            try:
                client.images.delete(name, force=True)
            except DaemonError:
                pass


@scenario("networks")
def networks(client: Client) -> None:
    """create (IPAM), inspect, list, connect (alias, static address), disconnect, delete,
    prune."""
    name = "networks"
    podman = engine_number(client) == 88
    prefix = f"10.252.{engine_number(client)}"  # away from the live tests' 10.251.x
    net = f"{PREFIX}-net"
    created = client.networks.create(
        {
            "Name": net,
            "Driver": "bridge",
            "IPAM": {
                "Driver": "default",
                "Config": [{"Subnet": f"{prefix}.0/24", "Gateway": f"{prefix}.1"}],
            },
            "Labels": labels(name),
        }
    )
    assert created.id
    cid = ""
    try:
        inspected = client.networks.inspect(created.id, verbose=True)
        assert inspected.name == net and inspected.ipam and inspected.ipam.config
        assert inspected.ipam.config[0].subnet == f"{prefix}.0/24"
        listed = client.networks.list(filters={"label": [f"{LABEL}={name}"]})
        assert [n.name for n in listed] == [net]
        cid = (
            client.containers.create(
                {"Image": "busybox", "Cmd": ["sleep", "300"], "Labels": labels(name)},
                name=f"{PREFIX}-net-member",
            ).id
            or ""
        )
        client.networks.connect(
            created.id,
            cid,
            endpoint_config={
                "Aliases": ["engineapi-db"],
                "IPAMConfig": {"IPv4Address": f"{prefix}.200"},
            },
        )
        client.containers.start(cid)
        settings = client.containers.inspect(cid).network_settings
        assert settings and settings.networks and net in settings.networks
        client.networks.disconnect(created.id, cid, force=True)
        client.containers.delete(cid, force=True)
        cid = ""
        client.networks.delete(created.id)
        doomed = client.networks.create({"Name": f"{PREFIX}-prune", "Labels": labels(name)})
        assert doomed.id
        pruned = client.networks.prune(filters={"label": [f"{LABEL}={name}"]})
        assert pruned.networks_deleted == [f"{PREFIX}-prune"]
        assert podman or client.networks.list(filters={"label": [f"{LABEL}={name}"]}) == []
    finally:
        if cid:
            client.containers.delete(cid, force=True)
        for leftover in client.networks.list(filters={"label": [f"{LABEL}={name}"]}):
            client.networks.delete(leftover.id)


VOLUMES_VOLATILE = (
    # Podman: when the volume was mounted (it mounts on create).
    "GET /volumes/* response.body.Status",
)


@scenario("volumes", volatile=VOLUMES_VOLATILE)
def volumes(client: Client) -> None:
    """create, inspect, list, delete, prune; update where the engine has it (API ≥ 1.42)."""
    name = "volumes"
    vol = f"{PREFIX}-vol"
    created = client.volumes.create(name=vol, driver="local", labels=labels(name))
    assert created.name == vol and created.labels == labels(name)
    try:
        assert client.volumes.inspect(vol).mountpoint
        listed = client.volumes.list(filters={"label": [f"{LABEL}={name}"]})
        assert [v.name for v in listed.volumes or ()] == [vol]
        if client.api_version() >= "1.42":  # no cluster volume here: the daemon says so
            try:
                # As recorded: a key the spec puts under AccessMode, sent unchecked (Raw) — the
                # daemon refuses the update anyway, there being no cluster volume.
                client.volumes.update(vol, Raw({"Spec": {"Availability": "drain"}}), version=1)
            except DaemonError as exc:
                assert exc.status in (404, 503), exc
        client.volumes.delete(vol)
        client.volumes.create(name=f"{PREFIX}-prune", labels=labels(name, prune="1"))
        filters: dict[str, list[str]] = {"label": [f"{LABEL}={name}"]}
        if client.api_version() >= "1.42":
            filters["all"] = ["true"]  # from 1.42 only anonymous volumes unless `all`
        pruned = client.volumes.prune(filters=filters)
        assert pruned.volumes_deleted == [f"{PREFIX}-prune"]
    finally:
        for leftover in client.volumes.list(filters={"label": [LABEL]}).volumes or ():
            client.volumes.delete(leftover.name, force=True)


SECOND = 1_000_000_000  # the API's durations are nanoseconds
SWARM_VOLATILE = (
    # Fresh each swarm: join tokens, CA and node certificates, raft versions of its objects.
    "GET /swarm response.body.JoinTokens",
    "GET /swarm response.body.TLSInfo",
    "GET /swarm response.body.Version",
    "POST /swarm/update request.query.version",
    "GET /nodes response.body.*.Description.TLSInfo",
    "GET /nodes response.body.*.Version",
    "GET /nodes/* response.body.Description.TLSInfo",
    "GET /nodes/* response.body.Version",
    "POST /nodes/*/update request.query.version",
    "GET /secrets/* response.body.Version",
    "POST /secrets/*/update request.query.version",
    "GET /configs/* response.body.Version",
    "POST /configs/*/update request.query.version",
    "GET /services response.body.*.Version",
    "GET /services/* response.body.Version",
    "POST /services/*/update request.query.version",
    "GET /tasks response.body.*.Version",
    "GET /tasks/* response.body.Version",
    # The task's container and where its network sandbox is: made anew each time.
    "GET /tasks response.body.*.Status",
    "GET /tasks/* response.body.Status",
    "GET /tasks response.body.*.NetworksAttachments",
    "GET /tasks/* response.body.NetworksAttachments",
    # The node's resources and engine details (memory free, plugins loaded).
    "GET /nodes response.body.*.Description.Resources",
    "GET /nodes/* response.body.Description.Resources",
)


@scenario("swarm", volatile=(*WHOLE_INFO, *SWARM_VOLATILE), engines=("docker20",), swarm=True)
def swarm(client: Client) -> None:
    """A single-node swarm on docker20: init, inspect, update, unlock key; nodes; secrets and
    configs; a service, its tasks and logs; leave. Always leaves the swarm."""
    name = "swarm"
    node_id = client.swarm.init(
        {
            "ListenAddr": "127.0.0.1:2377",
            "AdvertiseAddr": "127.0.0.1",
            "DefaultAddrPool": ["10.234.0.0/16"],  # away from the live swarm tests' pool
            "SubnetSize": 24,
        }
    )
    try:
        assert node_id
        current = client.swarm.inspect()
        assert current.spec and current.version and current.version.index
        spec = current.spec.to_wire()
        spec["Labels"] = labels(name)
        client.swarm.update(spec, version=current.version.index, rotate_worker_token=True)
        updated = client.swarm.inspect()
        assert updated.spec and updated.spec.labels == labels(name)
        assert client.swarm.unlock_key().unlock_key in (None, "")  # no autolock
        try:
            client.swarm.unlock("SWMKEY-1-" + "A" * 43)
            raise AssertionError("an unlocked swarm was unlocked")
        except DaemonError as exc:
            assert "not locked" in exc.message.lower(), exc
        try:
            client.swarm.join(
                {
                    "ListenAddr": "127.0.0.1:2378",
                    "RemoteAddrs": ["127.0.0.1:2377"],
                    "JoinToken": "SWMTKN-1-engineapi-replay-not-a-token",
                }
            )
            raise AssertionError("a manager joined a swarm")
        except DaemonError as exc:
            assert "already part of a swarm" in exc.message, exc

        # The node.
        nodes = client.nodes.list()
        assert [n.id for n in nodes] == [node_id]
        node = client.nodes.inspect(node_id)
        assert node.spec and node.version and node.version.index
        node_spec = node.spec.to_wire()
        node_spec["Labels"] = labels(name)
        client.nodes.update(node_id, node_spec, version=node.version.index)
        assert client.nodes.list(filters={"node.label": [f"{LABEL}={name}"]})[0].id == node_id
        try:
            client.nodes.delete(node_id, force=True)
            raise AssertionError("the only manager was removed")
        except DaemonError as exc:
            assert "manager" in exc.message.lower(), exc

        # Secrets and configs: labels are all that can change.
        secret_id = client.secrets.create(
            name=f"{PREFIX}-secret", data=b"not really secret", labels=labels(name)
        ).id
        config_id = client.configs.create(
            name=f"{PREFIX}-config", data="port = 80\n", labels=labels(name)
        ).id
        assert secret_id and config_id
        secret = client.secrets.inspect(secret_id)
        assert secret.spec and secret.version and secret.version.index
        secret_spec = secret.spec.to_wire()
        secret_spec["Labels"] = labels(name, rotated="yes")
        client.secrets.update(secret_id, secret_spec, version=secret.version.index)
        assert [s.id for s in client.secrets.list(filters={"label": [f"{LABEL}={name}"]})] == [
            secret_id
        ]
        config = client.configs.inspect(config_id)
        assert config.spec and config.version and config.version.index
        config_spec = config.spec.to_wire()
        config_spec["Labels"] = labels(name, rotated="yes")
        client.configs.update(config_id, config_spec, version=config.version.index)
        assert [c.id for c in client.configs.list(filters={"name": [f"{PREFIX}-config"]})] == [
            config_id
        ]
        client.secrets.delete(secret_id)
        client.configs.delete(config_id)

        # A service with one task; its start is awaited through the events (one request).
        service = f"{PREFIX}-svc"
        info = client.system.info()
        assert info.system_time
        since = daemon_time(info.system_time)
        created = client.services.create(
            {
                "Name": service,
                "Labels": labels(name),
                "TaskTemplate": {
                    "ContainerSpec": {
                        "Image": "busybox:latest",
                        "Command": ["sh", "-c", "echo out-1; echo err-1 >&2; exec sleep 300"],
                        "StopSignal": "SIGKILL",
                    }
                },
                "Mode": {"Replicated": {"Replicas": 1}},
            }
        )
        assert created.id
        started = list(
            client.system.events(
                since=int(since.timestamp()) - 1,
                until=since + timedelta(seconds=8),
                filters={
                    "type": ["container"],
                    "event": ["start"],
                    "label": [f"com.docker.swarm.service.name={service}"],
                },
            )
        )
        assert len(started) == 1, started
        tasks = client.tasks.list(filters={"service": [service], "desired-state": ["running"]})
        assert len(tasks) == 1 and tasks[0].service_id == created.id
        task = client.tasks.inspect(tasks[0].id or "")
        assert task.status and task.status.state == "running"
        assert client.tasks.logs(task.id or "").read_split() == (b"out-1\n", b"err-1\n")
        assert client.services.logs(service, stderr=False).read() == b"out-1\n"
        listed = client.services.list(filters={"label": [f"{LABEL}={name}"]})
        assert [s.id for s in listed] == [created.id]
        current_service = client.services.inspect(service)
        assert current_service.spec and current_service.version
        service_spec = current_service.spec.to_wire()
        service_spec["Labels"] = labels(name, updated="yes")  # no new tasks for a label
        client.services.update(service, service_spec, version=current_service.version.index or 0)
        assert (client.services.inspect(service).spec or service_spec).labels == labels(
            name, updated="yes"
        )
        client.services.delete(service)
    finally:
        client.swarm.leave(force=True)


#: The test plugin's process: a log driver answering every plugin call on its socket (the
#: host's python3, bind-mounted read-only at /usr: the "mount /usr" privilege it asks for).
PLUGIN_SERVER = """
import http.server, json, os, signal, socketserver
PATH = "/run/docker/plugins/engineapi.sock"
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"Implements": ["LogDriver"], "Err": ""}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    def get_request(self):
        return super().get_request()[0], ("plugin", 0)
if os.path.exists(PATH):
    os.unlink(PATH)
Server(PATH, Handler).serve_forever()
"""
USR_MOUNT = [{"Name": "mount", "Description": "host path to mount", "Value": ["/usr"]}]


def plugin_tar(description: str, stamp: str) -> bytes:
    """config.json and rootfs/ of the test plugin, as a small reproducible tar. `stamp` makes
    the rootfs layer new (Docker refuses one it holds already): it comes from the daemon."""
    config = {
        "description": description,
        "documentation": "https://github.com/engineapi/engineapi/tree/main/tests/replay",
        "entrypoint": ["/usr/bin/python3", "-c", PLUGIN_SERVER],
        "workdir": "/",
        "interface": {"types": ["docker.logdriver/1.0"], "socket": "engineapi.sock"},
        "network": {"type": "null"},
        "mounts": [
            {
                "name": "usr",
                "source": "/usr",
                "destination": "/usr",
                "type": "bind",
                "options": ["rbind", "ro"],
            }
        ],
        "env": [{"name": "GREETING", "settable": ["value"], "value": "hello"}],
        "linux": {"capabilities": []},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:

        def add(name: str, *, data: bytes | None = None, link: str | None = None) -> None:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
            elif data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            else:
                info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        add("config.json", data=json.dumps(config).encode())
        for sub in ("rootfs", "rootfs/usr", "rootfs/etc", "rootfs/tmp", "rootfs/run"):
            add(sub)
        for sub in ("rootfs/run/docker", "rootfs/run/docker/plugins", "rootfs/proc"):
            add(sub)
        for sub in ("rootfs/dev", "rootfs/sys"):
            add(sub)
        for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
            add(f"rootfs/{link}", link=target)
        add("rootfs/etc/engineapi-plugin", data=f"{description} {stamp}\n".encode())
    return buffer.getvalue()


PLUGINS_VOLATILE = (
    # The plugin's rootfs holds the daemon's time (a new layer each recording).
    "POST /plugins/create request.body",
    # Push and pull progress: layer digests, "Pushed" or "Layer already exists".
    "POST /plugins/*/push response.body",
    "POST /plugins/pull response.body",
    "POST /plugins/*/upgrade response.body",
)


@scenario("plugins", volatile=(*WHOLE_INFO, *PLUGINS_VOLATILE), engines=DOCKER)
def plugins(client: Client) -> None:
    """create, inspect, list, set, enable, disable, push (open registry), privileges, pull,
    upgrade, delete."""
    number = engine_number(client)
    info = client.system.info()
    stamp = info.system_time or "no time"
    v1 = f"{OPEN_REGISTRY}/{PREFIX}/plugin-docker{number}:v1"
    v2 = f"{OPEN_REGISTRY}/{PREFIX}/plugin-docker{number}:v2"
    local = f"{PREFIX}-plugin:latest"
    try:
        client.plugins.create(v1, plugin_tar("engineapi replay plugin", stamp))
        client.plugins.create(v2, plugin_tar("engineapi replay plugin v2", stamp))
        plugin = client.plugins.inspect(v1)
        assert plugin.name == v1 and plugin.enabled is False
        assert v1 in [p.name for p in client.plugins.list(filters={"capability": ["logdriver"]})]
        client.plugins.set(v1, {"GREETING": "hi"})
        client.plugins.enable(v1, timeout=10)
        assert client.plugins.inspect(v1).enabled is True
        client.plugins.disable(v1)
        client.plugins.push(v1, auth={}).wait()
        client.plugins.push(v2, auth={}).wait()
        client.plugins.delete(v1)

        privileges = client.plugins.privileges(v1, auth={})
        assert [(p.name, p.value) for p in privileges] == [("mount", ["/usr"])]
        client.plugins.pull(v1, name=local, privileges=privileges, auth={}).wait()
        assert client.plugins.inspect(local).plugin_reference == v1
        client.plugins.upgrade(local, remote=v2, privileges=USR_MOUNT, auth={}).wait()
        upgraded = client.plugins.inspect(local)
        assert upgraded.plugin_reference == v2
        assert upgraded.config and upgraded.config.description == "engineapi replay plugin v2"
        client.plugins.delete(local)
        client.plugins.delete(v2)
    finally:
        for name in (v1, v2, local):
            try:
                client.plugins.delete(name, force=True)
            except DaemonError:
                pass
