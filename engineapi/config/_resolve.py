"""Choosing the daemon endpoint exactly as the docker CLI does.

The CLI picks a *context name* first (``docker context show`` prints it):

1. ``--context`` (here: ``context=``); ``--context`` together with ``--host`` is an error;
2. ``--host``/``-H`` (here: ``host=``) means the ``default`` context;
3. a non-empty ``DOCKER_HOST`` means the ``default`` context, *even when DOCKER_CONTEXT is
   set* — ``DOCKER_HOST`` wins, and a value of only whitespace counts as set;
4. a non-empty ``DOCKER_CONTEXT``;
5. a non-empty ``currentContext`` in ``$DOCKER_CONFIG/config.json``
   (``docker context use NAME`` writes it, ``docker context use default`` removes it);
6. otherwise ``default``.

The ``default`` context is built from the environment: the host is ``host=`` or
``DOCKER_HOST`` (see :func:`~engineapi.config.parse_host`), and when both are empty
``unix:///var/run/docker.sock`` — or ``tcp://localhost:2376`` when TLS is on. TLS is on
when ``DOCKER_TLS_VERIFY`` or ``DOCKER_TLS`` is non-empty: *any* non-empty value, so
``DOCKER_TLS_VERIFY=0`` and ``=false`` turn verification on too. ``DOCKER_TLS`` alone is TLS
without verification. The certificates are ``ca.pem`` (required: the CLI fails when it is
missing), ``cert.pem`` and ``key.pem`` (optional) in ``DOCKER_CERT_PATH``, default the
configuration directory (``$DOCKER_CONFIG`` or ``~/.docker``). None of these variables is
read for a named context, whose host and TLS material come from the context store only
(``SkipTLSVerify`` turns verification off).

Like the CLI's client, TLS is never used over a Unix socket or an ``ssh://`` connection
(the TLS files are still checked first, so a missing ``ca.pem`` is an error there too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import attrs

from engineapi.config._env import (
    ENV_CERT_PATH,
    ENV_CONTEXT,
    ENV_HOST,
    ENV_TLS,
    ENV_TLS_VERIFY,
    Environ,
    config_dir,
    config_file,
    get_environ,
)
from engineapi.config._errors import ConfigError
from engineapi.config._host import (
    DEFAULT_HOST,
    DEFAULT_TLS_HOST,
    Host,
    parse_context_host,
    parse_host,
)
from engineapi.config._store import DEFAULT_CONTEXT_NAME, load_context, read_current_context
from engineapi.config._tls import CA_FILE, TLSConfig, is_ssl_context

if TYPE_CHECKING:
    import ssl

__all__ = ["Endpoint", "resolve_context_name", "resolve_endpoint"]


@attrs.frozen
class Endpoint:
    """Where the daemon is and how to reach it.

    `context_name` is what ``docker context show`` would print (``"default"`` or the
    named context); `source` explains how the host was chosen, e.g. ``"DOCKER_HOST"``,
    ``"argument host="``, ``"context 'foo' from DOCKER_CONTEXT"``, ``"context 'foo' from
    currentContext in /root/.docker/config.json"`` or ``"default
    (unix:///var/run/docker.sock)"``. `tls` is None for plain HTTP, Unix sockets and SSH;
    `tls_source` says where the TLS settings came from when there are any.
    """

    host: Host
    tls: TLSConfig | None
    context_name: str
    source: str
    tls_source: str | None = None


@attrs.frozen
class _Choice:
    name: str
    why: str  # how the context was chosen, for Endpoint.source
    origin: str  # the argument, variable or file that named it


def _choose(host: str | None, context: str | None, env: Environ) -> _Choice:
    if host is not None and context is not None:
        raise ConfigError(
            "conflicting arguments: cannot specify both host= and context= "
            "(the docker CLI refuses --host with --context too)",
            source="argument context=",
        )
    if context is not None:
        if not context:
            raise ConfigError(
                "argument context= is empty: give a context name, or None to let the "
                "environment decide",
                source="argument context=",
            )
        return _Choice(context, f"argument context={context!r}", "argument context=")
    if host is not None:
        return _Choice(DEFAULT_CONTEXT_NAME, "argument host=", "argument host=")
    if env.get(ENV_HOST, ""):
        named = env.get(ENV_CONTEXT, "")
        note = f" (overrides {ENV_CONTEXT}={named!r})" if named else ""
        return _Choice(DEFAULT_CONTEXT_NAME, ENV_HOST + note, ENV_HOST)
    named = env.get(ENV_CONTEXT, "")
    if named:
        return _Choice(named, f"context {named!r} from {ENV_CONTEXT}", ENV_CONTEXT)
    current = read_current_context(env)
    if current:
        origin = f"currentContext in {config_file(env)}"
        return _Choice(current, f"context {current!r} from {origin}", origin)
    return _Choice(DEFAULT_CONTEXT_NAME, "default", "default")


def resolve_context_name(
    host: str | None = None,
    *,
    context: str | None = None,
    environ: Environ | None = None,
) -> str:
    """The context the docker CLI would use: what ``docker context show`` prints.

    Same precedence as :func:`resolve_endpoint`; like ``docker context show`` it does not
    check that the context exists.
    """
    return _choose(host, context, get_environ(environ)).name


def _env_tls(env: Environ, verify: bool) -> tuple[TLSConfig, str]:
    flag = ENV_TLS_VERIFY if verify else ENV_TLS
    cert_path = env.get(ENV_CERT_PATH, "")
    cert_dir = cert_path or config_dir(env)
    ca = TLSConfig.from_cert_path(cert_dir, verify=verify)
    if ca.ca_cert is None:
        where = (
            f"{ENV_CERT_PATH}={cert_path}"
            if cert_path
            else f"{cert_dir} ({ENV_CERT_PATH} is unset, so the docker configuration directory)"
        )
        raise ConfigError(
            f"{flag} is set, so TLS is on, but {cert_dir}/{CA_FILE} does not exist; like the "
            f"docker CLI, engineapi needs {CA_FILE} in the certificate directory: {where}",
            source=ENV_CERT_PATH if cert_path else flag,
        )
    dir_note = f"{ENV_CERT_PATH}={cert_path}" if cert_path else f"certificates in {cert_dir}"
    return ca, f"{flag} with {dir_note}"


def _https_without_tls(host: Host, source: str) -> ConfigError:
    return ConfigError(
        f"{host.raw!r} is https:// but tls=False was given; use tcp:// or http:// for plain HTTP",
        source=source,
    )


def _default_endpoint(
    choice: _Choice, host_arg: str | None, tls: TLSConfig | bool | None, env: Environ
) -> Endpoint:
    verify_env = env.get(ENV_TLS_VERIFY, "") != ""
    tls_on = tls is True or isinstance(tls, TLSConfig)
    if tls is None:
        tls_on = verify_env or env.get(ENV_TLS, "") != ""

    if host_arg is not None:
        value, host_source = host_arg, "argument host="
    else:
        value, host_source = env.get(ENV_HOST, ""), ENV_HOST
    if value.strip():
        host = parse_host(value, source=host_source)
        host_why = host_source
    else:
        default = DEFAULT_TLS_HOST if tls_on else DEFAULT_HOST
        host = parse_host(default, source="default")
        host_why = f"default ({default})"

    if choice.origin == "default":
        source = host_why
    elif choice.origin in (ENV_HOST, "argument host="):
        # A blank DOCKER_HOST still selects the default context, then the default host.
        source = choice.why if value.strip() else f"blank {choice.why}: {host_why}"
    else:  # the context named "default" via DOCKER_CONTEXT, currentContext or context=
        source = f"{choice.why}: {host_why}"

    cfg: TLSConfig | None
    tls_source: str | None
    if isinstance(tls, TLSConfig):
        cfg, tls_source = tls, "argument tls="
    elif tls is True:
        cert_dir = env.get(ENV_CERT_PATH, "") or config_dir(env)
        cfg = TLSConfig.from_cert_path(cert_dir, verify=True)
        tls_source = f"argument tls=True with certificates found in {cert_dir}"
    elif tls is False:
        if host.tls_implied:
            raise _https_without_tls(host, host_source)
        cfg, tls_source = None, None
    elif tls_on:
        cfg, tls_source = _env_tls(env, verify_env)
    elif host.tls_implied:
        cert_dir = env.get(ENV_CERT_PATH, "") or config_dir(env)
        cfg = TLSConfig.from_cert_path(cert_dir, verify=True)
        tls_source = f"https:// in {host_source} with certificates found in {cert_dir}"
    else:
        cfg, tls_source = None, None
    if host.scheme != "tcp":
        cfg, tls_source = None, None
    return Endpoint(
        host=host,
        tls=cfg,
        context_name=DEFAULT_CONTEXT_NAME,
        source=source,
        tls_source=tls_source,
    )


def _named_endpoint(choice: _Choice, tls: TLSConfig | bool | None, env: Environ) -> Endpoint:
    ctx = load_context(choice.name, env, source=choice.origin)
    if not ctx.has_docker_endpoint:
        raise ConfigError(
            f"context {choice.name!r} ({choice.why}) has no docker endpoint in {ctx.meta_file}",
            source=ctx.meta_file,
        )
    cfg: TLSConfig | None
    tls_source: str | None
    if isinstance(tls, TLSConfig):
        cfg, tls_source = tls, "argument tls="
    elif tls is True:
        stored = ctx.tls_config()
        cfg = TLSConfig() if stored is None else attrs.evolve(stored, verify=True)
        tls_source = f"argument tls=True with the TLS files of context {ctx.name!r}"
    elif tls is False:
        cfg, tls_source = None, None
    else:
        cfg = ctx.tls_config()
        tls_source = None if cfg is None else f"context {ctx.name!r} ({ctx.tls_path})"
    host_source = f"context {choice.name!r} Endpoints.docker.Host in {ctx.meta_file}"
    host = parse_context_host(ctx.host, tls=cfg is not None, source=host_source)
    if host.tls_implied and cfg is None:
        if tls is False:
            raise _https_without_tls(host, host_source)
        cfg, tls_source = TLSConfig(), f"https:// in context {ctx.name!r}"
    if host.scheme != "tcp":
        cfg, tls_source = None, None
    return Endpoint(
        host=host,
        tls=cfg,
        context_name=choice.name,
        source=choice.why,
        tls_source=tls_source,
    )


def _check_types(host: object, tls: object, context: object) -> None:
    """Refuse what is not one of the documented types: a client asked for TLS with a value it
    does not understand must not quietly speak plaintext."""
    if tls is not None and type(tls) is not bool and not isinstance(tls, TLSConfig):
        raise TypeError(
            f"tls= takes True, False, None, an engineapi.config.TLSConfig or an "
            f"ssl.SSLContext, not "
            f"{type(tls).__name__} {tls!r:.60}"
        )
    for name, value in (("host", host), ("context", context)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name}= takes a str or None, not {type(value).__name__}")


def resolve_endpoint(
    host: str | None = None,
    tls: TLSConfig | ssl.SSLContext | bool | None = None,
    *,
    context: str | None = None,
    environ: Environ | None = None,
) -> Endpoint:
    """Decide which daemon to talk to and how, with the docker CLI's precedence.

    `host` is the CLI's ``-H`` and `context` its ``--context`` (giving both is an error, as
    in the CLI); then ``DOCKER_HOST``, ``DOCKER_CONTEXT``, ``currentContext`` in
    ``config.json`` and finally ``unix:///var/run/docker.sock`` (see the module
    documentation for the details the CLI implements, all followed here).

    `tls` None leaves TLS to the environment (default context) or the context store (named
    context). True is the CLI's ``--tlsverify``: TLS with verification, using ``ca.pem``,
    ``cert.pem`` and ``key.pem`` from ``DOCKER_CERT_PATH`` (or the named context's store)
    where present, the system trust store otherwise. False turns TLS off. A
    :class:`TLSConfig` is used as given, and so is an `ssl.SSLContext` (as
    ``TLSConfig(context=…)``). An explicit `tls` applies to named contexts too.

    `environ` is the environment to read (default: the process environment); the files
    read are ``config.json``, the context store and the TLS files, all under
    ``$DOCKER_CONFIG`` (default ``~/.docker``) or ``DOCKER_CERT_PATH``.

    Raises :class:`ConfigError` for a malformed host, a context that does not exist (the
    message names it, says where the name came from and which ``meta.json`` was looked
    for), or TLS turned on by the environment without a ``ca.pem``.
    """
    wanted = TLSConfig(context=tls) if is_ssl_context(tls) else tls
    _check_types(host, wanted, context)
    checked = cast("TLSConfig | bool | None", wanted)
    env = get_environ(environ)
    choice = _choose(host, context, env)
    if choice.name == DEFAULT_CONTEXT_NAME:
        return _default_endpoint(choice, host, checked, env)
    return _named_endpoint(choice, checked, env)
