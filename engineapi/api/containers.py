"""Containers: every operation of the Container tag, as call builders."""

from __future__ import annotations

import base64
import builtins
import json
import re
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, Unpack

import attrs

from engineapi import models
from engineapi.api import images as _images
from engineapi.api._call import (
    Call,
    ExtractCall,
    Filters,
    Flow,
    HijackCall,
    OutputCall,
    RawCall,
    Reply,
    StreamCall,
    Timestamp,
    WebSocketCall,
    decode_list,
    encode_filters,
    encode_timestamp,
    to_body,
)
from engineapi.api._cliconfig import CliConfigNeeded
from engineapi.archive.local import TarOfPath, fspath
from engineapi.errors import (
    ConfigError,
    Conflict,
    DaemonError,
    InvalidArgument,
    NotFound,
    RemoteProtocolError,
)

if TYPE_CHECKING:
    import os

    from engineapi.api._shortcuts import Ports, RunOptions
    from engineapi.api.images import Changes
    from engineapi.models import (
        ContainerConfig,
        ContainerCreateRequest,
        ContainerCreateResponse,
        ContainerInspectResponse,
        ContainerPruneResponse,
        ContainerStatsResponse,
        ContainerSummary,
        ContainerTopResponse,
        ContainerUpdateRequest,
        ContainerUpdateResponse,
        ContainerWaitResponse,
        FilesystemChange,
        IDResponse,
    )

__all__ = [
    "PULL_POLICIES",
    "PathStat",
    "PortMapping",
    "Ports",
    "RunCall",
    "RunOptions",
    "RunResult",
    "RunStreamCall",
    "archive_info",
    "attach",
    "attach_websocket",
    "changes",
    "commit",
    "copy_from",
    "copy_to",
    "create",
    "delete",
    "export",
    "get_archive",
    "inspect",
    "kill",
    "list",
    "logs",
    "pause",
    "port",
    "prune",
    "put_archive",
    "rename",
    "resize",
    "restart",
    "run",
    "run_detached",
    "run_stream",
    "start",
    "stats",
    "stats_stream",
    "stop",
    "top",
    "unpause",
    "update",
    "wait",
]


def _none(reply: Reply) -> None:
    return None


def _tty_probe(id: str) -> Call[bool]:
    """Whether the container has a TTY (raw output) — needed before API 1.42."""
    return Call(
        "ContainerInspect",
        id,
        decode=lambda r: bool((r.json().get("Config") or {}).get("Tty")),
    )


def list(
    *,
    all: bool = False,
    limit: int | None = None,
    size: bool = False,
    filters: Filters | None = None,
) -> Call[builtins.list[ContainerSummary]]:
    """Containers, running ones only unless `all` — ``GET /containers/json``.

    `limit` returns the most recently created ones (stopped included); `size` adds
    ``SizeRw``/``SizeRootFs`` (slow); `filters` as the CLI's ``docker ps --filter``.
    """
    return Call(
        "ContainerList",
        query={
            "all": all or None,
            "limit": limit,
            "size": size or None,
            "filters": encode_filters(filters),
        },
        decode=decode_list(models.ContainerSummary),
    )


_PROXY_ENV = CliConfigNeeded(proxy_env=True)
_DETACH_KEYS = CliConfigNeeded(detach_keys_query=True)


def create(
    config: ContainerCreateRequest | Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    platform: str | None = None,
    image: str | None = None,
    command: Sequence[str] | str | None = None,
    **options: Unpack[RunOptions],
) -> Call[ContainerCreateResponse]:
    """Create a container from `config` (image, command, host config, networks) —
    ``POST /containers/create``.

    ``ContainerCreateRequest(image="busybox", cmd=["echo", "hi"])`` is the typed form; a plain
    mapping with the API's keys (or the attributes' snake_case names) is checked against it
    before anything is sent: an unknown key raises `InvalidArgument` naming the closest field
    (`engineapi.api.Raw` sends a mapping unchecked). `platform` (``linux/arm64``) picks the
    image variant. The other keywords are ``docker run``'s options (`RunOptions`), laid over `config`.
    As ``docker create``, the ``proxies`` of the docker CLI's ``config.json`` (the entry for
    this daemon, else ``default``) join ``Env`` as ``HTTP_PROXY``/``http_proxy``, … — each
    name ``Env`` does not set already (the client reads the file when it sends the call).
    """
    body = _create_body(
        config,
        image,
        command,
        **options,
    )
    return Call(
        "ContainerCreate",
        query={"name": name, "platform": platform},
        json_body=body,
        decode=lambda r: models.ContainerCreateResponse.from_wire(r.json()),
        # As docker run/create: config.json's proxies join Env (the client reads the file).
        cli_config=_PROXY_ENV,
    )


