"""The docker CLI's ``proxies`` and ``detachKeys`` settings of ``config.json``.

``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``)::

    {
      "proxies": {
        "default": {"httpProxy": "…", "httpsProxy": "…", "noProxy": "…",
                    "ftpProxy": "…", "allProxy": "…"},
        "tcp://docker.example:2376": {"httpProxy": "…"}
      },
      "detachKeys": "ctrl-x,x"
    }

- `proxy_variables()` — what the CLI puts into a container's environment (``docker run``,
  ``docker create``) and a build's arguments (``docker build``): the entry of the daemon the
  client talks to (its address as the CLI names it, see `proxy_key`), else ``default``; each
  non-empty setting as ``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``, ``FTP_PROXY`` and
  ``ALL_PROXY`` and again in lower case. The client adds each one the caller did not set
  itself (the two cases are separate names).
- ``detachKeys`` — sent by the CLI with every attach (``detachKeys`` query parameter) and exec
  (``DetachKeys`` in the create body) unless ``--detach-keys`` is given.

Read by the client when it sends a call that uses them (`engineapi.api._cliconfig.CliConfigNeeded`), with
its own ``environ``; the file is read again only when it changed. A file that cannot be read or
parsed counts as empty, with a `ConfigWarning`, as the credentials' loader does.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Final

import attrs

from engineapi.config._env import Environ, config_file
from engineapi.config._errors import ConfigWarning
from engineapi.config._host import SSH_HTTP_HOST, Host
from engineapi.config._store import _MISSING, _decode, _JSONObject

__all__ = ["PROXY_VARIABLES", "CliSettings", "load_cli_settings", "proxy_key", "proxy_variables"]

#: config.json's proxy fields → the variables the CLI sets (each also in lower case).
PROXY_VARIABLES: Final = (
    ("httpProxy", "HTTP_PROXY"),
    ("httpsProxy", "HTTPS_PROXY"),
    ("noProxy", "NO_PROXY"),
    ("ftpProxy", "FTP_PROXY"),
    ("allProxy", "ALL_PROXY"),
)
_DEFAULT_ENTRY: Final = "default"


@attrs.frozen
class CliSettings:
    """``proxies`` (daemon address or ``default`` → field → value) and ``detachKeys``."""

    proxies: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    detach_keys: str = ""


def proxy_key(host: Host) -> str:
    """The daemon's address as the CLI names it when it picks a ``proxies`` entry: the
    normalized ``unix://…`` or ``tcp://host:port``; over SSH the CLI's client talks to the
    placeholder ``http://docker.example.com`` (its connection helper), so that is the key."""
    if host.scheme == "ssh":
        return f"http://{SSH_HTTP_HOST}"
    return host.url


def proxy_variables(settings: CliSettings, key: str) -> dict[str, str]:
    """The proxy variables for the daemon named `key` (see `proxy_key`): its own entry if
    there is one (not merged with ``default``), else ``default``; non-empty values only, each
    name upper case then lower case."""
    entry = settings.proxies.get(key)
    if entry is None:
        entry = settings.proxies.get(_DEFAULT_ENTRY, {})
    out: dict[str, str] = {}
    for field, name in PROXY_VARIABLES:
        value = entry.get(field, "")
        if value:
            out[name] = value
            out[name.lower()] = value
    return out


def _warn(path: str, reason: str) -> None:
    warnings.warn(
        f"error parsing config file {path}: {reason}; ignoring it, as the docker CLI does",
        ConfigWarning,
        stacklevel=4,
    )


def _parse(doc: object, path: str) -> CliSettings:
    if not isinstance(doc, _JSONObject):
        _warn(path, "not a JSON object")
        return CliSettings()
    proxies: dict[str, dict[str, str]] = {}
    raw = doc.field("proxies")
    if isinstance(raw, _JSONObject):
        for key, entry in raw.pairs:  # a map: keys exact, the last repeat wins
            if not isinstance(entry, _JSONObject):
                if entry is not None:
                    _warn(path, f"proxies[{key!r}] is not an object")
                proxies[key] = {}
                continue
            fields: dict[str, str] = {}
            for field, _ in PROXY_VARIABLES:  # struct fields: matched ignoring case
                value = entry.field(field)
                if isinstance(value, str):
                    fields[field] = value
                elif value is not _MISSING and value is not None:
                    _warn(path, f"proxies[{key!r}].{field} is not a string")
            proxies[key] = fields
    elif raw is not _MISSING and raw is not None:
        _warn(path, "proxies is not an object")
    keys = doc.field("detachKeys")
    if keys is not _MISSING and keys is not None and not isinstance(keys, str):
        _warn(path, "detachKeys is not a string")
        keys = None
    return CliSettings(proxies, keys if isinstance(keys, str) else "")


# path → (stat stamp, settings). Single dict operations: two threads racing only parse twice.
_cache: dict[str, tuple[tuple[int, int, int], CliSettings]] = {}


def load_cli_settings(environ: Environ | None = None) -> CliSettings:
    """``proxies`` and ``detachKeys`` of the docker CLI's ``config.json`` (in ``environ``'s
    ``DOCKER_CONFIG`` or ``HOME``; None: the process environment). A missing file gives empty
    settings; the file is parsed again only when its size, mtime or inode changed."""
    path = config_file(environ)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return CliSettings()
    except OSError as exc:
        _warn(path, str(exc))
        return CliSettings()
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        _warn(path, str(exc))
        return CliSettings()
    if not text.strip():
        settings = CliSettings()
    else:
        try:
            doc = _decode(text)
        except ValueError as exc:
            _warn(path, f"not valid JSON: {exc}")
            settings = CliSettings()
        else:
            settings = _parse(doc, path)
    if len(_cache) > 16:
        _cache.clear()
    _cache[path] = (stamp, settings)
    return settings
