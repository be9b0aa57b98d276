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

from engineapi import AsyncClient, Client, DaemonError
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


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str,
    *,
    volatile: tuple[str, ...] = (),
    secrets: tuple[str, ...] = (),
    patterns: tuple[str, ...] = (),
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def register(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        SCENARIOS[name] = Scenario(
            name,
            function,
            asyncio.iscoroutinefunction(function),
            volatile,
            secrets,
            patterns,
        )
        return function

    return register


# -- raw calls (until the containers issue brings the methods) ---------------------------------


def _json(reply: Reply) -> Any:
    return reply.json() if reply.body.strip() else None


def _status(reply: Reply) -> int:
    return reply.status


def create(name: str, *, cmd: list[str], image: str = "busybox", **config: Any) -> Call[Any]:
    body = {"Image": image, "Cmd": cmd, "Labels": {LABEL: name}, **config}
    return Call(
        "ContainerCreate",
        "POST",
        "/containers/create",
        query={"name": f"engineapi-replay-{name}"},
        json_body=body,
        decode=_json,
    )


def start(cid: str) -> Call[int]:
    return Call("ContainerStart", "POST", f"/containers/{cid}/start", decode=_status)


def stop(cid: str) -> Call[int]:
    return Call("ContainerStop", "POST", f"/containers/{cid}/stop", query={"t": 1}, decode=_status)


def wait(cid: str) -> Call[Any]:
    return Call("ContainerWait", "POST", f"/containers/{cid}/wait", decode=_json)


def inspect(cid: str) -> Call[Any]:
    return Call("ContainerInspect", "GET", f"/containers/{cid}/json", decode=_json)


def remove(cid: str, *, force: bool = False) -> Call[int]:
    return Call(
        "ContainerDelete",
        "DELETE",
        f"/containers/{cid}",
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


@scenario("listing", volatile=("GET /images/json response.body.*.Containers",))
def listing(client: Client) -> None:
    cid = client._send(create("listing", cmd=["true"]))["Id"]
    try:
        mine = client.containers.list(all=True, filters={"label": [f"{LABEL}=listing"]})
        assert [c.id for c in mine] == [cid]
        assert mine[0].labels == {LABEL: "listing"}
        assert client.containers.list(filters={"label": [f"{LABEL}=listing"]}) == []  # not running
        images = client.images.list(filters={"reference": ["busybox"]})
        assert any("busybox:latest" in tag for image in images for tag in image.repo_tags or [])
    finally:
        client._send(remove(cid))


@scenario("containers")
def containers(client: Client) -> None:
    cid = client._send(create("containers", cmd=["sleep", "300"], StopSignal="SIGKILL"))["Id"]
    try:
        assert client._send(start(cid)) == 204
        running = client.containers.list(filters={"label": [f"{LABEL}=containers"]})
        assert [c.id for c in running] == [cid] and running[0].state == "running"
        assert client._send(inspect(cid))["State"]["Running"] is True
        exec_id = client._send(
            Call(
                "ContainerExec",
                "POST",
                f"/containers/{cid}/exec",
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
            "POST",
            f"/exec/{exec_id}/start",
            json_body={"Detach": False, "Tty": False},
            decode=_json,
        )
        out = bytearray()
        with client._hijack(exec_start) as stream:
            while chunk := stream.read(65536, timeout=30):
                out += chunk
        assert stdout_of(bytes(out)) == b"hello from exec\n"
        assert client._send(stop(cid)) == 204
        assert client._send(inspect(cid))["State"]["Running"] is False
        # Not forced: Podman 4.3 fails to force-remove a container it has just stopped.
        assert client._send(remove(cid)) == 204
    except BaseException:
        client._send(remove(cid, force=True))
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
        "POST",
        f"/containers/{cid}/attach",
        query={"stream": True, "stdin": True, "stdout": True, "stderr": True},
        decode=_json,
    )


@scenario("attach")
def attach(client: Client) -> None:
    cid = client._send(create("attach", cmd=["cat"], **ATTACH_CONFIG))["Id"]
    try:
        out = bytearray()
        with client._hijack(_attach(cid)) as stream:
            assert client._send(start(cid)) == 204
            stream.write(PAYLOAD)
            stream.close_write()
            while chunk := stream.read(65536, timeout=30):
                out += chunk
        assert stdout_of(bytes(out)) == PAYLOAD
        assert client._send(wait(cid))["StatusCode"] == 0
        assert client._send(remove(cid)) == 204
    except BaseException:
        client._send(remove(cid, force=True))
        raise


@scenario("attach_async")
async def attach_async(client: AsyncClient) -> None:
    cid = (await client._send(create("attach_async", cmd=["cat"], **ATTACH_CONFIG)))["Id"]
    try:
        out = bytearray()
        async with await client._hijack(_attach(cid)) as stream:
            assert await client._send(start(cid)) == 204
            await stream.write(PAYLOAD)
            await stream.close_write()
            while chunk := await stream.read(65536, timeout=30):
                out += chunk
        assert stdout_of(bytes(out)) == PAYLOAD
        assert (await client._send(wait(cid)))["StatusCode"] == 0
        assert await client._send(remove(cid)) == 204
    except BaseException:
        await client._send(remove(cid, force=True))
        raise


UNTIL_AHEAD = timedelta(seconds=2)


@scenario("events", volatile=WHOLE_INFO)
def events(client: Client) -> None:
    cid = client._send(create("events", cmd=["true"]))["Id"]
    created = daemon_time(client._send(inspect(cid))["Created"])
    assert client._send(start(cid)) == 204
    assert client._send(wait(cid))["StatusCode"] == 0
    assert client._send(remove(cid)) == 204
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
    cid = (await client._send(create("events_async", cmd=["true"])))["Id"]
    created = daemon_time((await client._send(inspect(cid)))["Created"])
    assert await client._send(start(cid)) == 204
    assert (await client._send(wait(cid)))["StatusCode"] == 0
    assert await client._send(remove(cid)) == 204
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
    cid = client._send(create("archive", cmd=["sleep", "300"], StopSignal="SIGKILL"))["Id"]
    try:
        assert client._send(start(cid)) == 204
        tar = tar_of(UPLOAD)
        pieces = [tar[i : i + 1000] for i in range(0, len(tar), 1000)]
        put: Call[int] = Call(
            "PutContainerArchive",
            "PUT",
            f"/containers/{cid}/archive",
            query={"path": "/tmp"},
            headers=[("Content-Type", "application/x-tar")],
            body=iter(pieces),  # chunked: no length given
            decode=_status,
        )
        assert client._send(put) == 200
        get = RawCall(
            "ContainerArchive",
            "GET",
            f"/containers/{cid}/archive",
            query={"path": "/tmp/replay.txt"},
        )
        with client._raw(get) as stream:
            data = b"".join(stream)
        assert tar_files(data) == UPLOAD
    finally:
        client._send(remove(cid, force=True))


@scenario("export")
def export(client: Client) -> None:
    image_tar = tar_of({"hello.txt": b"hello from a tiny image\n"})
    imported: Call[Any] = Call(
        "ImageCreate",
        "POST",
        "/images/create",
        query={"fromSrc": "-", "repo": TINY_IMAGE, "tag": "export"},
        headers=[("Content-Type", "application/x-tar")],
        body=iter([image_tar[:1024], image_tar[1024:]]),
        content_length=len(image_tar),  # streamed, with a Content-Length
        decode=lambda r: [json.loads(line) for line in r.body.splitlines() if line.strip()],
    )
    image = client._send(imported)[-1]["status"]
    assert image.startswith("sha256:")
    try:
        cid = client._send(create("export", cmd=["/hello"], image=image))["Id"]
        try:
            export_call = RawCall("ContainerExport", "GET", f"/containers/{cid}/export")
            with client._raw(export_call) as stream:
                pieces = list(stream)
            files = tar_files(b"".join(pieces))
            assert files["hello.txt"] == b"hello from a tiny image\n"
        finally:
            client._send(remove(cid))  # never started
    finally:
        client._send(
            Call(
                "ImageDelete",
                "DELETE",
                f"/images/{image}",
                query={"force": True},
                decode=_json,
            )
        )


@scenario("scrub", secrets=SECRETS, patterns=(SECRET_PATTERN,))
def scrub(client: Client) -> None:
    credentials = {"username": USERNAME, "password": PASSWORD, "serveraddress": REGISTRY}
    login: Call[Any] = Call("SystemAuth", "POST", "/auth", json_body=credentials, decode=_json)
    try:
        assert client._send(login)["Status"] == "Login Succeeded"
    except DaemonError as exc:  # Podman 4.3's compat /auth insists on HTTPS
        assert exc.status == 500 and "HTTPS" in exc.message
    pull: Call[bytes] = Call(
        "ImageCreate",
        "POST",
        "/images/create",
        query={"fromImage": f"{REGISTRY}/engineapi/replay-nothing", "tag": "latest"},
        headers=[("X-Registry-Auth", REGISTRY_AUTH)],
        decode=lambda r: r.body,
    )
    try:
        body = client._send(pull)  # Podman answers 200 and reports the error in the stream
        assert b"error" in body
    except DaemonError as exc:  # Docker: logged in, and the image is not there
        assert exc.status == 404 and "manifest unknown" in exc.message