def _create_body(
    config: ContainerCreateRequest | Mapping[str, Any] | None,
    image: str | None,
    command: Sequence[str] | str | None,
    **options: Unpack[RunOptions],
) -> dict[str, Any]:
    """The checked create request with the ``docker run`` keywords laid over it."""
    body: dict[str, Any] = (
        to_body(config, models.ContainerCreateRequest) if config is not None else {}
    )
    if image is not None:
        if body.get("Image") not in (None, image):
            raise InvalidArgument(
                f"image={image!r} conflicts with Image={body['Image']!r} in the config",
                argument="image",
            )
        body["Image"] = image
    from engineapi.api._shortcuts import apply_shortcuts  # on first use: not on import

    return apply_shortcuts(body, command=command, **options)


def inspect(id: str, *, size: bool = False) -> Call[ContainerInspectResponse]:
    """Everything about a container — ``GET /containers/{id}/json``."""
    return Call(
        "ContainerInspect",
        id,
        query={"size": size or None},
        decode=lambda r: models.ContainerInspectResponse.from_wire(r.json()),
    )


@attrs.frozen
class PortMapping:
    """One published port, as a line of ``docker port``: `private_port` (``"80/tcp"``) is
    reachable on the host at `host_ip`:`host_port` (``str()`` gives the CLI's line)."""

    private_port: str
    host_ip: str
    host_port: int

    @property
    def host(self) -> str:
        """``host_ip:host_port``, brackets around an IPv6 address (``[::]:8080``)."""
        ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        return f"{ip}:{self.host_port}"

    def __str__(self) -> str:
        return f"{self.private_port} -> {self.host}"


def _port_order(key: str) -> tuple[int, str]:
    number, _, protocol = key.partition("/")
    return (int(number) if number.isdigit() else -1, protocol)


def _port_mappings(reply: Reply, private_port: str | None) -> builtins.list[PortMapping]:
    settings = reply.json().get("NetworkSettings") or {}
    ports = settings.get("Ports") or {}
    if not isinstance(ports, Mapping):
        raise RemoteProtocolError(f"NetworkSettings.Ports is not an object: {ports!r}")
    found = []
    for key in sorted(ports, key=_port_order):
        if private_port is not None and key != private_port:
            continue
        for binding in ports[key] or ():  # null: exposed, not published
            host_port = str(binding.get("HostPort") or "")
            if host_port.isdigit():
                found.append(PortMapping(key, binding.get("HostIp") or "", int(host_port)))
    return found


def port(id: str, private_port: str | int | None = None) -> Call[builtins.list[PortMapping]]:
    """The published ports of a container, as ``docker port`` lists them — from
    ``GET /containers/{id}/json`` (``NetworkSettings.Ports``).

    ``port(id, "80/tcp")`` (or ``80``, ``"80"``: tcp is the default) gives that port's host
    bindings, ``port(id)`` all of them, sorted by port; ``[]`` when none is published (where
    the CLI prints an error). ``str(mapping)`` is the CLI's line (``80/tcp -> 0.0.0.0:8080``),
    ``mapping.host`` its ``0.0.0.0:8080``.
    """
    key: str | None = None
    if private_port is not None:
        if isinstance(private_port, bool) or not isinstance(private_port, str | int):
            raise InvalidArgument(
                f"private_port must be a port such as '80/tcp' or 80, not {private_port!r}",
                argument="private_port",
            )
        key = str(private_port)
        if not re.fullmatch(r"\d+(/(tcp|udp|sctp))?", key):
            raise InvalidArgument(
                f"private_port: {private_port!r} is not a container port ('80', '80/tcp', "
                "'53/udp')",
                argument="private_port",
            )
        if "/" not in key:
            key += "/tcp"
    return Call("ContainerInspect", id, decode=lambda r: _port_mappings(r, key))


