"""SSH transports without an SSH server: the CLI's argv and quoting, mode selection, error
messages, and the system-ssh streams driven by a fake ``ssh`` program."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import engineapi.transports.sshcmd as sshcmd
from engineapi import ConfigError, ConnectError, ConnectionLost
from engineapi.config import Endpoint, parse_host
from engineapi.transports import transport_for
from engineapi.transports._ssh import (
    HeadCheck,
    quote_posix,
    remote_command,
    remote_command_line,
    remote_failure,
    resolve_ssh_mode,
    ssh_argv,
)
from engineapi.transports.sshcmd import SSHCommandTransport

# -- quoting, as the docker CLI quotes ssh arguments ---------------------------------------------


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("docker", "docker"),
        ("dial-stdio", "dial-stdio"),
        ("", "''"),
        ("--host=unix:///var/run/docker.sock", "'--host=unix:///var/run/docker.sock'"),
        ("a b", "'a b'"),
        ("$HOME", "'$HOME'"),
        ("~root", "'~root'"),
        ("x;rm -rf /", "'x;rm -rf /'"),
        ("a*", "'a*'"),
        ("{", "'{'"),
        ("if", "'if'"),
        ("done", "'done'"),
        ("it's", '"it\'s"'),
        ('it\'s $x `y` \\ "z"', '"it\'s \\$x \\`y\\` \\\\ \\"z\\""'),
        ("ünïcödé", "ünïcödé"),
        ("/run/a.sock", "/run/a.sock"),
        ("user@host", "user@host"),
        ("%+,-./:@^_", "%+,-./:@^_"),
    ],
)
def test_quote_posix(word: str, quoted: str) -> None:
    assert quote_posix(word) == quoted


@pytest.mark.parametrize("word", ["a\x00b", "new\nline", "tab\there", "bell\a", "del\x7f"])
def test_quote_posix_refuses_what_a_posix_shell_cannot_write(word: str) -> None:
    with pytest.raises(ConfigError, match="unprintable"):
        quote_posix(word)


def test_quoted_words_survive_a_real_shell() -> None:
    words = ["docker", "--host=unix:///tmp/it's here.sock", "$(touch /x)", "a\\b", "if", "~"]
    line = "printf '%s\\n' " + " ".join(quote_posix(w) for w in words)
    out = subprocess.run(["/bin/sh", "-c", line], capture_output=True, check=True).stdout
    assert out.decode().split("\n")[:-1] == words


# -- the remote command and the argv ------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/", "//"])
def test_remote_command_without_a_socket_path(path: str) -> None:
    assert remote_command(path) == ["docker", "system", "dial-stdio"]
    assert remote_command_line(path) == "docker system dial-stdio"


def test_remote_command_with_a_socket_path() -> None:
    assert remote_command("/var/run/docker.sock") == [
        "docker",
        "--host=unix:///var/run/docker.sock",
        "system",
        "dial-stdio",
    ]
    assert remote_command_line("/var/run/docker.sock") == (
        "docker '--host=unix:///var/run/docker.sock' system dial-stdio"
    )


@pytest.mark.parametrize(
    ("url", "argv"),
    [
        (
            "ssh://host",
            ["ssh", "-o ConnectTimeout=30", "-T", "--", "host", "docker system dial-stdio"],
        ),
        (
            "ssh://me@host.example.com:2222",
            [
                "ssh",
                "-l",
                "me",
                "-p",
                "2222",
                "-o ConnectTimeout=30",
                "-T",
                "--",
                "host.example.com",
                "docker system dial-stdio",
            ],
        ),
        (
            "ssh://me@10.0.0.1/run/user/1000/docker.sock",
            [
                "ssh",
                "-l",
                "me",
                "-o ConnectTimeout=30",
                "-T",
                "--",
                "10.0.0.1",
                "docker '--host=unix:///run/user/1000/docker.sock' system dial-stdio",
            ],
        ),
        (
            "ssh://[::1]:22/",
            [
                "ssh",
                "-p",
                "22",
                "-o ConnectTimeout=30",
                "-T",
                "--",
                "::1",
                "docker system dial-stdio",
            ],
        ),
        (
            "ssh://a%20b@h/tmp/it's.sock",
            [
                "ssh",
                "-l",
                "'a b'",
                "-o ConnectTimeout=30",
                "-T",
                "--",
                "h",
                'docker "--host=unix:///tmp/it\'s.sock" system dial-stdio',
            ],
        ),
    ],
)
def test_ssh_argv_is_the_docker_clis(url: str, argv: list[str]) -> None:
    assert ssh_argv(parse_host(url)) == argv
    assert SSHCommandTransport(parse_host(url)).argv == argv


# -- choosing the mode --------------------------------------------------------------------------


def test_mode_from_argument_environment_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_ssh_mode("system", {}) == "system"
    assert resolve_ssh_mode(" System ", {}) == "system"
    assert resolve_ssh_mode(None, {"ENGINEAPI_SSH_MODE": "system"}) == "system"
    assert resolve_ssh_mode("asyncssh", {"ENGINEAPI_SSH_MODE": "system"}) == "asyncssh"
    assert resolve_ssh_mode(None, {}) == "asyncssh"  # installed in the dev extra
    monkeypatch.setattr("engineapi.transports._ssh.asyncssh_available", lambda: False)
    assert resolve_ssh_mode(None, {}) == "system"
    with pytest.raises(ConfigError, match=r"engineapi\[ssh\]"):
        resolve_ssh_mode("asyncssh", {})


@pytest.mark.parametrize(
    ("mode", "environ"), [("paramiko", {}), (None, {"ENGINEAPI_SSH_MODE": "x"})]
)
def test_unknown_mode_is_a_config_error(mode: str | None, environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="'asyncssh'.*'system'"):
        resolve_ssh_mode(mode, environ)


def test_transport_for_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = Endpoint(
        host=parse_host("ssh://me@h:2222/s.sock"),
        tls=None,
        source="argument",
        context_name="default",
    )
    monkeypatch.delenv("ENGINEAPI_SSH_MODE", raising=False)
    asyncssh_transport = transport_for(endpoint)
    assert type(asyncssh_transport).__name__ == "SSHTransport"
    assert asyncssh_transport.address == "ssh://me@h:2222/s.sock"
    system = transport_for(endpoint, ssh_mode="system")
    assert isinstance(system, SSHCommandTransport)
    monkeypatch.setenv("ENGINEAPI_SSH_MODE", "system")
    assert isinstance(transport_for(endpoint), SSHCommandTransport)


def test_import_engineapi_does_not_import_asyncssh() -> None:
    code = (
        "import sys, engineapi, engineapi.transports.ssh, engineapi.transports.sshcmd\n"
        "from engineapi import Client\n"
        "Client('ssh://h', ssh_mode='asyncssh')\n"
        "assert 'asyncssh' not in sys.modules, 'asyncssh imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- reading failures ---------------------------------------------------------------------------


def test_head_check() -> None:
    check = HeadCheck()
    assert check.feed(b"HT") and not check.done
    assert check.feed(b"TP/1.1 200 OK") and check.done
    assert not HeadCheck().feed(b"pid 123\r\n")
    assert not HeadCheck().feed(b"Welcome!")
    message = HeadCheck.message("ssh://h", "system", b"Welcome to h!\nHTTP/1.1 200 OK\r\n")
    assert "'Welcome to h!'" in message and "login script" in message


_HOST = parse_host("ssh://me@h:2222/run/docker.sock")


@pytest.mark.parametrize(
    ("status", "stderr", "hint"),
    [
        (127, b"sh: 1: docker: not found\n", "docker CLI"),
        (127, b"bash: line 1: docker: command not found\n", "docker CLI"),
        (
            1,
            b"failed to open the raw stream connection: dial unix /run/docker.sock: "
            b"connect: no such file or directory",
            "not reachable at unix:///run/docker.sock",
        ),
        (
            1,
            b"failed to open the raw stream connection: dial unix /run/docker.sock: "
            b"connect: connection refused",
            "not reachable",
        ),
        (255, b"root@h: Permission denied (publickey).\r\n", "refused the keys"),
        (
            255,
            b"No ED25519 host key is known for [h]:2222 and you have requested strict "
            b"checking.\r\nHost key verification failed.\r\n",
            "ssh-keyscan -p 2222 h >> ~/.ssh/known_hosts",
        ),
        (255, b"ssh: connect to host h port 2222: Connection refused\r\n", "SSH server listening"),
        (255, b"ssh: Could not resolve hostname h: Name or service not known\r\n", "listening"),
    ],
)
def test_remote_failure_names_the_cause(status: int, stderr: bytes, hint: str) -> None:
    message = remote_failure(
        "ssh://me@h:2222/run/docker.sock",
        "system",
        command="docker system dial-stdio",
        status=status,
        stderr=stderr,
        argv=["ssh", "-l", "me", "--", "h", "docker system dial-stdio"],
        host=_HOST,
    )
    assert f"exited with status {status}" in message
    assert stderr.decode().replace("\r", "").strip().splitlines()[-1] in message
    assert hint in message
    assert 'ssh -l me -- h "docker system dial-stdio"' in message


def test_remote_failure_keeps_the_end_of_long_stderr() -> None:
    message = remote_failure(
        "ssh://h", "asyncssh", command="docker system dial-stdio", status=None,
        stderr=b"x" * 10000 + b"\nthe real reason", signal="KILL",
    )  # fmt: skip
    assert "the real reason" in message and "signal KILL" in message
    assert len(message) < 5000


# -- the system-ssh streams, with a fake ssh ----------------------------------------------------

_FAKE = """\
#!{python}
# A stand-in for ssh: records its argv, then acts out $FAKE_SSH_ACT.
import os, signal, sys, time
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(repr(sys.argv[1:]) + "\\n")
act = os.environ.get("FAKE_SSH_ACT", "http")
out = sys.stdout.buffer
if act == "http":  # answer every request, echo stdin after EOF marker
    data = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        data += chunk
        while b"\\r\\n\\r\\n" in data:
            head, _, data = data.partition(b"\\r\\n\\r\\n")
            if b"upgrade" in head.lower():
                out.write(b"HTTP/1.1 101 UPGRADED\\r\\nConnection: Upgrade\\r\\nUpgrade: tcp\\r\\n\\r\\n")
                out.flush()
                rest = data
                while True:
                    more = os.read(0, 65536)
                    if not more:
                        break
                    rest += more
                out.write(b"got " + rest + b" then EOF")
                out.flush()
                sys.exit(0)
            out.write(b"HTTP/1.1 200 OK\\r\\nApi-Version: 1.47\\r\\nContent-Length: 2\\r\\n\\r\\nOK")
            out.flush()
