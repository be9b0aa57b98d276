"""The docker CLI's context store and the ``currentContext`` of its ``config.json``.

Layout, under the configuration directory (``$DOCKER_CONFIG``, default ``~/.docker``)::

    config.json                                  {"currentContext": "name", ...}
    contexts/meta/<sha256 of name>/meta.json     {"Name": ..., "Metadata": {...},
                                                  "Endpoints": {"docker": {"Host": ...,
                                                                           "SkipTLSVerify": ...}}}
    contexts/tls/<sha256 of name>/docker/        ca.pem, cert.pem, key.pem (any of them)

The directory name is the hex SHA-256 of the context name. JSON object keys are matched
case-insensitively, the last one winning, as Go's ``encoding/json`` does (``currentcontext``
works); the endpoint name ``docker`` itself is matched exactly. The context named
``default`` is never stored: it is the implicit one built from ``DOCKER_HOST`` and the TLS
environment variables.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings

import attrs

from engineapi.config._env import Environ, config_file, context_store_dir
from engineapi.config._errors import ConfigError, ConfigWarning
from engineapi.config._tls import CA_FILE, CERT_FILE, KEY_FILE, TLSConfig

__all__ = [
    "DEFAULT_CONTEXT_NAME",
    "DockerContext",
    "context_dir_name",
    "list_contexts",
    "load_context",
    "read_current_context",
]

DEFAULT_CONTEXT_NAME = "default"
_META_DIR = "meta"
_TLS_DIR = "tls"
_META_FILE = "meta.json"
_DOCKER_ENDPOINT = "docker"

_MISSING = object()


class _JSONObject:
    """A decoded JSON object kept as its key/value pairs, for Go-style key lookup."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = pairs

    def field(self, name: str) -> object:
        """The value of struct field `name`: last key equal to it ignoring case, else _MISSING."""
        folded = name.casefold()
        found: object = _MISSING
        for key, value in self.pairs:
            if key.casefold() == folded:
                found = value
        return found

    def exact(self, key: str) -> object:
        """The value under map key `key` (exact match, last wins), else _MISSING."""
        found: object = _MISSING
        for k, value in self.pairs:
            if k == key:
                found = value
        return found