def commit(
    id: str,
    *,
    repo: str | None = None,
    tag: str | None = None,
    comment: str | None = None,
    author: str | None = None,
    pause: bool = True,
    changes: Changes | None = None,
    config: ContainerConfig | Mapping[str, Any] | None = None,
) -> Call[IDResponse]:
    """Make an image from a container (``docker container commit``) — ``POST /commit``;
    the same call as `images.commit`. `changes` are Dockerfile instructions (a list, or one
    string with one a line), as ``docker commit -c``."""
    return _images.commit(
        id,
        repo=repo,
        tag=tag,
        comment=comment,
        author=author,
        pause=pause,
        changes=changes,
        config=config,
    )


def top(id: str, *, ps_args: str | None = None) -> Call[ContainerTopResponse]:
    """The processes running in a container (``ps`` of it) — ``GET /containers/{id}/top``."""
    return Call(
        "ContainerTop",
        id,
        query={"ps_args": ps_args},
        decode=lambda r: models.ContainerTopResponse.from_wire(r.json()),
    )


def logs(
    id: str,
    *,
    stdout: bool = True,
    stderr: bool = True,
    follow: bool = False,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    timestamps: bool = False,
    tail: int | str | None = None,
) -> OutputCall:
    """A container's output, as ``(stream, bytes)`` frames — ``GET /containers/{id}/logs``.

    `follow` keeps the stream open for new output (no timeout applies to a quiet stream);
    `since`/`until` bound it in time; `tail` keeps the last lines (``"all"`` for every line).
    Multiplexed or raw (TTY) is decided from the Content-Type (API ≥ 1.42) or the
    container's TTY flag.
    """
    return OutputCall(
        "ContainerLogs",
        id,
        query={
            "follow": follow or None,
            "stdout": stdout,
            "stderr": stderr,
            "since": encode_timestamp(since),
            "until": encode_timestamp(until),
            "timestamps": timestamps or None,
            "tail": tail,
        },
        tty_probe=_tty_probe(id),
    )


def changes(id: str) -> Call[builtins.list[FilesystemChange]]:
    """Files changed in the container's filesystem — ``GET /containers/{id}/changes``."""
    return Call(
        "ContainerChanges",
        id,
        decode=decode_list(models.FilesystemChange),
    )


def export(id: str) -> RawCall:
    """The container's filesystem as a tar stream — ``GET /containers/{id}/export``."""
    return RawCall("ContainerExport", id)


def stats(id: str, *, one_shot: bool = False) -> Call[ContainerStatsResponse]:
    """One resource-usage sample — ``GET /containers/{id}/stats?stream=false``.

    The daemon waits for a second sample to compute CPU usage unless `one_shot` (Docker only;
    Podman ignores it).
    """
    return Call(
        "ContainerStats",
        id,
        query={"stream": False, "one-shot": one_shot or None},
        decode=lambda r: models.ContainerStatsResponse.from_wire(r.json()),
    )


def stats_stream(id: str) -> StreamCall[ContainerStatsResponse]:
    """Resource usage, one sample a second until closed — ``GET /containers/{id}/stats``."""
    return StreamCall(
        "ContainerStats",
        id,
        query={"stream": True},
        decode_item=models.ContainerStatsResponse.from_wire,
    )


def resize(id: str, *, height: int, width: int) -> Call[None]:
    """Resize the container's TTY — ``POST /containers/{id}/resize``."""
    return Call(
        "ContainerResize",
        id,
        query={"h": height, "w": width},
        decode=_none,
    )


def start(id: str, *, detach_keys: str | None = None) -> Call[None]:
    """Start a container; starting a running one is not an error — ``POST /containers/{id}/start``."""
    return Call(
        "ContainerStart",
        id,
        query={"detachKeys": detach_keys},
        decode=_none,
        expect=frozenset({304}),
    )


def stop(id: str, *, timeout: int | None = None, signal: str | None = None) -> Call[None]:
    """Stop a container: `signal` (default SIGTERM), then SIGKILL after `timeout` seconds;
    stopping a stopped one is not an error — ``POST /containers/{id}/stop``."""
    return Call(
        "ContainerStop",
        id,
        query={"t": timeout, "signal": signal},
        decode=_none,
        expect=frozenset({304}),
        response_timeout=None,  # the daemon answers once the container is down
    )


