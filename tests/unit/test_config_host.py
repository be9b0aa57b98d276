"""Parsing daemon addresses: DOCKER_HOST/-H style and context style."""

from __future__ import annotations

import pytest

from engineapi.config import ConfigError, Host, parse_context_host, parse_host

# (value, normalized url) — the CLI's answers were read from `docker context inspect`
# with DOCKER_HOST=value (docker 28.2.2), except where marked as a deliberate difference.
CLI_EQUIVALENT = [
    ("tcp://1.2.3.4", "tcp://1.2.3.4:2375"),
    ("tcp://1.2.3.4:99", "tcp://1.2.3.4:99"),
    ("1.2.3.4", "tcp://1.2.3.4:2375"),
    ("localhost:80", "tcp://localhost:80"),
    ("unix://", "unix:///var/run/docker.sock"),
    ("unix:///tmp/a.sock", "unix:///tmp/a.sock"),
    ("unix://relative.sock", "unix://relative.sock"),
    ("tcp://", "tcp://localhost:2375"),
    ("tcp://:3000", "tcp://localhost:3000"),
    ("tcp://[::1]:5", "tcp://[::1]:5"),
    ("tcp://[::1]:", "tcp://[::1]:2375"),
    ("::1", "tcp://[::1]:2375"),
    ("[::1]:22", "tcp://[::1]:22"),
    ("tcp://host/path/x", "tcp://host:2375/path/x"),
    (" tcp://a ", "tcp://a:2375"),
    ("tcp://a:2375?x=1", "tcp://a:2375"),
    ("tcp://h:2375#frag", "tcp://h:2375"),
    ("tcp://u@a:1", "tcp://a:1"),
    ("tcp://a_b", "tcp://a_b:2375"),
    ("tcp://[fe80::1%25eth0]:3", "tcp://[fe80::1%eth0]:3"),
    ("ssh://u@h:2222", "ssh://u@h:2222"),
    ("ssh://h", "ssh://h"),
]

DELIBERATELY_DIFFERENT = [
    # The 28.x CLI gives tcp://localhost:2375/tmp/x.sock; newer CLIs treat it as a socket.
    ("/tmp/x.sock", "unix:///tmp/x.sock"),
    ("./x.sock", "unix://./x.sock"),
    # The CLI rejects these in DOCKER_HOST.
    ("http://1.2.3.4", "tcp://1.2.3.4:2375"),
    ("https://1.2.3.4", "tcp://1.2.3.4:2376"),
    ("tcp://[::1]", "tcp://[::1]:2375"),
    # The CLI keeps a trailing slash.
    ("tcp://h:2375/a/", "tcp://h:2375/a"),
]


@pytest.mark.parametrize(("value", "url"), CLI_EQUIVALENT + DELIBERATELY_DIFFERENT)
def test_parse_host_normalizes_like_the_cli(value: str, url: str) -> None:
    host = parse_host(value)
    assert host.url == url
    assert str(host) == url
    assert host.raw == value


def test_tcp_fields() -> None:
    host = parse_host("tcp://example.com:1234/prefix")
    assert host == Host(scheme="tcp", hostname="example.com", port=1234, path="/prefix")
    assert host.netloc == "example.com:1234"
    assert host.http_host == "example.com:1234"
    assert not host.tls_implied
    assert not host.is_socket


def test_ipv6_fields() -> None:
    host = parse_host("tcp://[2001:db8::1]:2376")
    assert host.hostname == "2001:db8::1"
    assert host.port == 2376
    assert host.netloc == "[2001:db8::1]:2376"


def test_https_implies_tls_and_2376() -> None:
    host = parse_host("https://docker.example:1")
    assert host.tls_implied and host.port == 1
    assert parse_host("https://docker.example").port == 2376
    assert not parse_host("http://docker.example").tls_implied


def test_unix_fields() -> None:
    host = parse_host("unix:///run/user/1000/docker.sock")
    assert host.scheme == "unix"
    assert host.socket_path == "/run/user/1000/docker.sock"
    assert host.hostname is None and host.port is None
    assert host.is_socket
    assert host.http_host == "api.moby.localhost"


