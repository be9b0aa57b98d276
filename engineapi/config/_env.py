"""Where the docker CLI keeps its files, computed from an environment mapping."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = [
    "ENV_API_VERSION",
    "ENV_CERT_PATH",
    "ENV_CONFIG",
    "ENV_CONTEXT",
    "ENV_HOST",
    "ENV_TLS",
    "ENV_TLS_VERIFY",
    "Environ",
    "config_dir",
    "config_file",
    "context_store_dir",
    "get_environ",
]

Environ = Mapping[str, str]

ENV_HOST = "DOCKER_HOST"
ENV_CONTEXT = "DOCKER_CONTEXT"
ENV_CONFIG = "DOCKER_CONFIG"
ENV_TLS_VERIFY = "DOCKER_TLS_VERIFY"
ENV_TLS = "DOCKER_TLS"
ENV_CERT_PATH = "DOCKER_CERT_PATH"
ENV_API_VERSION = "DOCKER_API_VERSION"


def get_environ(environ: Environ | None) -> Environ:
    """The mapping to read: `environ` itself, or the process environment when it is None."""
    return os.environ if environ is None else environ


def _home_dir(environ: Environ) -> str:
    home = environ.get("HOME", "")
    if home:
        return home
    # Like the CLI on Linux: with HOME unset or empty, ask the user database.
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError, OSError):
        return ""


def config_dir(environ: Environ | None = None) -> str:
    """The docker CLI's configuration directory.

    ``$DOCKER_CONFIG`` when it is set and non-empty (used as given, relative paths included),
    else ``$HOME/.docker``; an empty ``DOCKER_CONFIG`` counts as unset, as in the CLI.
    """
    env = get_environ(environ)
    value = env.get(ENV_CONFIG, "")
    if value:
        return value
    return os.path.join(_home_dir(env), ".docker")


def config_file(environ: Environ | None = None) -> str:
    """``config.json`` in :func:`config_dir`: where ``currentContext`` is read from."""
    return os.path.join(config_dir(environ), "config.json")


def context_store_dir(environ: Environ | None = None) -> str:
    """The context store: ``contexts`` in :func:`config_dir`."""
    return os.path.join(config_dir(environ), "contexts")