def restart(id: str, *, timeout: int | None = None, signal: str | None = None) -> Call[None]:
    """Restart a container (stop as in `stop`, then start) — ``POST /containers/{id}/restart``."""
    return Call(
        "ContainerRestart",
        id,
        query={"t": timeout, "signal": signal},
        decode=_none,
        response_timeout=None,
    )


def kill(id: str, *, signal: str | None = None) -> Call[None]:
    """Send a signal (default SIGKILL) to a container — ``POST /containers/{id}/kill``."""
    return Call("ContainerKill", id, query={"signal": signal}, decode=_none)


def update(
    id: str, update: ContainerUpdateRequest | Mapping[str, Any]
) -> Call[ContainerUpdateResponse]:
    """Change a container's resources and restart policy — ``POST /containers/{id}/update``."""
    return Call(
        "ContainerUpdate",
        id,
        json_body=to_body(update, models.ContainerUpdateRequest),
        decode=lambda r: models.ContainerUpdateResponse.from_wire(r.json()),
    )


def rename(id: str, *, name: str) -> Call[None]:
    """Rename a container — ``POST /containers/{id}/rename``."""
    return Call("ContainerRename", id, query={"name": name}, decode=_none)


def pause(id: str) -> Call[None]:
    """Freeze every process of a container — ``POST /containers/{id}/pause``."""
    return Call("ContainerPause", id, decode=_none)


def unpause(id: str) -> Call[None]:
    """Thaw a paused container — ``POST /containers/{id}/unpause``."""
    return Call("ContainerUnpause", id, decode=_none)


def attach(
    id: str,
    *,
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
    logs: bool = False,
    stream: bool = True,
    detach_keys: str | None = None,
) -> HijackCall:
    """Attach to a container: its output as frames and, with `stdin`, its input —
    ``POST /containers/{id}/attach`` (the connection is hijacked).

    Use the result as a context manager; `close_write()` sends EOF to the container's stdin.
    `logs` replays earlier output first. Without `detach_keys`, the ``detachKeys`` of the docker
    CLI's ``config.json`` is sent, as ``docker attach`` sends it (read when the call is sent).
    """
    return HijackCall(
        "ContainerAttach",
        id,
        query={
            "stream": stream,
            "stdin": stdin,
            "stdout": stdout,
            "stderr": stderr,
            "logs": logs or None,
            "detachKeys": detach_keys,
        },
        tty_probe=_tty_probe(id),
        response_timeout=None,
        # As docker attach/run: config.json's detachKeys unless given (the client reads it).
        cli_config=_DETACH_KEYS if detach_keys is None else None,
    )


def attach_websocket(
    id: str,
    *,
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
    logs: bool = False,
    stream: bool = True,
    detach_keys: str | None = None,
) -> WebSocketCall:
    """Attach to a container over a WebSocket — ``GET /containers/{id}/attach/ws``.

    The output arrives as raw bytes (stdout and stderr are not told apart on this endpoint);
    `write()` sends stdin. `stdin`/`stdout`/`stderr` choose the streams on API ≥ 1.42; older
    engines attach all three.
    """
    return WebSocketCall(
        "ContainerAttachWebsocket",
        id,
        query={"stream": stream or None, "logs": logs or None, "detachKeys": detach_keys},
        # Before API 1.42 the endpoint attaches all three streams and takes no choice.
        optional_query={"stdin": stdin, "stdout": stdout, "stderr": stderr},
        response_timeout=None,
    )


def wait(id: str, *, condition: str | None = None) -> Call[ContainerWaitResponse]:
    """Block until the container stops; its exit code — ``POST /containers/{id}/wait``.

    `condition`: ``not-running`` (default), ``next-exit`` or ``removed``. No timeout applies.
    """
    return Call(
        "ContainerWait",
        id,
        query={"condition": condition},
        decode=lambda r: models.ContainerWaitResponse.from_wire(r.json()),
        response_timeout=None,
    )


def delete(
    id: str, *, force: bool = False, volumes: bool = False, link: bool = False
) -> Call[None]:
    """Remove a container (`force` kills it first, `volumes` removes its anonymous volumes) —
    ``DELETE /containers/{id}``."""
    return Call(
        "ContainerDelete",
        id,
        query={"force": force or None, "v": volumes or None, "link": link or None},
        decode=_none,
    )


