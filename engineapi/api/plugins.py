"""Plugins (managed, v2): install, configure, enable and share them — the Plugin tag's
operations.

Installing is three steps, as ``docker plugin install`` does them: `privileges` (what the
plugin asks for), `pull` (granting exactly those) and `enable`.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    ProgressCall,
    Reply,
    decode_list,
    encode_filters,
    to_body,
)
from engineapi.api.images import registry_auth_header
from engineapi.archive.local import TarOfPath, fspath, is_path

if TYPE_CHECKING:
    import os

    from engineapi.models import AuthConfig, CreateImageInfo, Plugin, PluginPrivilege, PushImageInfo

__all__ = [
    "create",
    "delete",
    "disable",
    "enable",
    "inspect",
    "list",
    "privileges",
    "pull",
    "push",
    "set",
    "upgrade",
]


def _none(reply: Reply) -> None:
    return None


def _plugin_or_none(reply: Reply) -> Plugin | None:
    # Docker answers a removal with an empty 200; the spec promises the plugin.
    return models.Plugin.from_wire(reply.json()) if reply.body.strip() else None


def _granted(
    privileges: Sequence[PluginPrivilege | Mapping[str, Any]] | None,
) -> builtins.list[Any]:
    return [to_body(p, models.PluginPrivilege) for p in privileges or ()]


def list(*, filters: Filters | None = None) -> Call[builtins.list[Plugin]]:
    """Installed plugins — ``GET /plugins``.

    `filters`: ``{"capability": ["volumedriver"]}``, ``{"enabled": ["true"]}``.
    """
    return Call(
        "PluginList",
        query={"filters": encode_filters(filters)},
        decode=decode_list(models.Plugin),
    )


def privileges(
    remote: str, *, auth: AuthConfig | Mapping[str, Any] | None = None
) -> Call[builtins.list[PluginPrivilege]]:
    """What the plugin `remote` (a registry reference) asks for: network, mounts, devices,
    capabilities… — ``GET /plugins/privileges``; grant exactly these to `pull` it.

    `auth` (sent as ``X-Registry-Auth``) is for a private registry. Docker answers an empty
    list, not an error, for a plugin it cannot read (missing, or the credentials refused).
    """
    return Call(
        "GetPluginPrivileges",
        query={"remote": remote},
        headers=registry_auth_header(auth) if auth is not None else (),
        decode=decode_list(models.PluginPrivilege),
    )


def pull(
    remote: str,
    *,
    name: str | None = None,
    privileges: Sequence[PluginPrivilege | Mapping[str, Any]] | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> ProgressCall[CreateImageInfo]:
    """Install the plugin `remote` (disabled) — ``POST /plugins/pull``; a progress stream
    whose `wait()` raises the daemon's error.

    `privileges` must be exactly what `privileges(remote)` lists (the daemon refuses others);
    `name` installs it under another name (a local alias); `auth` is sent as
    ``X-Registry-Auth``.
    """
    return ProgressCall(
        "PluginPull",
        query={"remote": remote, "name": name},
        headers=registry_auth_header(auth),
        json_body=_granted(privileges),
        decode_item=models.CreateImageInfo.from_wire,
        response_timeout=None,
    )


def inspect(name: str) -> Call[Plugin]:
    """An installed plugin: its config, settings and whether it is enabled —
    ``GET /plugins/{name}/json``."""
    return Call(
        "PluginInspect",
        name,
        decode=lambda r: models.Plugin.from_wire(r.json()),
    )


def delete(name: str, *, force: bool = False) -> Call[Plugin | None]:
    """Remove a plugin (`force`: even an enabled one) — ``DELETE /plugins/{name}``.

    The spec promises the removed plugin; Docker sends nothing back (``None`` then).
    """
    return Call(
        "PluginDelete",
        name,
        query={"force": force or None},
        decode=_plugin_or_none,
    )


def enable(name: str, *, timeout: int = 0) -> Call[None]:
    """Start a plugin — ``POST /plugins/{name}/enable``.

    The daemon waits until the plugin listens on its socket. `timeout` (seconds, 0: the
    daemon's default) bounds the daemon's calls to the plugin once it runs; it is always sent,
    as Docker 20.10 fails on an enable without it.
    """
    return Call(
        "PluginEnable",
        name,
        query={"timeout": timeout},
        decode=_none,
        response_timeout=None,
    )


def disable(name: str, *, force: bool = False) -> Call[None]:
    """Stop a plugin (`force`: even while something uses it) —
    ``POST /plugins/{name}/disable``."""
    return Call(
        "PluginDisable",
        name,
        query={"force": force or None},
        decode=_none,
        response_timeout=None,
    )


def upgrade(
    name: str,
    *,
    remote: str,
    privileges: Sequence[PluginPrivilege | Mapping[str, Any]] | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> ProgressCall[CreateImageInfo]:
    """Replace a disabled plugin with `remote` (a newer tag), keeping its settings —
    ``POST /plugins/{name}/upgrade``; a progress stream whose `wait()` raises on failure.

    `privileges` as for `pull`: exactly what `privileges(remote)` lists.
    """
    return ProgressCall(
        "PluginUpgrade",
        name,
        query={"remote": remote},
        headers=registry_auth_header(auth),
        json_body=_granted(privileges),
        decode_item=models.CreateImageInfo.from_wire,
        response_timeout=None,
    )


def create(
    name: str,
    context: bytes | Iterable[bytes] | AsyncIterable[bytes] | str | os.PathLike[str],
    *,
    content_length: int | None = None,
) -> Call[None]:
    """Create a plugin from a directory holding ``config.json`` and ``rootfs/`` —
    ``POST /plugins/create``.

    `context` is that directory's path (sent as a tar, streamed), or the tar itself (bytes,
    or pieces streamed as they come). `name` is the plugin's reference, e.g.
    ``registry:5000/team/myplugin:1.0`` to `push` it there later. The plugin starts disabled.
    """
    body: bytes | Iterable[bytes] | AsyncIterable[bytes] | None = None
    local = None
    if is_path(context):  # read by the client when it sends the call
        local = TarOfPath(fspath(context), arcname="")
    else:
        body = cast("bytes | Iterable[bytes] | AsyncIterable[bytes]", context)
    return Call(
        "PluginCreate",
        query={"name": name},
        headers=[("Content-Type", "application/x-tar")],
        body=body,
        content_length=content_length,
        decode=_none,
        response_timeout=None,
        local=local,
    )


def push(
    name: str, *, auth: AuthConfig | Mapping[str, Any] | None = None
) -> ProgressCall[PushImageInfo]:
    """Push a plugin to the registry its name points at — ``POST /plugins/{name}/push``; a
    progress stream whose `wait()` raises the registry's error (e.g. unauthorized)."""
    return ProgressCall(
        "PluginPush",
        name,
        headers=registry_auth_header(auth),
        decode_item=models.PushImageInfo.from_wire,
        response_timeout=None,
    )


def set(name: str, settings: Sequence[str] | Mapping[str, str]) -> Call[None]:
    """Change a disabled plugin's settings — ``POST /plugins/{name}/set``.

    ``{"DEBUG": "1"}`` sets an env variable, ``{"mymount.source": "/data"}`` a mount source,
    ``{"myargs": "a b"}`` args, ``{"mydevice.path": "/dev/x"}`` a device; a list of
    ``"key=value"`` strings is accepted too. Only what the plugin declares settable changes.
    """
    if isinstance(settings, Mapping):
        body = [f"{key}={value}" for key, value in settings.items()]
    else:
        body = builtins.list(settings)
    return Call("PluginSet", name, json_body=body, decode=_none)
