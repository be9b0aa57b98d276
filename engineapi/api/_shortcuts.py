"""``docker run``'s options as keywords: each one sets in the create request exactly what the
docker CLI sets for it (compared with the CLI's own request in
``tests/conformance/test_run_options_vs_cli.py``).

How they meet an explicit body (``config=``): a shortcut adds to it. Settings that hold
several items merge item by item (``Env`` variables, ``Labels``, ports, ``Binds``,
``Mounts``, anonymous ``Volumes``); the same setting — one variable, one label, one port, or a
single-valued key such as ``User`` — given both ways with different values raises
`InvalidArgument` before anything is sent (equal values are fine).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

from engineapi import models
from engineapi.api._body import check_body, env_list
from engineapi.errors import InvalidArgument

__all__ = [
    "Ports",
    "RunOptions",
    "apply_shortcuts",
    "command_list",
    "entrypoint_list",
    "mount_from_string",
    "port_bindings",
    "split_volumes",
]

#: ``{"80/tcp": 8080}``, ``{"80": ("127.0.0.1", 8080)}``, ``{80: None}`` (a random host port),
#: or a list of such host sides for several bindings of one container port.
Ports = Mapping[str | int, Any]


class RunOptions(TypedDict, total=False):
    """``docker run``'s options, the keywords of ``containers.create``, ``run``,
    ``run_stream`` and ``run_detached``: each sets in the create request what the docker CLI
    sets for it, adding to ``config=`` (the same setting given both ways with different values
    raises `InvalidArgument`)."""

    env: Mapping[str, Any] | Sequence[str] | None
    """``-e``: a mapping (a ``None`` value unsets the variable) or ``"K=V"`` strings."""
    ports: Ports | None
    """``-p``: ``{"80/tcp": 8080}``, ``{"80": ("127.0.0.1", 8080)}``, ``{"80": None}`` for a
    random host port, a list of host sides for several; the port is exposed too."""
    volumes: Sequence[str] | str | None
    """``-v``: ``"/host:/ctr:ro"``, ``"name:/ctr"``, ``"/ctr"`` for an anonymous volume."""
    mounts: Sequence[Any] | str | None
    """``--mount``: its ``"type=bind,src=…,dst=…"`` strings or ``Mount`` mappings."""
    labels: Mapping[str, str] | Sequence[str] | None
    """``--label``: a mapping or ``"k=v"`` strings."""
    network: str | None
    """``--network``: ``HostConfig.NetworkMode``."""
    user: str | int | None
    """``--user``."""
    workdir: str | None
    """``--workdir``."""
    entrypoint: Sequence[str] | str | None
    """``--entrypoint``: a string is one word, as on the command line."""
    auto_remove: bool | None
    """``--rm``: ``HostConfig.AutoRemove`` (the daemon removes the container when it exits)."""


def _check_options(options: Mapping[str, Any]) -> None:
    """Refuse a keyword `RunOptions` lacks, as Python would an unknown argument (keywords
    passed on with ``**`` reach here unchecked)."""
    known = RunOptions.__annotations__
    for name in options:
        if name not in known:
            import difflib

            # docker-py's names (environment=) start with ours; else the closest spelling.
            close = [k for k in known if name.startswith(k) or k.startswith(name)]
            close = close or difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidArgument(f"unexpected keyword argument {name!r}{hint}", argument=name)


def command_list(command: Sequence[str] | str, *, argument: str = "command") -> list[str]:
    """A command as the argv the daemon runs: a string is split as a shell would (`shlex`)."""
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError as exc:
            raise InvalidArgument(f"{argument}: {exc} in {command!r}", argument=argument) from None
    items = list(command)
    if not all(isinstance(item, str) for item in items):
        raise InvalidArgument(
            f"{argument} must be a string or a list of strings", argument=argument
        )
    return items


def entrypoint_list(entrypoint: Sequence[str] | str) -> list[str]:
    """``--entrypoint``: the docker CLI sends a string as *one* word (``"sh -c"`` is the
    program ``sh -c``; ``""`` clears the image's entrypoint); a list is sent as it is."""
    if isinstance(entrypoint, str):
        return [entrypoint]
    return command_list(entrypoint, argument="entrypoint")


def _port_key(port: str | int) -> str:
    key = str(port)
    if not re.fullmatch(r"\d+(-\d+)?(/(tcp|udp|sctp))?", key):
        raise InvalidArgument(
            f"ports: {port!r} is not a container port ('80', '80/tcp', '53/udp')",
            argument="ports",
        )
    return key if "/" in key else f"{key}/tcp"


def _binding(host: Any) -> dict[str, str]:
    """One host side: None (random port), a port, or (host ip, port or None)."""
    if host is None:
        return {"HostIp": "", "HostPort": ""}
    if isinstance(host, bool):
        raise InvalidArgument(f"ports: {host!r} is not a host port", argument="ports")
    if isinstance(host, int | str):
        return {"HostIp": "", "HostPort": str(host)}
    if isinstance(host, tuple) and len(host) in (1, 2) and isinstance(host[0], str):
        port = host[1] if len(host) == 2 else None
        if port is not None and (isinstance(port, bool) or not isinstance(port, int | str)):
            raise InvalidArgument(f"ports: {host!r} is not (host ip, port)", argument="ports")
        return {"HostIp": host[0].strip("[]"), "HostPort": "" if port is None else str(port)}
    raise InvalidArgument(
        f"ports: {host!r} is not a host side (a port, None, or (host ip, port))",
        argument="ports",
    )


def port_bindings(ports: Ports) -> tuple[dict[str, dict[str, Any]], dict[str, list[Any]]]:
    """``-p``: ``ExposedPorts`` and ``HostConfig.PortBindings`` as the CLI sends them. A port
    is exposed too (``-p`` does that), else an image that does not EXPOSE it publishes
    nothing."""
    if not isinstance(ports, Mapping):
        raise InvalidArgument(
            "ports must be a mapping {container port: host side}", argument="ports"
        )
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[Any]] = {}
    for port, host in ports.items():
        key = _port_key(port)
        hosts = host if isinstance(host, list) else [host]
        exposed[key] = {}
        bindings.setdefault(key, []).extend(_binding(h) for h in hosts)
    return exposed, bindings


