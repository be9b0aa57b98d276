"""TLS settings for a ``tcp://`` daemon endpoint, and the `ssl.SSLContext` built from them.

`ssl` is imported only when a context is built, so importing the configuration code costs
nothing for users of a Unix socket.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TypeGuard

import attrs

from engineapi.config._errors import ConfigError

if TYPE_CHECKING:
    import ssl

__all__ = ["CA_FILE", "CERT_FILE", "KEY_FILE", "TLSConfig"]

CA_FILE = "ca.pem"
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"


class _EncryptedKeyError(Exception):
    pass


def is_ssl_context(value: object) -> TypeGuard[ssl.SSLContext]:
    """Whether *value* is an `ssl.SSLContext`, without importing `ssl` (none exists unless
    it was imported)."""
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(value, ssl.SSLContext)


def _refuse_password() -> bytes:
    # OpenSSL asks for a password only for an encrypted key; never prompt on the terminal.
    raise _EncryptedKeyError


@attrs.frozen
class TLSConfig:
    """Where the TLS material is and whether to verify the daemon.

    Paths are files on disk: for the default context they come from ``DOCKER_CERT_PATH``
    (``ca.pem``, ``cert.pem``, ``key.pem``), for a named context from the context store's
    ``contexts/tls/<sha256 of the name>/docker/`` directory.

    `verify` false is the docker CLI's ``InsecureSkipVerify``: neither the certificate chain
    nor the host name is checked (``DOCKER_TLS`` without ``DOCKER_TLS_VERIFY``, or a context
    created with ``skip-tls-verify=true``). `server_hostname` overrides the name sent in SNI and
    checked against the certificate; None means the host name of the endpoint.

    `context` is a ready `ssl.SSLContext` of your own (certificates from a secrets store or
    memory, a pinned cipher list, …): it is used as given — its own verification settings
    and certificates — instead of one built from paths, which must then be left out
    (``TLSConfig(context=ctx)``, or ``tls=ctx`` for short). `server_hostname` still applies.
    """

    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True
    server_hostname: str | None = None
    context: ssl.SSLContext | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.context is None:
            return
        if not is_ssl_context(self.context):
            raise TypeError(
                f"TLSConfig(context=) takes an ssl.SSLContext, not {type(self.context).__name__}"
            )
        given = [
            name
            for name in ("ca_cert", "client_cert", "client_key")
            if getattr(self, name) is not None
        ]
        if given or not self.verify:
            what = ", ".join(given) if given else "verify=False"
            raise ValueError(
                f"TLSConfig: give a ready ssl.SSLContext or paths, not both ({what} with "
                "context=): the context's own settings and certificates are used"
            )

    @classmethod
    def from_cert_path(cls, path: str | os.PathLike[str], verify: bool = True) -> TLSConfig:
        """Read ``ca.pem``, ``cert.pem`` and ``key.pem`` from directory `path`, where present.

        Files that do not exist are left out (None). The docker CLI does the same for
        ``cert.pem`` and ``key.pem`` but fails when ``ca.pem`` is missing;
        :func:`engineapi.config.resolve_endpoint` applies that stricter rule for
        ``DOCKER_TLS_VERIFY``/``DOCKER_TLS``.
        """
        base = os.fspath(path)

        def existing(name: str) -> str | None:
            candidate = os.path.join(base, name)
            return candidate if os.path.isfile(candidate) else None

        return cls(
            ca_cert=existing(CA_FILE),
            client_cert=existing(CERT_FILE),
            client_key=existing(KEY_FILE),
            verify=verify,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """Build a client `ssl.SSLContext` as the docker CLI configures its TLS client.

        - TLS 1.2 or newer (the CLI's ``tlsconfig.ClientDefault``).
        - `verify` true: certificate and host name checked, trusting only `ca_cert` when
          given, else the system's default trust store.
        - `verify` false: no verification at all (``CERT_NONE``, no host name check); the CA
          file is not even read, as Go's ``InsecureSkipVerify`` ignores it.
        - A client certificate is presented only when both `client_cert` and `client_key`
          are given; encrypted private keys are refused, as by the CLI.

        Unreadable or malformed files raise :class:`ConfigError` naming the file. A given
        `context` is returned as it is.
        """
        if self.context is not None:
            return self.context
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.verify:
            ctx.check_hostname = True
            ctx.verify_mode = ssl.CERT_REQUIRED
            if self.ca_cert is not None:
                try:
                    ctx.load_verify_locations(cafile=self.ca_cert)
                except (OSError, ssl.SSLError) as exc:
                    raise ConfigError(
                        f"cannot load the CA certificate {self.ca_cert}: {exc}",
                        source=self.ca_cert,
                    ) from exc
            else:
                ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert is not None and self.client_key is not None:
            try:
                ctx.load_cert_chain(self.client_cert, self.client_key, password=_refuse_password)
            except _EncryptedKeyError as exc:
                raise ConfigError(
                    f"the TLS private key {self.client_key} is encrypted; like the docker CLI, "
                    "engineapi does not support encrypted private keys (decrypt it, e.g. "
                    "`openssl pkey -in key.pem -out key.pem`)",
                    source=self.client_key,
                ) from exc
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"cannot load the client certificate {self.client_cert} with key "
                    f"{self.client_key}: {exc}",
                    source=self.client_cert,
                ) from exc
        return ctx