@attrs.frozen
class PathStat:
    """What the daemon tells about a path in a container (``X-Docker-Container-Path-Stat``)."""

    name: str
    size: int
    mode: int
    mtime: str
    link_target: str

    @classmethod
    def from_reply(cls, reply: Reply) -> PathStat:
        header = reply.headers.get("x-docker-container-path-stat") or ""
        data = json.loads(base64.b64decode(header)) if header else {}
        return cls(
            name=data.get("name", ""),
            size=data.get("size", 0),
            mode=data.get("mode", 0),
            mtime=data.get("mtime", ""),
            link_target=data.get("linkTarget", ""),
        )


def archive_info(id: str, *, path: str) -> Call[PathStat]:
    """Name, size, mode and link target of a path in a container —
    ``HEAD /containers/{id}/archive``."""
    return Call(
        "ContainerArchiveInfo",
        id,
        query={"path": path},
        decode=PathStat.from_reply,
    )


def get_archive(id: str, *, path: str) -> RawCall:
    """A path of the container as a tar stream — ``GET /containers/{id}/archive``."""
    return RawCall("ContainerArchive", id, query={"path": path})


def put_archive(
    id: str,
    tar: bytes | Iterable[bytes] | AsyncIterable[bytes],
    *,
    path: str,
    content_length: int | None = None,
    no_overwrite_dir_non_dir: bool = False,
    copy_uid_gid: bool = False,
) -> Call[None]:
    """Extract a tar archive (bytes, or pieces streamed as they come) into a directory of the
    container — ``PUT /containers/{id}/archive``."""
    return _put_archive(
        id,
        path=path,
        body=tar,
        content_length=content_length,
        no_overwrite_dir_non_dir=no_overwrite_dir_non_dir,
        copy_uid_gid=copy_uid_gid,
    )


def _put_archive(
    id: str,
    *,
    path: str,
    body: bytes | Iterable[bytes] | AsyncIterable[bytes] | None = None,
    local: TarOfPath | None = None,
    content_length: int | None = None,
    no_overwrite_dir_non_dir: bool = False,
    copy_uid_gid: bool = False,
) -> Call[None]:
    return Call(
        "PutContainerArchive",
        id,
        query={
            "path": path,
            "noOverwriteDirNonDir": no_overwrite_dir_non_dir or None,
            "copyUIDGID": copy_uid_gid or None,
        },
        headers=[("Content-Type", "application/x-tar")],
        body=body,
        content_length=content_length,
        decode=_none,
        local=local,
    )


def copy_to(id: str, source: str | os.PathLike[str], *, path: str) -> Call[None]:
    """Copy a local file or directory into the container directory `path`
    (``docker cp SRC CONTAINER:PATH``) — ``PUT /containers/{id}/archive``.

    The tar is streamed from disk as it is sent (flat memory), with its exact length; the
    client reads `source` when it sends the call, not before.
    """
    return _put_archive(id, path=path, local=TarOfPath(fspath(source)))


def copy_from(id: str, path: str, *, dest: str | os.PathLike[str]) -> ExtractCall:
    """Copy `path` out of the container into the local directory `dest`
    (``docker cp CONTAINER:PATH DEST``) — ``GET /containers/{id}/archive``; the extracted paths.

    Extraction is incremental and safe: absolute names, ``..`` escapes, links pointing
    outside `dest` and device nodes raise `UnsafeArchiveError` before anything lands there.
    """
    return ExtractCall(
        "ContainerArchive",
        id,
        query={"path": path},
        dest=fspath(dest),
    )


def prune(*, filters: Filters | None = None) -> Call[ContainerPruneResponse]:
    """Remove stopped containers — ``POST /containers/prune``."""
    return Call(
        "ContainerPrune",
        query={"filters": encode_filters(filters)},
        decode=lambda r: models.ContainerPruneResponse.from_wire(r.json()),
        response_timeout=None,
    )


# -- docker run ---------------------------------------------------------------------------------

#: ``docker run --pull``: pull the image when it is not there, before every run, or never.
PULL_POLICIES = ("missing", "always", "never")


@attrs.frozen
class RunResult:
    """What `run` returns: the exit code (never lost, even for a command that fails) and the
    output; `id` names the container (removed already if `run` was asked to)."""

    id: str
    exit_code: int
    stdout: bytes
    stderr: bytes


