"""Which Engine API version to ask for: an argument, ``DOCKER_API_VERSION``, or negotiate."""

from __future__ import annotations

import re

from engineapi._apiversion import MIN_API_VERSION, version_key
from engineapi.config._env import ENV_API_VERSION, Environ, get_environ
from engineapi.config._errors import ConfigError

__all__ = ["MIN_API_VERSION", "resolve_api_version"]

_MIN_MINOR = version_key(MIN_API_VERSION)[1]
_VERSION_RE = re.compile(r"^1\.(0|[1-9][0-9]*)$")


def _check(value: str, label: str, source: str) -> str:
    match = _VERSION_RE.match(value)
    if match is None:
        raise ConfigError(
            f"{label}={value!r} is not an Engine API version: expected the form 1.NN, "
            f"e.g. {MIN_API_VERSION}",
            source=source,
        )
    if int(match.group(1)) < _MIN_MINOR:
        raise ConfigError(
            f"engineapi supports API {MIN_API_VERSION} and newer; {label}={value} asks for an "
            f"older one (leave it unset to negotiate with the daemon, or choose "
            f"{MIN_API_VERSION} or newer)",
            source=source,
        )
    return value


def resolve_api_version(explicit: str | None = None, environ: Environ | None = None) -> str | None:
    """The API version to pin, or None to negotiate it with the daemon.

    `explicit` wins, then ``DOCKER_API_VERSION``; an empty value counts as unset and a
    leading ``v`` is dropped, as by the docker CLI's Go client (which also trims
    whitespace in newer releases; engineapi does). Unlike the 28.x CLI, which sends any
    string, the value must look like ``1.NN`` and be at least ``1.41``: anything else
    raises :class:`ConfigError` naming the argument or variable.
    """
    if explicit is not None:
        value = explicit.strip().removeprefix("v")
        if value:
            return _check(value, "version", "argument version=")
    env = get_environ(environ)
    value = env.get(ENV_API_VERSION, "").strip().removeprefix("v")
    if value:
        return _check(value, ENV_API_VERSION, ENV_API_VERSION)
    return None
