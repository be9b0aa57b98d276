"""Registry credentials, found exactly as the docker CLI finds them.

Sources, in ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``)::

    {"auths":       {"<registry>": {"auth": "<base64 user:password>", "identitytoken": "…"}},
     "credHelpers": {"<registry>": "<helper>"},
     "credsStore":  "<helper>"}

plus ``DOCKER_AUTH_CONFIG`` (a JSON ``{"auths": {"<registry>": {"auth": "…"}}}``), which takes
precedence. For one registry the CLI asks, in order: ``DOCKER_AUTH_CONFIG``; the helper named
in ``credHelpers`` for that exact registry, else ``credsStore``; else ``auths`` (under the
exact key, or a legacy key such as ``https://registry:5000/v1/`` naming the same host). When
the file configures no credentials at all, the CLI uses ``docker-credential-pass`` (if ``pass``
is installed) or ``docker-credential-secretservice``, whichever is on ``PATH``.

A helper is the program ``docker-credential-<helper>``: ``get`` reads the registry on stdin
and prints ``{"ServerURL": …, "Username": …, "Secret": …}`` (a ``Username`` of ``<token>``
makes the secret an identity token), or fails printing ``credentials not found in native
keychain``; ``list`` prints ``{"<registry>": "<username>", …}``. Helpers are run through a
`HelperRunner`, so tests can answer for them.

- `registry_key()` — the key credentials are stored under for an image reference:
  ``https://index.docker.io/v1/`` for Docker Hub, else the registry host (``localhost:5000``,
  ``registry.example.com``), split off the reference the CLI's way.
- `auth_for()` — the `AuthConfig` the CLI sends as ``X-Registry-Auth`` to pull or push.
- `registry_config()` — every known registry's credentials, the ``X-Registry-Config`` of a build.
- `CredentialsNeeded` and `credential_headers()` — what a call builder asks for and what the
  client sending it adds, looked up with the client's own ``environ``.

Reading files and running helpers is all the I/O here; nothing opens a socket.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import urllib.parse
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from engineapi.config._env import Environ, config_file, get_environ
from engineapi.config._errors import ConfigWarning
from engineapi.config._store import _MISSING, _decode, _JSONObject
from engineapi.errors import CredentialsError

if TYPE_CHECKING:
    from engineapi.models import AuthConfig

__all__ = [
    "DEFAULT_DOMAIN",
    "HELPER_TIMEOUT",
    "CredentialsNeeded",
    "credential_headers",
    "registry_auth_value",
    "registry_config_value",
    "ENV_AUTH_CONFIG",
    "INDEX_SERVER",
    "CredentialsError",
    "HelperRunner",
    "auth_for",
    "auth_for_registry",
    "registry_config",
    "registry_domain",
    "registry_key",
]

#: The key Docker Hub credentials are stored under.
INDEX_SERVER: Final = "https://index.docker.io/v1/"
#: The registry of references without one (``busybox``, ``user/app``).
DEFAULT_DOMAIN: Final = "docker.io"
_LEGACY_DOMAIN: Final = "index.docker.io"
#: Credentials in the environment, as JSON ``{"auths": {"<registry>": {"auth": "…"}}}``.
ENV_AUTH_CONFIG: Final = "DOCKER_AUTH_CONFIG"

#: Seconds a credential helper may take (it may ask a keyring or a network service).
HELPER_TIMEOUT: Final = 30.0

_HELPER_PREFIX: Final = "docker-credential-"
_TOKEN_USERNAME: Final = "<token>"
_NOT_FOUND: Final = "credentials not found in native keychain"
_INVALID_MESSAGES: Final = ("no credentials server URL", "no credentials username")
# AuthConfig's JSON fields, in the order the CLI writes them.
_FIELDS: Final = (
    "username",
    "password",
    "auth",
    "email",
    "serveraddress",
    "identitytoken",
    "registrytoken",
)

#: Runs a credential helper: (program, action, stdin) → (exit status, stdout). The program is
#: ``docker-credential-<name>``; a runner that cannot find it raises `CredentialsError`.
HelperRunner = Callable[[str, str, bytes], tuple[int, bytes]]

_Auth = dict[str, str]


# ---------------------------------------------------------------------------------------------
# Which registry


def registry_domain(reference: str) -> str:
    """The registry of an image reference, split off as the CLI splits it: the part before the
    first ``/`` when it contains ``.`` or ``:``, is ``localhost``, or has capitals; otherwise
    (and for ``index.docker.io``) ``docker.io``.

    ``busybox`` and ``user/app:1`` → ``docker.io``; ``localhost:5000/app``,
    ``registry.example.com/team/app@sha256:…``, ``localhost/app`` → that host.
    """
    first, slash, _ = reference.partition("/")
    if (
        not slash
        or not ("." in first or ":" in first or first == "localhost" or first.lower() != first)
        or first == _LEGACY_DOMAIN
    ):
        return DEFAULT_DOMAIN
    return first


def registry_key(reference: str) -> str:
    """The key the CLI stores and looks up credentials under for `reference`:
    `INDEX_SERVER` for Docker Hub, the registry host otherwise."""
    domain = registry_domain(reference)
    return INDEX_SERVER if domain in (DEFAULT_DOMAIN, _LEGACY_DOMAIN) else domain


def _hostname(key: str) -> str:
    """A legacy ``auths`` key as a host (``https://reg:5000/v1/`` → ``reg:5000``)."""
    if "://" in key:
        try:
            parsed = urllib.parse.urlsplit(key)
            host, port = parsed.hostname, parsed.port
        except ValueError:
            host = port = None
        if host:
            if port is None:
                return host
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return key.partition("/")[0]


# ---------------------------------------------------------------------------------------------
# config.json


class _Config:
    """The credential settings of a ``config.json``."""

    __slots__ = ("auths", "cred_helpers", "creds_store")

    def __init__(self) -> None:
        self.auths: dict[str, _Auth] = {}
        self.cred_helpers: dict[str, str] = {}
        self.creds_store = ""

    def has_auth(self) -> bool:
        return bool(self.creds_store or self.cred_helpers or self.auths)


def _warn(path: str, reason: str) -> None:
    warnings.warn(
        f"error parsing config file {path}: {reason}; ignoring it, as the docker CLI does",
        ConfigWarning,
        stacklevel=4,
    )


def _decode_auth(value: str) -> tuple[str, str]:
    """``auth`` (base64 ``user:password``) → (user, password); ValueError when malformed."""
    if not value:
        return "", ""
    try:
        # Go's decoder skips line breaks; anything else not base64 is an error.
        compact = value.replace("\r", "").replace("\n", "")
        decoded = base64.b64decode(compact, validate=True).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        raise ValueError("auth is not valid base64") from None
    user, colon, password = decoded.partition(":")
    if not colon or not user:
        raise ValueError("invalid auth configuration file")
    return user, password.strip("\x00")


def _auth_entry(value: object, where: str, errors: list[str]) -> _Auth:
    """One ``auths`` entry: its string fields, matched case-insensitively like Go. A field of
    the wrong type is left out and noted in `errors` (Go's decoder goes on likewise)."""
    entry: _Auth = {}
    if value is None:
        return entry
    if not isinstance(value, _JSONObject):
        errors.append(f"{where} is not an object")
        return entry
    for name in _FIELDS:
        field = value.field(name)
        if field is _MISSING or field is None:
            continue
        if not isinstance(field, str):
            errors.append(f"{where}.{name} is not a string")
        elif field:
            entry[name] = field
    return entry


def _load(environ: Environ) -> _Config:
    """The credential settings of ``config.json``, as the CLI loads them.

    A missing file is empty. Whatever is wrong is reported with a `ConfigWarning` and the
    CLI's way of carrying on is followed: a file that is not JSON counts as empty; a field of
    the wrong type is skipped, and then no ``auth`` is decoded at all (the CLI stops before
    that step); an ``auth`` that does not decode leaves that entry as read, without
    credentials. (The CLI stops at the first such entry in Go's random map order, so the
    entries after it stay undecoded too; engineapi decodes all the others, every time.)
    """
    config = _Config()
    path = config_file(environ)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        _warn(path, str(exc))
        text = ""
    errors: list[str] = []
    doc: object = None
    if text.strip():
        try:
            doc = _decode(text)
        except ValueError as exc:
            _warn(path, f"not valid JSON: {exc}")
        else:
            if not isinstance(doc, _JSONObject):
                errors.append("not a JSON object")
    if isinstance(doc, _JSONObject):
        auths = doc.field("auths")
        raw: dict[str, _Auth] = {}
        if isinstance(auths, _JSONObject):
            for key, value in auths.pairs:
                raw.pop(key, None)  # a repeated key: the last one, in its place
                raw[key] = _auth_entry(value, f"auths[{key!r}]", errors)
        elif auths is not _MISSING and auths is not None:
            errors.append("auths is not an object")
        store = doc.field("credsStore")
        if isinstance(store, str):
            config.creds_store = store
        elif store is not _MISSING and store is not None:
            errors.append("credsStore is not a string")
        helpers = doc.field("credHelpers")
        if isinstance(helpers, _JSONObject):
            for key, value in helpers.pairs:
                if not isinstance(value, str):
                    errors.append(f"credHelpers[{key!r}] is not a string")
                config.cred_helpers[key] = value if isinstance(value, str) else ""
        elif helpers is not _MISSING and helpers is not None:
            errors.append("credHelpers is not an object")
        if errors:
            config.auths = raw
            _warn(path, "; ".join(errors))
        else:
            for key, entry in raw.items():
                if "auth" in entry:
                    try:
                        entry["username"], entry["password"] = _decode_auth(entry["auth"])
                    except ValueError as exc:
                        _warn(path, f"auths[{key!r}]: {exc}")
                        config.auths[key] = entry  # as read: the CLI stops decoding there
                        continue
                    del entry["auth"]
                entry = {k: v for k, v in entry.items() if v}
                entry["serveraddress"] = key
                config.auths[key] = entry
    if not config.has_auth():
        config.creds_store = _default_store(environ)
    return config


def _default_store(environ: Environ) -> str:
    """The helper the CLI picks on Linux when the configuration names none: ``pass`` when the
    ``pass`` program is installed, else ``secretservice`` — if its helper is on ``PATH``."""
    path = environ.get("PATH", os.defpath)
    name = "pass" if shutil.which("pass", path=path) else "secretservice"
    return name if shutil.which(_HELPER_PREFIX + name, path=path) else ""


def _env_auths(environ: Environ) -> dict[str, _Auth] | None:
    """The credentials of ``DOCKER_AUTH_CONFIG`` (None when unset or unusable: the CLI then
    prints a warning and uses the configuration file alone)."""
    value = environ.get(ENV_AUTH_CONFIG, "")
    if not value:
        return None
    try:
        doc = _decode(value)
        if not isinstance(doc, _JSONObject):
            raise ValueError("not a JSON object")
        auths = doc.field("auths")
        found: dict[str, _Auth] = {}
        if isinstance(auths, _JSONObject):
            for key, entry in auths.pairs:
                if not isinstance(entry, _JSONObject):
                    raise ValueError(f"auths[{key!r}] is not an object")
                encoded = entry.field("auth")
                if encoded is _MISSING or encoded is None or encoded == "":
                    raise ValueError(f"missing auth for {key}")
                if not isinstance(encoded, str):
                    raise ValueError(f"auths[{key!r}].auth is not a string")
                user, password = _decode_auth(encoded)
                found[key] = {"username": user, "password": password, "serveraddress": key}
        elif auths is not _MISSING and auths is not None:
            raise ValueError("auths is not an object")
    except ValueError as exc:
        warnings.warn(
            f"cannot use {ENV_AUTH_CONFIG}: {exc}; ignoring it, as the docker CLI does",
            ConfigWarning,
            stacklevel=4,
        )
        return None
    return found


# ---------------------------------------------------------------------------------------------
# Credential helpers


def _subprocess_runner(environ: Environ) -> HelperRunner:
    def run(program: str, action: str, data: bytes) -> tuple[int, bytes]:
        import subprocess

        env = dict(environ)
        found = shutil.which(program, path=env.get("PATH", os.defpath))
        if found is None:
            raise CredentialsError(
                f'error getting credentials - err: exec: "{program}": executable file not '
                f"found in $PATH, out: ``",
                source=program,
            )
        try:
            result = subprocess.run(
                [found, action],
                input=data,
                capture_output=True,
                env=env,
                check=False,
                timeout=HELPER_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise CredentialsError(
                f"error getting credentials - {program} {action} did not answer within "
                f"{HELPER_TIMEOUT:g} s",
                source=program,
            ) from None
        return result.returncode, result.stdout

    return run


class _Helpers:
    """Calls credential helpers through a runner, speaking their protocol."""

    __slots__ = ("_run",)

    def __init__(self, run: HelperRunner) -> None:
        self._run = run

    def _call(self, helper: str, action: str, data: bytes) -> bytes:
        program = _HELPER_PREFIX + helper
        status, out = self._run(program, action, data)
        if status != 0:
            text = out.decode("utf-8", "replace").strip()
            if action == "get" and text == _NOT_FOUND:
                raise _NotFound
            verb = "getting" if action == "get" else "listing"
            if text in _INVALID_MESSAGES:
                raise CredentialsError(f"error {verb} credentials: {text}", source=program)
            raise CredentialsError(
                f"error {verb} credentials - err: exit status {status}, out: `{text}`",
                source=program,
            )
        return out

    def get(self, helper: str, key: str) -> _Auth:
        """What `helper` stores for `key` (empty when it has nothing)."""
        try:
            out = self._call(helper, "get", key.encode("utf-8", "surrogateescape"))
        except _NotFound:
            return {}
        doc = _first_json(out, _HELPER_PREFIX + helper)
        if not isinstance(doc, _JSONObject):
            raise CredentialsError(
                f"{_HELPER_PREFIX}{helper} get: not a JSON object", source=_HELPER_PREFIX + helper
            )
        username = _json_string(doc, "Username")
        secret = _json_string(doc, "Secret")
        if username == _TOKEN_USERNAME:
            return {"identitytoken": secret, "serveraddress": key}
        return {"username": username, "password": secret, "serveraddress": key}

    def list(self, helper: str) -> list[str]:
        """The registries `helper` stores credentials for."""
        out = self._call(helper, "list", b"unused")
        doc = _first_json(out, _HELPER_PREFIX + helper)
        if doc is None:
            return []
        if not isinstance(doc, _JSONObject):
            raise CredentialsError(
                f"{_HELPER_PREFIX}{helper} list: not a JSON object",
                source=_HELPER_PREFIX + helper,
            )
        return list(dict.fromkeys(key for key, _ in doc.pairs))


class _NotFound(Exception):
    pass


def _first_json(out: bytes, program: str) -> object:
    """The first JSON value of a helper's output (Go's decoder ignores what follows)."""
    text = out.decode("utf-8", "surrogateescape").lstrip(" \t\r\n")
    try:
        return json.JSONDecoder(object_pairs_hook=_JSONObject).raw_decode(text)[0]
    except RecursionError:
        raise CredentialsError(
            f"{program}: invalid output: JSON nested too deeply", source=program
        ) from None
    except ValueError as exc:
        raise CredentialsError(f"{program}: invalid output: {exc}", source=program) from None


def _json_string(doc: _JSONObject, name: str) -> str:
    value = doc.field(name)
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------------------------
# The stores


class _Stores:
    """The CLI's credential stores over one configuration: the file, the helpers, and
    ``DOCKER_AUTH_CONFIG`` in front of both."""

    __slots__ = ("_config", "_env", "_helpers")

    def __init__(self, environ: Environ, runner: HelperRunner | None) -> None:
        self._config = _load(environ)
        self._env = _env_auths(environ)
        self._helpers = _Helpers(runner or _subprocess_runner(environ))

    def _helper_for(self, key: str) -> str:
        config = self._config
        if key and key in config.cred_helpers:
            return config.cred_helpers[key]
        return config.creds_store

    def _file_get(self, key: str) -> _Auth:
        auths = self._config.auths
        if key in auths:
            return dict(auths[key])
        for stored, entry in auths.items():
            if _hostname(stored) == key:
                return dict(entry)
        return {}

    def get(self, key: str) -> _Auth:
        """The credentials for `key`, as ``GetAuthConfig(key)``."""
        if self._env is not None and key in self._env:
            return dict(self._env[key])
        helper = self._helper_for(key)
        if not helper:
            return self._file_get(key)
        auth = self._file_get(key)  # only its email and registry token survive
        stored = self._helpers.get(helper, key)
        for name in ("username", "password", "identitytoken", "serveraddress"):
            auth.pop(name, None)
            if stored.get(name):
                auth[name] = stored[name]
        return auth

    def get_all(self) -> dict[str, _Auth]:
        """Every registry's credentials, as ``GetAllCredentials()``."""
        found: dict[str, _Auth] = {}
        store = self._config.creds_store
        try:
            if store:
                files = self._config.auths
                for key in self._helpers.list(store):
                    stored = self._helpers.get(store, key)
                    auth = dict(files.get(key, {}))
                    server = auth.get("serveraddress") or stored.get("serveraddress", "")
                    for name in ("username", "password", "identitytoken", "serveraddress"):
                        auth.pop(name, None)
                    auth.update({k: v for k, v in stored.items() if k != "serveraddress" and v})
                    if server:
                        auth["serveraddress"] = server
                    found[key] = auth
            else:
                found = {key: dict(entry) for key, entry in self._config.auths.items()}
        except CredentialsError as exc:
            # The CLI reports the failure and goes on without these credentials.
            warnings.warn(f"{exc}; going on without them", ConfigWarning, stacklevel=3)
            found = {}
        if self._env is not None:
            found.update({key: dict(entry) for key, entry in self._env.items()})
        for key in self._config.cred_helpers:
            try:
                found[key] = self.get(key)
            except CredentialsError as exc:
                warnings.warn(
                    f"failed to get credentials for registry {key}: {exc}",
                    ConfigWarning,
                    stacklevel=3,
                )
        return found


def _ordered(auth: _Auth) -> _Auth:
    return {name: auth[name] for name in _FIELDS if auth.get(name)}


def auth_for_registry(
    key: str, environ: Mapping[str, str] | None = None, *, runner: HelperRunner | None = None
) -> AuthConfig | None:
    """The credentials stored under the registry key `key` (``localhost:5000``, or
    `INDEX_SERVER` for Docker Hub), looked up as the CLI does; None when there are none.

    Raises `CredentialsError` when the credential helper in charge fails or is missing.
    """
    auth = _ordered(_Stores(get_environ(environ), runner).get(key))
    if not auth:
        return None
    from engineapi import models

    return models.AuthConfig.from_wire(auth)


def auth_for(
    reference: str, environ: Mapping[str, str] | None = None, *, runner: HelperRunner | None = None
) -> AuthConfig | None:
    """The credentials the docker CLI sends (``X-Registry-Auth``) to pull or push the image
    `reference` (``busybox``, ``localhost:5000/app:1``, ``registry.example.com/team/app``);
    None when nothing is configured for its registry (an anonymous pull).

    `environ` replaces the process environment (``DOCKER_CONFIG``, ``DOCKER_AUTH_CONFIG``,
    ``HOME``, ``PATH`` for the helpers); `runner` replaces running the helper programs.
    Raises `CredentialsError` when the credential helper in charge fails or is missing.
    """
    return auth_for_registry(registry_key(reference), environ, runner=runner)


def registry_config(
    environ: Mapping[str, str] | None = None, *, runner: HelperRunner | None = None
) -> dict[str, dict[str, str]]:
    """Every registry's credentials, keyed by registry, as the CLI sends them with a build
    (``X-Registry-Config``) so that ``FROM`` can pull private images; ``{}`` when none.

    As in the CLI, a failing ``credsStore`` or per-registry helper is reported with a
    `ConfigWarning` and left out rather than failing the build.
    """
    found = _Stores(get_environ(environ), runner).get_all()
    return {key: _ordered(auth) for key, auth in found.items()}


# ---------------------------------------------------------------------------------------------
# What call builders ask for, and what the client adds


@attrs.frozen
class CredentialsNeeded:
    """Registry credentials a call needs and its builder did not look up (builders do no I/O).

    The client sending the call looks them up with its own ``environ`` — off the event loop for
    an `AsyncClient` — and adds the header: ``X-Registry-Auth`` for the registry of the image
    `reference`, or with `reference` None every registry's, as a build's ``X-Registry-Config``.
    """

    reference: str | None = None


def _base64_json(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def registry_auth_value(auth: Mapping[str, Any]) -> str:
    """``X-Registry-Auth``: one registry's credentials as base64url JSON (``{}``: none)."""
    return _base64_json(dict(auth))


def registry_config_value(configs: Mapping[str, Mapping[str, Any]]) -> str:
    """``X-Registry-Config``: registry → credentials, as base64url JSON."""
    return _base64_json({key: dict(value) for key, value in configs.items()})


def credential_headers(
    needed: CredentialsNeeded,
    environ: Mapping[str, str] | None = None,
    *,
    runner: HelperRunner | None = None,
) -> list[tuple[str, str]]:
    """The header that carries what `needed` asks for, looked up in `environ` (the process
    environment when None) as the docker CLI would."""
    if needed.reference is None:
        return [
            ("X-Registry-Config", registry_config_value(registry_config(environ, runner=runner)))
        ]
    auth = auth_for(needed.reference, environ, runner=runner)
    return [("X-Registry-Auth", registry_auth_value(auth.to_wire() if auth is not None else {}))]
