"""Where the daemon is and how to reach it, decided exactly as the docker CLI decides.

Sans-IO: everything here is a function of an environment mapping and the files of the
docker configuration directory (``config.json``, the context store, TLS files). Nothing
opens a socket, and `ssl` is imported only by :meth:`TLSConfig.ssl_context`.

* :func:`resolve_endpoint` — host, TLS and context from arguments, ``DOCKER_HOST``,
  ``DOCKER_CONTEXT``, ``currentContext`` and the default socket, with the CLI's precedence.
* :func:`resolve_api_version` — an explicit version, ``DOCKER_API_VERSION``, or negotiate.
* :func:`parse_host` / :func:`parse_context_host` — daemon addresses.
* :func:`list_contexts` / :func:`load_context` — the context store.
"""

from __future__ import annotations

from engineapi.config._env import config_dir, config_file, context_store_dir
from engineapi.config._errors import ConfigError, ConfigWarning
from engineapi.config._host import (
    DEFAULT_HOST,
    DEFAULT_HTTP_PORT,
    DEFAULT_TLS_HOST,
    DEFAULT_TLS_HTTP_PORT,
    DEFAULT_UNIX_SOCKET,
    Host,
    parse_context_host,
    parse_host,
)
from engineapi.config._resolve import Endpoint, resolve_context_name, resolve_endpoint
from engineapi.config._store import (
    DEFAULT_CONTEXT_NAME,
    DockerContext,
    context_dir_name,
    list_contexts,
    load_context,
    read_current_context,
)
from engineapi.config._tls import TLSConfig
from engineapi.config._version import MIN_API_VERSION, resolve_api_version

__all__ = [
    "DEFAULT_CONTEXT_NAME",
    "DEFAULT_HOST",
    "DEFAULT_HTTP_PORT",
    "DEFAULT_TLS_HOST",
    "DEFAULT_TLS_HTTP_PORT",
    "DEFAULT_UNIX_SOCKET",
    "MIN_API_VERSION",
    "ConfigError",
    "ConfigWarning",
    "DockerContext",
    "Endpoint",
    "Host",
    "TLSConfig",
    "config_dir",
    "config_file",
    "context_dir_name",
    "context_store_dir",
    "list_contexts",
    "load_context",
    "parse_context_host",
    "parse_host",
    "read_current_context",
    "resolve_api_version",
    "resolve_context_name",
    "resolve_endpoint",
]