def split_volumes(volumes: Sequence[str] | str) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """``-v``: ``SOURCE:TARGET[:OPTIONS]`` (a host path or a volume name) goes to
    ``HostConfig.Binds`` (a relative ``./path``, which the CLI makes absolute, is refused:
    builders read no working directory) and a lone
    ``TARGET`` is an anonymous volume (``Volumes``)."""
    items = [volumes] if isinstance(volumes, str) else list(volumes)
    binds: list[str] = []
    anonymous: dict[str, dict[str, Any]] = {}
    for spec in items:
        if not isinstance(spec, str) or not spec:
            raise InvalidArgument(f"volumes: {spec!r} is not a -v string", argument="volumes")
        parts = spec.split(":")
        if len(parts) == 1:
            target = parts[0]
            if not target.startswith("/"):
                raise InvalidArgument(
                    f"volumes: {spec!r}: the container path must be absolute", argument="volumes"
                )
            anonymous[target] = {}
            continue
        if len(parts) > 3 or not parts[0] or not parts[1].startswith("/"):
            raise InvalidArgument(
                f"volumes: {spec!r} is not SOURCE:/TARGET[:OPTIONS]", argument="volumes"
            )
        _not_relative(parts[0], spec, "volumes")
        binds.append(spec)
    return binds, anonymous


def _not_relative(source: str, spec: str, argument: str) -> None:
    # The CLI makes ``./dir`` absolute with its working directory; a call builder reads no
    # process state (a call is a value, sent later, maybe elsewhere): say so instead.
    if source.startswith("."):
        raise InvalidArgument(
            f"{argument}: {spec!r}: give the host path as an absolute path "
            "(os.path.abspath), not relative to the working directory",
            argument=argument,
        )


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmgtp]?)b?", text.strip().lower())
    if match is None:
        raise InvalidArgument(f"mounts: {text!r} is not a size", argument="mounts")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _flag(key: str, value: str | None) -> bool:
    if value is None or value.lower() in ("1", "true"):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise InvalidArgument(f"mounts: {key}={value!r} is not a boolean", argument="mounts")


def mount_from_string(spec: str) -> dict[str, Any]:
    """``--mount type=…,source=…,target=…,…`` as the CLI's ``Mounts`` item."""
    mount: dict[str, Any] = {"Type": "volume"}
    volume: dict[str, Any] = {}
    bind: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    for field in spec.split(","):
        key, eq, value = field.partition("=")
        key = key.strip().lower()
        raw = value if eq else None
        if key == "type":
            mount["Type"] = value
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            if _flag(key, raw):
                mount["ReadOnly"] = True
        elif key == "consistency":
            mount["Consistency"] = value
        elif key == "bind-propagation":
            bind["Propagation"] = value
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _flag(key, raw)
        elif key == "volume-nocopy":
            volume["NoCopy"] = _flag(key, raw)
        elif key == "volume-label":
            name, _, label = value.partition("=")
            volume.setdefault("Labels", {})[name] = label
        elif key == "volume-driver":
            volume.setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            name, _, opt = value.partition("=")
            volume.setdefault("DriverConfig", {}).setdefault("Options", {})[name] = opt
        elif key == "volume-subpath":
            volume["Subpath"] = value
        elif key == "tmpfs-size":
            tmpfs["SizeBytes"] = _size(value)
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(value, 8)
            except ValueError:
                raise InvalidArgument(
                    f"mounts: tmpfs-mode={value!r} is not octal", argument="mounts"
                ) from None
        else:
            raise InvalidArgument(
                f"mounts: unknown --mount key {key!r} in {spec!r}", argument="mounts"
            )
    if "Target" not in mount:
        raise InvalidArgument(f"mounts: {spec!r} has no target", argument="mounts")
    if mount["Type"] == "bind":
        _not_relative(str(mount.get("Source", "")), spec, "mounts")
    if volume:
        mount["VolumeOptions"] = volume
    if bind:
        mount["BindOptions"] = bind
    if tmpfs:
        mount["TmpfsOptions"] = tmpfs
    return mount


