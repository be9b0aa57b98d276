"""TLSConfig: reading a certificate directory and building the ssl.SSLContext."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engineapi.config import ConfigError, TLSConfig

REPO_ROOT = Path(__file__).resolve().parents[2]

# A throwaway self-signed P-256 certificate for CN=engineapi-test (SAN localhost, 127.0.0.1),
# valid until 2126, made with `openssl req -x509 -newkey ec` for these tests only. It serves
# as CA, server and client certificate at once.
CERT_PEM = """\
-----BEGIN CERTIFICATE-----
MIIBpTCCAUugAwIBAgIUYAg96zjPEG+eAkJSE8bqwRCW6AswCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOZW5naW5lYXBpLXRlc3QwIBcNMjYxMTI4MTQ0MTM1WhgPMjEy
NjExMDQxNDQxMzVaMBkxFzAVBgNVBAMMDmVuZ2luZWFwaS10ZXN0MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAE6LoqOzgQARPCus5LahevAtnRLtyyYC+VdEMZS1PF
mjZtDbVC5wb7pg4X9qDHPvvM0XPznVwho0s1AXoWBNyt+aNvMG0wHQYDVR0OBBYE
FPZrAZQJVkGblaIJlOuLUxNJflZ6MB8GA1UdIwQYMBaAFPZrAZQJVkGblaIJlOuL
UxNJflZ6MA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYIJbG9jYWxob3N0hwR/
AAABMAoGCCqGSM49BAMCA0gAMEUCIHXMCs3HgJf/iJCUMWhYc4fZDSaaF3k4LEUt
0gqohatfAiEAuvCvLURQ4WbpSpHksR06ijT3kwsJDE1KGJ8IkCe9z/k=
-----END CERTIFICATE-----
"""
KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBYB0NV4Z25W9ZKuN
VOuSM8MmNv0Xqt3ixBnOnf9Xv0ihRANCAATouio7OBABE8K6zktqF68C2dEu3LJg
L5V0QxlLU8WaNm0NtULnBvumDhf2oMc++8zRc/OdXCGjSzUBehYE3K35
-----END PRIVATE KEY-----
"""
# The same key encrypted with AES-256 (password "x").
ENCRYPTED_KEY_PEM = """\
-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAguhu10RwEvEAICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEK2aI36Nwt0hJSDEMn8lom0EgZAA
LS4xMdEHQy8Hcos7qWBNG1ZWlmOSgAqRL2XYbNqSFRUEnHmz9MatyBbkZ0Ra30ma
a5AIeMIPjMG5jhYv/cQTxAly4SXEsBMByRiWmhUpkg2ZZhHaJ7oEZcXuRYZa9r0a
TJOEW8UH9WW/7PzYpLoVkX9/NbpWE+72HGPQTVr/z+SRdTWBz53WYvwUFoV25Uc=
-----END ENCRYPTED PRIVATE KEY-----
"""


@pytest.fixture
def cert_dir(tmp_path: Path) -> Path:
    (tmp_path / "ca.pem").write_text(CERT_PEM)
    (tmp_path / "cert.pem").write_text(CERT_PEM)
    (tmp_path / "key.pem").write_text(KEY_PEM)
    return tmp_path


def test_from_cert_path_all(cert_dir: Path) -> None:
    cfg = TLSConfig.from_cert_path(cert_dir, verify=True)
    assert cfg == TLSConfig(
        ca_cert=str(cert_dir / "ca.pem"),
        client_cert=str(cert_dir / "cert.pem"),
        client_key=str(cert_dir / "key.pem"),
        verify=True,
    )