def _create_pulling(
    image: str,
    body: dict[str, Any],
    name: str | None,
    platform: str | None,
    pull: str,
) -> Flow[str]:
    """Create the container, pulling `image` as `pull` says (the docker CLI's order)."""
    if pull not in PULL_POLICIES:
        raise ConfigError(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
    if pull == "always":
        yield _images.pull(image, platform=platform)
    try:
        created: ContainerCreateResponse = yield create(body, name=name, platform=platform)
    except NotFound:
        # As the CLI does on any 404 from create: pull, then try once more.
        if pull != "missing":
            raise
        yield _images.pull(image, platform=platform)
        created = yield create(body, name=name, platform=platform)
    return created.id  # typed str: a reply without it raised MissingFieldError


@attrs.frozen(eq=False)
class RunCall:
    """What `run` asks of the client: the steps of ``docker run``, as calls and flows (see
    `run` for the order); the client drives them, writing `input` and reading the output
    while the container runs."""

    image: str
    body: dict[str, Any]
    name: str | None
    platform: str | None
    pull: str
    remove: bool
    input: bytes | None

    @classmethod
    def build(
        cls,
        image: str,
        body: dict[str, Any],
        name: str | None,
        remove: bool,
        pull: str,
        platform: str | None,
        input: bytes | None,
    ) -> Self:
        if pull not in PULL_POLICIES:
            raise ConfigError(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
        if input is not None:
            # As `docker run -i`: stdin open, closed for good after the first attach ends.
            body.update(OpenStdin=True, StdinOnce=True, AttachStdin=True)
        return cls(image, body, name, platform, pull, remove, input)

    @property
    def tty(self) -> bool:
        return bool(self.body.get("Tty"))

    @property
    def auto_remove(self) -> bool:
        """Whether the daemon removes the container itself once it exits."""
        return bool((self.body.get("HostConfig") or {}).get("AutoRemove"))

    def create(self) -> Flow[str]:
        """Create the container (pulling as `pull` says); its id."""
        return _create_pulling(self.image, self.body, self.name, self.platform, self.pull)

    def attach(self, id: str) -> HijackCall:
        """Attach before start, so no output is missed and no log driver is needed."""
        return attach(id, stdin=self.input is not None, stdout=True, stderr=True, stream=True)

    def wait(self, id: str) -> Call[ContainerWaitResponse]:
        """The exit code: sent before start (the daemon answers the head at once), and
        ``next-exit`` cannot mistake the created state for an exit."""
        return wait(id, condition="next-exit")

    def removed(self, id: str) -> Call[ContainerWaitResponse] | None:
        """With AutoRemove, the end of the daemon's removal (sent before start too), so the
        container is gone when `run` returns, as with ``docker run --rm``. Its status code is
        not used: Podman 4.3 answers 0 there whatever the exit code was."""
        return wait(id, condition="removed") if self.auto_remove else None

    def start(self, id: str) -> Call[None]:
        return start(id)

    def finish(self, id: str) -> Flow[None]:
        """After the exit: delete the container if asked and the daemon does not."""
        if self.remove and not self.auto_remove:
            yield from _remove_after_run(id)

    def abandon(self, id: str) -> Flow[None]:
        """Left before its end: remove the container (force) if asked, else leave it."""
        if self.remove:
            yield from _remove_quietly(id)

    def failed(self, id: str, error: BaseException) -> Flow[None]:
        """A step failed: remove the container if asked, and say what became of it."""
        if self.remove:
            yield from _remove_quietly(id)
            error.add_note(f"engineapi.run: the container {id} it created was removed")
        else:  # kept, as asked: say which it is
            error.add_note(
                f"engineapi.run: the container {id} it created is kept (remove=False); "
                f"delete it with client.containers.delete({id[:12]!r}, force=True)"
            )


@attrs.frozen(eq=False)
class RunStreamCall(RunCall):
    """What `run_stream` asks of the client: `RunCall`'s steps, the output handed over as it
    comes."""


def run(
    image: str,
    command: Sequence[str] | str | None = None,
    *,
    config: ContainerCreateRequest | Mapping[str, Any] | None = None,
    name: str | None = None,
    remove: bool = False,
    pull: str = "missing",
    platform: str | None = None,
    input: bytes | None = None,
    **options: Unpack[RunOptions],
) -> RunCall:
    """``docker run`` to completion: the exit code and output of `command` in a new container
    of `image`, as a `RunResult`.

    The docker CLI's order, so no output is lost whatever the logging driver or
    ``HostConfig.AutoRemove``: creates the container (``POST /containers/create``; on a 404
    the image is pulled, ``POST /images/create``, and creation tried again, as
    ``--pull missing`` does), attaches to it (``POST /containers/{id}/attach``, hijacked),
    asks to be told of its exit (``POST /containers/{id}/wait``, condition ``next-exit``, and
    with AutoRemove a second one, ``removed``), starts it (``POST /containers/{id}/start``), reads its output
    from the attach until it exits, then reads the wait's answer for the exit code. `config`
    holds everything else of the create request (``Env``, ``HostConfig``, …; a mapping is
    checked as in `create`); `command` is the argv (a string is split as a shell would,
    `shlex`: use ``["sh", "-c", line]`` to run a shell line). `input` is sent
    to the container's stdin, then EOF (``OpenStdin`` and ``StdinOnce`` are set). `remove`
    deletes the container at the end (``DELETE /containers/{id}``; not needed, and not sent,
    with AutoRemove), also when a step fails; a cancelled call leaves it. `pull` is
    ``missing``, ``always`` or ``never``. `run_stream` hands the output over as it comes.

    The other keywords are ``docker run``'s options, sending what the CLI sends (`RunOptions`):
    `env` (``-e``), `ports` (``-p``: ``{"80/tcp": 8080}``), `volumes` (``-v``), `mounts`
    (``--mount``), `labels`, `network`, `user`, `workdir`, `entrypoint`, `auto_remove`
    (``--rm``). They add to `config`; the same setting given both ways with different values
    raises `InvalidArgument`, and so does a keyword that is not one of them.
    """
    body = _create_body(
        config,
        image,
        command,
        **options,
    )
    return RunCall.build(image, body, name, remove, pull, platform, input)


def run_stream(
    image: str,
    command: Sequence[str] | str | None = None,
    *,
    config: ContainerCreateRequest | Mapping[str, Any] | None = None,
    name: str | None = None,
    remove: bool = False,
    pull: str = "missing",
    platform: str | None = None,
    input: bytes | None = None,
    **options: Unpack[RunOptions],
) -> RunStreamCall:
    """``docker run`` with the output handed over as it comes: ``(stream, bytes)`` frames
    while the container runs; `exit_code` (and `id`) are set once the output has ended.

    The same requests, in the same order, as `run` (whose parameters it takes). Leaving the
    ``with`` block before the end closes the attach; with `remove` the container is then
    removed (force), else it is left running.
    """
    body = _create_body(
        config,
        image,
        command,
        **options,
    )
    return RunStreamCall.build(image, body, name, remove, pull, platform, input)


def run_detached(
    image: str,
    command: Sequence[str] | str | None = None,
    *,
    config: ContainerCreateRequest | Mapping[str, Any] | None = None,
    name: str | None = None,
    pull: str = "missing",
    platform: str | None = None,
    **options: Unpack[RunOptions],
) -> Flow[str]:
    """``docker run --detach``: create a container of `image` (pulling it as `pull` says, see
    `run`) and start it; its id — ``POST /containers/create``, ``POST /containers/{id}/start``."""
    body = _create_body(
        config,
        image,
        command,
        **options,
    )
    id = yield from _create_pulling(image, body, name, platform, pull)
    try:
        yield start(id)
    except DaemonError as exc:
        # Nothing runs and nothing asked to keep it: leave no container behind.
        yield from _remove_quietly(id)
        exc.add_note(f"engineapi.run_detached: the container {id} it created was removed")
        raise
    return id


def _remove_after_run(id: str) -> Flow[None]:
    """`remove` after the exit: a container already gone, or whose removal the daemon has
    begun itself, is removed as asked."""
    try:
        yield delete(id, force=True)
    except NotFound:
        pass
    except Conflict as exc:
        if "already in progress" not in exc.message and "marked for removal" not in exc.message:
            raise


def _remove_quietly(id: str) -> Flow[None]:
    """Remove a container a failed flow made; a failure to remove does not hide the first."""
    try:
        yield delete(id, force=True)
    except DaemonError:
        pass


def __getattr__(name: str) -> Any:
    # The run shortcuts' types, without importing the shortcuts with every client.
    if name in ("Ports", "RunOptions"):
        from engineapi.api import _shortcuts

        return getattr(_shortcuts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