def test_ssh_fields() -> None:
    host = parse_host("ssh://me@build-box:2222")
    assert (host.scheme, host.user, host.hostname, host.port) == ("ssh", "me", "build-box", 2222)
    assert host.http_host == "docker.example.com"
    bare = parse_host("ssh://build-box")
    assert (bare.user, bare.port, bare.path) == (None, None, "")
    with_path = parse_host("ssh://me@[::1]/run/docker.sock")
    assert with_path.hostname == "::1"
    assert with_path.path == "/run/docker.sock"
    assert with_path.url == "ssh://me@[::1]/run/docker.sock"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("fd://", "systemd socket activation"),
        ("fd://3", "systemd socket activation"),
        ("npipe:////./pipe/docker_engine", "Windows named pipe"),
        ("garbage://x", "unsupported scheme 'garbage'"),
        ("UNIX:///x", "unsupported scheme 'UNIX'"),
        ("://x", "unsupported scheme ''"),
        ("tcp://a:b", "port 'b' is not a number"),
        ("tcp://a:-1", "port '-1' is not a number"),
        ("tcp://a:+5", "port '+5' is not a number"),
        ("tcp://a:0", "outside 1-65535"),
        ("tcp://a:99999", "outside 1-65535"),
        ("unix://tcp://x", "second scheme"),
        ("tcp://tcp://h", "second scheme"),
        ("foo bar", "not a valid host name"),
        ("tcp://h:1:2", "not an IPv6 address"),
        ("tcp://[::1", "missing ']'"),
        ("tcp://[::1]x", "unexpected 'x'"),
        ("tcp://[zz::1]:1", "not an IPv6 address"),
        ("tcp://h/a b", "whitespace"),
        ("ssh://", "no host name"),
        ("ssh://u:p@h", "plain-text password"),
        ("ssh://h?x=1", "query parameters"),
        ("ssh://h#f", "fragments"),
        ("ssh://h:abc", "not a number"),
    ],
)
def test_parse_host_rejects(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_host(value, source="DOCKER_HOST")
    message = str(info.value)
    assert fragment in message
    assert "DOCKER_HOST" in message
    assert repr(value) in message
    assert info.value.source == "DOCKER_HOST"


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_parse_host_empty_names_the_source(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^argument host= is empty") as info:
        parse_host(value, source="argument host=")
    assert info.value.source == "argument host="


# -- context style: stored verbatim, read by the Go client at connect time -----------------------


def test_context_host_missing_means_default_socket() -> None:
    for value in (None, ""):
        host = parse_context_host(value, tls=False)
        assert host.url == "unix:///var/run/docker.sock"


def test_context_tcp_without_port_uses_http_default_ports() -> None:
    # Verified with a loopback listener: a context host=tcp://127.0.0.1 reaches port 80,
    # port 443 with skip-tls-verify=true (TLS on); DOCKER_HOST=tcp://127.0.0.1 reaches 2375.
    assert parse_context_host("tcp://10.0.0.3", tls=False).port == 80
    assert parse_context_host("tcp://10.0.0.3", tls=True).port == 443
    assert parse_context_host("tcp://10.0.0.3:2376", tls=True).port == 2376
    assert parse_context_host("https://10.0.0.3", tls=False).port == 443
    assert parse_context_host("https://10.0.0.3", tls=False).tls_implied


def test_context_host_is_not_defaulted_or_trimmed() -> None:
    assert parse_context_host("unix:///tmp/foo.sock", tls=False).socket_path == "/tmp/foo.sock"
    assert parse_context_host("ssh://user@host:2222", tls=False).url == "ssh://user@host:2222"
    for value in ("1.2.3.4", "unix://", "tcp://", " tcp://x"):
        with pytest.raises(ConfigError) as info:
            parse_context_host(value, tls=False, source="context 'x'")
        assert info.value.source == "context 'x'"


@pytest.mark.parametrize("value", ["fd://", "npipe:////./pipe/x", "ftp://x"])
def test_context_host_rejects_schemes(value: str) -> None:
    with pytest.raises(ConfigError):
        parse_context_host(value, tls=False)


def test_host_is_hashable_and_raw_not_compared() -> None:
    assert parse_host("tcp://a") == parse_host(" tcp://a:2375 ")
    assert len({parse_host("tcp://a"), parse_host("a:2375")}) == 1