def test_from_cert_path_only_existing(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text(CERT_PEM)
    (tmp_path / "ca.pem").mkdir()  # not a file: ignored
    cfg = TLSConfig.from_cert_path(str(tmp_path), verify=False)
    assert cfg.ca_cert is None
    assert cfg.client_cert == str(tmp_path / "cert.pem")
    assert cfg.client_key is None
    assert cfg.verify is False
    assert TLSConfig.from_cert_path(tmp_path / "missing") == TLSConfig()


def test_defaults() -> None:
    cfg = TLSConfig()
    assert (cfg.ca_cert, cfg.client_cert, cfg.client_key, cfg.verify) == (None, None, None, True)
    assert cfg.server_hostname is None


def test_ssl_context_verifying(cert_dir: Path) -> None:
    ctx = TLSConfig.from_cert_path(cert_dir).ssl_context()
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "engineapi-test"),),)]


def test_ssl_context_system_trust_without_ca() -> None:
    ctx = TLSConfig(verify=True).ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True


def test_ssl_context_insecure(cert_dir: Path) -> None:
    ctx = TLSConfig(ca_cert=str(cert_dir / "nonexistent.pem"), verify=False).ssl_context()
    assert ctx.verify_mode == ssl.CERT_NONE
    assert ctx.check_hostname is False
    assert ctx.get_ca_certs() == []  # the CA is not even read, like Go's InsecureSkipVerify


def _handshake(client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext) -> dict[str, object]:
    """TLS over a socketpair (no network); returns what the server saw of the client."""
    a, b = socket.socketpair()
    seen: dict[str, object] = {}

    def serve() -> None:
        with server_ctx.wrap_socket(b, server_side=True) as srv:
            seen["peer"] = srv.getpeercert()
            srv.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_ctx.wrap_socket(a, server_hostname="localhost") as cli:
            assert cli.recv(2) == b"ok"
            seen["version"] = cli.version()
    finally:
        thread.join(10)
    return seen


def test_client_certificate_is_presented(cert_dir: Path) -> None:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_dir / "cert.pem", cert_dir / "key.pem")
    server.load_verify_locations(cert_dir / "ca.pem")
    server.verify_mode = ssl.CERT_REQUIRED
    seen = _handshake(TLSConfig.from_cert_path(cert_dir).ssl_context(), server)
    assert seen["peer"]
    assert seen["version"] in ("TLSv1.2", "TLSv1.3")


def test_cert_without_key_is_not_presented(cert_dir: Path) -> None:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_dir / "cert.pem", cert_dir / "key.pem")
    server.verify_mode = ssl.CERT_OPTIONAL
    server.load_verify_locations(cert_dir / "ca.pem")
    client = TLSConfig(ca_cert=str(cert_dir / "ca.pem"), client_cert=str(cert_dir / "cert.pem"))
    seen = _handshake(client.ssl_context(), server)
    assert not seen["peer"]


def test_encrypted_key_is_refused_without_prompting(cert_dir: Path) -> None:
    (cert_dir / "key.pem").write_text(ENCRYPTED_KEY_PEM)
    with pytest.raises(ConfigError, match="encrypted") as info:
        TLSConfig.from_cert_path(cert_dir).ssl_context()
    assert info.value.source == str(cert_dir / "key.pem")


def test_bad_ca_names_the_file(cert_dir: Path) -> None:
    (cert_dir / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="CA certificate") as info:
        TLSConfig.from_cert_path(cert_dir).ssl_context()
    assert info.value.source == str(cert_dir / "ca.pem")


def test_missing_client_files_name_the_file(tmp_path: Path) -> None:
    cfg = TLSConfig(client_cert=str(tmp_path / "c.pem"), client_key=str(tmp_path / "k.pem"))
    with pytest.raises(ConfigError, match="client certificate") as info:
        cfg.ssl_context()
    assert info.value.source == str(tmp_path / "c.pem")


def test_importing_config_does_not_import_ssl() -> None:
    code = (
        "import sys\n"
        "import engineapi.config\n"
        "assert 'ssl' not in sys.modules, sorted(m for m in sys.modules if 'ssl' in m)\n"
        "print('clean')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"
