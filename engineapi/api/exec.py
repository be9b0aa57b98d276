"""Exec: run a command in a running container — the Exec tag's operations, and `run`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from engineapi import models
from engineapi.api._call import Call, Flow, HijackCall, Pause, Reply, to_body
from engineapi.api._cliconfig import CliConfigNeeded

if TYPE_CHECKING:
    from engineapi.models import ExecConfig, ExecInspectResponse, IDResponse

__all__ = [
    "ExecResult",
    "ExecStreamCall",
    "create",
    "inspect",
    "resize",
    "run",
    "start",
    "start_detached",
    "stream",
]


def _none(reply: Reply) -> None:
    return None


def create(container: str, config: ExecConfig | Mapping[str, Any]) -> Call[IDResponse]:
    """Set up a command to run in `container`; start it with `start` —
    ``POST /containers/{id}/exec``.

    ``ExecConfig(cmd=["ls", "/"], attach_stdout=True, attach_stderr=True)`` is the typed form.
    Without ``DetachKeys``, the ``detachKeys`` of the docker CLI's ``config.json`` is sent, as
    ``docker exec`` sends it (read by the client when it sends the call).
    """
    return Call(
        "ContainerExec",
        container,
        json_body=to_body(config, models.ExecConfig),
        decode=lambda r: models.IDResponse.from_wire(r.json()),
        cli_config=_DETACH_KEYS,
    )


_DETACH_KEYS = CliConfigNeeded(detach_keys_body=True)


def _exec_tty(reply: Reply) -> bool:
    return bool((reply.json().get("ProcessConfig") or {}).get("tty"))


def _known_tty(exec: object) -> bool | None:
    """The TTY flag an exec object carries (an `ExecInspectResponse`), if any."""
    process = getattr(exec, "process_config", None)
    tty = getattr(process, "tty", None)
    return tty if isinstance(tty, bool) else None


def start(
    id: str, *, tty: bool | None = None, console_size: Sequence[int] | None = None
) -> HijackCall:
    """Start an exec and attach to it: output frames, stdin if the exec was created with
    ``attach_stdin`` — ``POST /exec/{id}/start`` (the connection is hijacked).

    The output is raw bytes for an exec created with ``Tty``, else multiplexed frames: the
    daemon frames it by the ``Tty`` it is sent here, so it must match the exec's own. Left
    out (None), the client learns it first (``GET /exec/{id}/json``), or from `id` when it
    is an `ExecInspectResponse`; give `tty` to spare that request. `console_size` is
    (height, width).
    """
    if tty is None:
        tty = _known_tty(id)
    body: dict[str, Any] = {"Detach": False, "Tty": bool(tty)}
    if console_size is not None:
        body["ConsoleSize"] = list(console_size)
    return HijackCall(
        "ExecStart",
        id,
        json_body=body,
        tty=tty,
        tty_probe=None if tty is not None else Call("ExecInspect", id, decode=_exec_tty),
        tty_in_body=True,
        response_timeout=None,
    )


def start_detached(id: str, *, tty: bool = False) -> Call[None]:
    """Start an exec in the background — ``POST /exec/{id}/start`` with ``Detach``."""
    return Call(
        "ExecStart",
        id,
        json_body={"Detach": True, "Tty": tty},
        decode=_none,
    )


def resize(id: str, *, height: int, width: int) -> Call[None]:
    """Resize an exec's TTY — ``POST /exec/{id}/resize``."""
    return Call(
        "ExecResize",
        id,
        query={"h": height, "w": width},
        decode=_none,
    )


def inspect(id: str) -> Call[ExecInspectResponse]:
    """An exec's state, command and exit code — ``GET /exec/{id}/json``."""
    return Call(
        "ExecInspect",
        id,
        decode=lambda r: models.ExecInspectResponse.from_wire(r.json()),
    )


@attrs.frozen
class ExecStreamCall:
    """What `stream` asks of the client: `create` the exec, attach to it (`start`) and hand its
    output over as it comes, then run `exit_code` (the same flow `run` ends with)."""

    create: Call[IDResponse]
    tty: bool

    def start(self, exec_id: str) -> HijackCall:
        return start(exec_id, tty=self.tty)


def exit_code(exec_id: str) -> Flow[int]:
    """The exit code of a finished exec: inspected (``GET /exec/{id}/json``) with a growing
    pause until the daemon reports it — it can lag the end of the output."""
    delay = 0.005
    while True:
        state: Any = yield inspect(exec_id)
        if not state.running and state.exit_code is not None:
            return int(state.exit_code)
        yield Pause(delay)
        delay = min(delay * 2, 0.2)


@attrs.frozen
class ExecResult:
    """What `run` returns: the exit code is never lost, even for a command that fails."""

    exit_code: int
    stdout: bytes
    stderr: bytes


def _run_config(
    cmd: Sequence[str] | str,
    tty: bool,
    env: Mapping[str, str] | None,
    workdir: str | None,
    user: str | None,
    privileged: bool,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "Cmd": [cmd] if isinstance(cmd, str) else list(cmd),
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": tty,
    }
    if env:
        config["Env"] = [f"{key}={value}" for key, value in env.items()]
    if workdir is not None:
        config["WorkingDir"] = workdir
    if user is not None:
        config["User"] = user
    if privileged:
        config["Privileged"] = True
    return config


def run(
    container: str,
    cmd: Sequence[str] | str,
    *,
    tty: bool = False,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
    privileged: bool = False,
) -> Flow[ExecResult]:
    """Run `cmd` in `container` to completion: (exit code, stdout, stderr) as an `ExecResult`.

    Creates the exec (``POST /containers/{id}/exec``), starts it attached
    (``POST /exec/{id}/start``), reads all its output, then inspects it (``GET /exec/{id}/json``)
    until the daemon reports the exit code — it can lag the end of the output.
    """
    config = _run_config(cmd, tty, env, workdir, user, privileged)
    created: Any = yield create(container, config)
    stdout, stderr = yield start(created.id, tty=tty)
    code = yield from exit_code(created.id)
    return ExecResult(exit_code=code, stdout=stdout, stderr=stderr)


def stream(
    container: str,
    cmd: Sequence[str] | str,
    *,
    tty: bool = False,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
    privileged: bool = False,
) -> ExecStreamCall:
    """Run `cmd` in `container`, handing its output over as it comes (``(stream, bytes)``
    frames); its `exit_code` is set once the output has ended.

    The same three requests as `run`: ``POST /containers/{id}/exec``,
    ``POST /exec/{id}/start``, then ``GET /exec/{id}/json`` for the exit code.
    """
    config = _run_config(cmd, tty, env, workdir, user, privileged)
    return ExecStreamCall(create(container, config), tty=tty)