def _decode(text: str) -> object:
    """A JSON document of the docker configuration; ValueError for any malformed one, also
    one nested deeper than the parser's recursion allows."""
    try:
        return json.loads(text, object_pairs_hook=_JSONObject)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def context_dir_name(name: str) -> str:
    """The directory name of context `name` in the store: the hex SHA-256 of the name."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


@attrs.frozen
class DockerContext:
    """One context of the docker CLI's store, as ``docker context inspect`` shows it.

    `host` is ``Endpoints.docker.Host`` verbatim (None when absent or empty: the CLI then
    uses ``unix:///var/run/docker.sock``); `metadata_path` and `tls_path` are the
    directories the CLI reports as ``Storage.MetadataPath`` and ``Storage.TLSPath``.
    `has_tls_data` is true when ``<tls_path>/docker`` exists, which alone makes the CLI use
    TLS; `ca_cert`, `client_cert` and `client_key` are the files found there.
    """

    name: str
    host: str | None
    skip_tls_verify: bool
    description: str | None
    metadata_path: str
    tls_path: str
    has_docker_endpoint: bool = True
    has_tls_data: bool = False
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    @property
    def meta_file(self) -> str:
        """The ``meta.json`` file of this context."""
        return os.path.join(self.metadata_path, _META_FILE)

    def tls_config(self) -> TLSConfig | None:
        """TLS as the CLI sets it up for this context.

        None (plain HTTP) when the context has neither TLS files nor ``SkipTLSVerify``;
        otherwise TLS with the stored files, verifying the daemon unless ``SkipTLSVerify``.
        Without a stored ``ca.pem`` the system trust store is used.
        """
        if not self.has_tls_data and not self.skip_tls_verify:
            return None
        return TLSConfig(
            ca_cert=self.ca_cert,
            client_cert=self.client_cert,
            client_key=self.client_key,
            verify=not self.skip_tls_verify,
        )


def _bad_meta(path: str, reason: str) -> ConfigError:
    return ConfigError(f"cannot read context metadata {path}: {reason}", source=path)


def _string_field(obj: _JSONObject, name: str, path: str, where: str) -> str | None:
    value = obj.field(name)
    if value is _MISSING or value is None:
        return None
    if not isinstance(value, str):
        raise _bad_meta(path, f"{where}{name} is not a string")
    return value


def _read_meta(path: str, requested: str | None, store_dir: str) -> DockerContext:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = _decode(fh.read())
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad_meta(path, str(exc)) from exc
    except ValueError as exc:
        raise _bad_meta(path, f"not valid JSON: {exc}") from exc
    if not isinstance(doc, _JSONObject):
        raise _bad_meta(path, "not a JSON object")
    name = _string_field(doc, "Name", path, "") or requested
    if not name:
        raise _bad_meta(path, "the context has no Name")
    description: str | None = None
    metadata = doc.field("Metadata")
    if isinstance(metadata, _JSONObject):
        desc = metadata.field("Description")
        description = desc if isinstance(desc, str) and desc else None
    host: str | None = None
    skip = False
    has_docker = False
    endpoints = doc.field("Endpoints")
    if isinstance(endpoints, _JSONObject):
        docker = endpoints.exact(_DOCKER_ENDPOINT)
        if isinstance(docker, _JSONObject):
            has_docker = True
            host = _string_field(docker, "Host", path, "Endpoints.docker.") or None
            skip_value = docker.field("SkipTLSVerify")
            if skip_value is not _MISSING and skip_value is not None:
                if not isinstance(skip_value, bool):
                    raise _bad_meta(path, "Endpoints.docker.SkipTLSVerify is not a boolean")
                skip = skip_value
        elif docker is not _MISSING and docker is not None:
            raise _bad_meta(path, "Endpoints.docker is not an object")
    elif endpoints is not _MISSING and endpoints is not None:
        raise _bad_meta(path, "Endpoints is not an object")

    # The CLI finds TLS files by the name it was asked for, not the Name in the file.
    tls_path = os.path.join(store_dir, _TLS_DIR, context_dir_name(requested or name))
    endpoint_tls = os.path.join(tls_path, _DOCKER_ENDPOINT)
    has_tls = os.path.isdir(endpoint_tls)

    def tls_file(file_name: str) -> str | None:
        candidate = os.path.join(endpoint_tls, file_name)
        return candidate if has_tls and os.path.isfile(candidate) else None

    return DockerContext(
        name=name,
        host=host,
        skip_tls_verify=skip,
        description=description,
        metadata_path=os.path.dirname(path),
        tls_path=tls_path,
        has_docker_endpoint=has_docker,
        has_tls_data=has_tls,
        ca_cert=tls_file(CA_FILE),
        client_cert=tls_file(CERT_FILE),
        client_key=tls_file(KEY_FILE),
    )


def load_context(
    name: str, environ: Environ | None = None, *, source: str | None = None
) -> DockerContext:
    """Load context `name` from the store in ``$DOCKER_CONFIG/contexts``.

    Raises :class:`ConfigError` when it does not exist (the message says which context,
    `source` — why it was asked for, e.g. ``"DOCKER_CONTEXT"`` — and the ``meta.json`` path
    looked at) or when its ``meta.json`` is malformed. ``"default"`` is not stored and
    cannot be loaded this way; :func:`engineapi.config.resolve_endpoint` builds it.
    """
    store_dir = context_store_dir(environ)
    path = os.path.join(store_dir, _META_DIR, context_dir_name(name), _META_FILE)
    try:
        return _read_meta(path, name, store_dir)
    except ConfigError as exc:
        why = f" ({source})" if source else ""
        raise ConfigError(f"context {name!r}{why}: {exc}", source=source or path) from exc
    except FileNotFoundError:
        why = f" ({source})" if source else ""
        hint = (
            "; 'default' is the implicit context and is never stored"
            if name == DEFAULT_CONTEXT_NAME
            else ""
        )
        raise ConfigError(
            f"context {name!r}{why} does not exist: no {path}{hint}",
            source=source or path,
        ) from None


_NATURAL_RE = re.compile(r"(\d+)")


def _natural_key(name: str) -> tuple[tuple[int, int, str], ...]:
    parts = _NATURAL_RE.split(name)
    return tuple((1, int(p), p) if p.isdigit() else (0, 0, p) for p in parts if p)


def list_contexts(environ: Environ | None = None) -> tuple[DockerContext, ...]:
    """Every stored context, in the CLI's natural name order (``ctx2`` before ``ctx10``).

    Like ``docker context ls`` minus the implicit ``default``. The store is searched the
    way the CLI does it (any directory below ``contexts/meta`` holding a ``meta.json``);
    a malformed ``meta.json`` raises :class:`ConfigError`, as the CLI fails the listing.
    """
    store_dir = context_store_dir(environ)
    meta_root = os.path.join(store_dir, _META_DIR)
    found: list[DockerContext] = []
    for dirpath, dirnames, filenames in os.walk(meta_root):
        dirnames.sort()
        if dirpath != meta_root and _META_FILE in filenames:
            path = os.path.join(dirpath, _META_FILE)
            if os.path.isfile(path):
                try:
                    found.append(_read_meta(path, None, store_dir))
                except FileNotFoundError:
                    continue
    found.sort(key=lambda c: _natural_key(c.name))
    return tuple(found)


def read_current_context(environ: Environ | None = None) -> str | None:
    """``currentContext`` from ``$DOCKER_CONFIG/config.json``, or None when unset or empty.

    A missing file is no error. A file that cannot be read or parsed, or whose
    ``currentContext`` is not a string, is ignored with a :class:`ConfigWarning`, as the CLI
    prints "WARNING: Error parsing config file" and carries on with an empty configuration.
    """
    path = config_file(environ)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        _warn_config(path, str(exc))
        return None
    if not text.strip():
        return None
    try:
        doc = _decode(text)
    except ValueError as exc:
        _warn_config(path, f"not valid JSON: {exc}")
        return None
    if not isinstance(doc, _JSONObject):
        _warn_config(path, "not a JSON object")
        return None
    value = doc.field("currentContext")
    if value is _MISSING or value is None:
        return None
    if not isinstance(value, str):
        _warn_config(path, "currentContext is not a string")
        return None
    return value or None


def _warn_config(path: str, reason: str) -> None:
    warnings.warn(
        f"error parsing config file {path}: {reason}; ignoring it, as the docker CLI does",
        ConfigWarning,
        stacklevel=3,
    )