def _mounts(mounts: Sequence[Any] | str) -> list[Any]:
    items = [mounts] if isinstance(mounts, str) else list(mounts)
    return [
        mount_from_string(m) if isinstance(m, str) else check_body(m, models.Mount, where="mounts")
        for m in items
    ]


def _labels(labels: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    if isinstance(labels, Mapping):
        return {str(k): str(v) for k, v in labels.items()}
    if isinstance(labels, str):
        labels = [labels]
    out: dict[str, str] = {}
    for item in labels:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _set(body: dict[str, Any], key: str, value: Any, argument: str) -> None:
    """A single-valued key: given both ways, the values must agree."""
    if key in body and body[key] is not None and body[key] != value:
        raise InvalidArgument(
            f"{argument}={value!r} conflicts with {key}={body[key]!r} in the config",
            argument=argument,
        )
    body[key] = value


def _merge_map(body: dict[str, Any], key: str, items: Mapping[str, Any], argument: str) -> None:
    current = dict(body.get(key) or {})
    for name, value in items.items():
        if name in current and current[name] != value:
            raise InvalidArgument(
                f"{argument}: {name!r} is set to {value!r} here and to {current[name]!r} "
                f"in the config's {key}",
                argument=argument,
            )
        current[name] = value
    body[key] = current


def _merge_env(body: dict[str, Any], env: Mapping[str, Any] | Sequence[str]) -> None:
    current = list(body.get("Env") or [])
    names = {item.partition("=")[0]: item for item in current}
    for item in env_list(env):
        name = item.partition("=")[0]
        if name in names:
            if names[name] != item:
                raise InvalidArgument(
                    f"env: {item!r} conflicts with {names[name]!r} in the config's Env",
                    argument="env",
                )
            continue
        names[name] = item
        current.append(item)
    body["Env"] = current


def apply_shortcuts(
    body: dict[str, Any],
    *,
    command: Sequence[str] | str | None = None,
    **options: Unpack[RunOptions],
) -> dict[str, Any]:
    """Lay the ``docker run`` keywords over `body` (a checked create request, wire keys)."""
    _check_options(options)
    env, ports, volumes = options.get("env"), options.get("ports"), options.get("volumes")
    mounts, labels, network = options.get("mounts"), options.get("labels"), options.get("network")
    user, workdir = options.get("user"), options.get("workdir")
    entrypoint, auto_remove = options.get("entrypoint"), options.get("auto_remove")
    host: dict[str, Any] = dict(body.get("HostConfig") or {})
    if command is not None:
        _set(body, "Cmd", command_list(command), "command")
    if entrypoint is not None:
        _set(body, "Entrypoint", entrypoint_list(entrypoint), "entrypoint")
    if env is not None:
        _merge_env(body, env)
    if ports is not None:
        exposed, bindings = port_bindings(ports)
        _merge_map(body, "ExposedPorts", exposed, "ports")
        _merge_map(host, "PortBindings", bindings, "ports")
    if volumes is not None:
        binds, anonymous = split_volumes(volumes)
        if binds:
            host["Binds"] = [*(host.get("Binds") or []), *binds]
        if anonymous:
            _merge_map(body, "Volumes", anonymous, "volumes")
    if mounts is not None:
        host["Mounts"] = [*(host.get("Mounts") or []), *_mounts(mounts)]
    if labels is not None:
        _merge_map(body, "Labels", _labels(labels), "labels")
    if network is not None:
        _set(host, "NetworkMode", network, "network")
    if user is not None:
        _set(body, "User", str(user), "user")
    if workdir is not None:
        _set(body, "WorkingDir", workdir, "workdir")
    if auto_remove is not None:
        _set(host, "AutoRemove", auto_remove, "auto_remove")
    if host:
        body["HostConfig"] = host
    return body