elif act == "banner":
    out.write(b"Welcome to the fake host!\\nHTTP/1.1 200 OK\\r\\n")
    out.flush()
    time.sleep(5)
elif act == "fail":
    sys.stderr.write("sh: 1: docker: not found\\n")
    sys.exit(127)
elif act == "stubborn":  # ignores SIGTERM, answers nothing
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(os.environ["FAKE_SSH_LOG"] + ".pid", "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
elif act == "midstream":
    os.read(0, 65536)
    out.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\npartial")
    out.flush()
    sys.stderr.write("Connection to h closed by remote host.\\r\\n")
    sys.exit(255)
"""


@pytest.fixture
def fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "ssh"
    program.write_text(_FAKE.format(python=sys.executable))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))
    return log


def test_fake_ssh_requests_reuse_one_process(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engineapi import Client

    monkeypatch.setenv("FAKE_SSH_ACT", "http")
    with Client("ssh://me@fake:2222/run/x.sock", ssh_mode="system", timeout=10) as client:
        for _ in range(5):
            assert client.system.ping().api_version == "1.47"
        assert isinstance(client.transport, SSHCommandTransport)
        assert client.transport.processes_started == 1
    assert fake_ssh.read_text().splitlines() == [
        repr(
            [
                "-l",
                "me",
                "-p",
                "2222",
                "-o ConnectTimeout=30",
                "-T",
                "--",
                "fake",
                "docker '--host=unix:///run/x.sock' system dial-stdio",
            ]
        )
    ]


def test_fake_ssh_half_close_reaches_the_process(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SSH_ACT", "http")
    transport = SSHCommandTransport(parse_host("ssh://fake"))
    stream = transport.connect(5)
    stream.write(b"POST /attach HTTP/1.1\r\nUpgrade: tcp\r\n\r\n", 5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += stream.read(65536, 5)
    stream.write(b"stdin data", 5)
    stream.close_write()
    out = head.partition(b"\r\n\r\n")[2]
    while chunk := stream.read(65536, 5):
        out += chunk
    assert out == b"got stdin data then EOF"
    stream.close()


async def test_fake_ssh_async_half_close(fake_ssh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SSH_ACT", "http")
    transport = SSHCommandTransport(parse_host("ssh://fake"))
    stream = await transport.aconnect(5)
    await stream.write(b"POST /attach HTTP/1.1\r\nUpgrade: tcp\r\n\r\n", 5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.read(65536, 5)
    await stream.write(b"async stdin", 5)
    await stream.close_write()
    out = head.partition(b"\r\n\r\n")[2]
    while chunk := await stream.read(65536, 5):
        out += chunk
    assert out == b"got async stdin then EOF"
    await stream.aclose()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_fake_ssh_failure_quotes_stderr_and_argv(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    from engineapi import AsyncClient, Client

    monkeypatch.setenv("FAKE_SSH_ACT", "fail")
    url = "ssh://me@fake/run/x.sock"
    with pytest.raises(ConnectError) as info:
        if flavour == "sync":
            with Client(url, ssh_mode="system", timeout=10) as client:
                client.system.ping()
        else:

            async def ping() -> None:
                async with AsyncClient(url, ssh_mode="system", timeout=10) as client:
                    await client.system.ping()

            asyncio.run(ping())
    message = str(info.value)
    assert "docker: not found" in message and "status 127" in message
    assert 'ssh -l me "-o ConnectTimeout=30" -T -- fake "docker' in message
    assert "docker CLI" in message and "argument" in message


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_fake_ssh_banner_is_a_readable_error(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    from engineapi import AsyncClient, Client

    monkeypatch.setenv("FAKE_SSH_ACT", "banner")
    with pytest.raises(ConnectError, match="Welcome to the fake host!.*login script"):
        if flavour == "sync":
            with Client("ssh://fake", ssh_mode="system", timeout=10) as client:
                client.system.ping()
        else:

            async def ping() -> None:
                async with AsyncClient("ssh://fake", ssh_mode="system", timeout=10) as client:
                    await client.system.ping()

            asyncio.run(ping())


def test_fake_ssh_dying_mid_stream_is_connection_lost(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SSH_ACT", "midstream")
    stream = SSHCommandTransport(parse_host("ssh://fake")).connect(5)
    stream.write(b"GET /x HTTP/1.1\r\n\r\n", 5)
    assert stream.read(65536, 5).startswith(b"HTTP/1.1 200 OK")
    with pytest.raises(ConnectionLost, match="status 255.*closed by remote host"):
        while stream.read(65536, 5):
            pass
    stream.close()


def test_fake_ssh_close_terminates_then_kills(
    fake_ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SSH_ACT", "stubborn")
    monkeypatch.setattr(sshcmd, "KILL_AFTER", 0.5)
    stream = SSHCommandTransport(parse_host("ssh://fake")).connect(5)
    pid_file = Path(str(fake_ssh) + ".pid")
    deadline = time.monotonic() + 5
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    start = time.monotonic()
    stream.close()
    assert 0.4 < time.monotonic() - start < 3
    with pytest.raises(ProcessLookupError):
        os.kill(stream.pid, 0)


def test_fake_ssh_missing_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = SSHCommandTransport(parse_host("ssh://h"), program="/nonexistent/ssh")
    with pytest.raises(ConnectError, match="cannot run '/nonexistent/ssh'.*openssh-client"):
        transport.connect(5)


#: asyncssh options that read nothing of the tester's ~/.ssh: keys, agent, config, known hosts.
NO_HOME_SSH = {"client_keys": None, "agent_path": None, "config": [], "known_hosts": None}


def test_sync_asyncssh_transport_leaves_no_thread_behind() -> None:
    from engineapi.transports.ssh import SSHTransport

    before = set(threading.enumerate())
    transport = SSHTransport(parse_host("ssh://127.0.0.1:1"), options=NO_HOME_SSH)
    with pytest.raises(ConnectError, match="cannot connect to the SSH server"):
        transport.connect(5)
    assert any(t.name.startswith("engineapi-ssh") for t in threading.enumerate())
    transport.close()
    assert set(threading.enumerate()) <= before
    # A transport that is dropped without close() stops its thread too.
    transport = SSHTransport(parse_host("ssh://127.0.0.1:1"), options=NO_HOME_SSH)
    with pytest.raises(ConnectError):
        transport.connect(5)
    del transport
    import gc

    gc.collect()
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(threading.enumerate()) <= before


def test_asyncssh_refused_port_is_a_connect_error_async() -> None:
    from engineapi.transports.ssh import SSHTransport

    async def main() -> None:
        transport = SSHTransport(parse_host("ssh://me@127.0.0.1:1"), options=NO_HOME_SSH)
        with pytest.raises(ConnectError, match=r"ssh://me@127\.0\.0\.1:1 \(asyncssh\)"):
            await transport.aconnect(5)
        await transport.aclose()

    asyncio.run(main())
