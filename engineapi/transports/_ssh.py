"""What both SSH transports share: the remote command, the ``ssh`` argv, failure messages.

Pure functions, no I/O: the docker CLI's way of reaching a daemon over SSH, written down.

The CLI runs ``docker system dial-stdio`` on the remote host, which relays its stdin and stdout
to the remote engine's socket; with a socket path in the URL the command becomes ``docker
--host=unix://<path> system dial-stdio``. ssh hands the command to the remote user's shell, so
every word is quoted for a POSIX shell the way the CLI quotes it (``quote_posix``). The argv of
the ``ssh`` binary is the CLI's, byte for byte (`ssh_argv`).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from engineapi.errors import ConfigError

if TYPE_CHECKING:
    from engineapi.config import Host

__all__ = [
    "DEFAULT_MAX_CHANNELS",
    "MODES",
    "MODE_ASYNCSSH",
    "MODE_ENV",
    "MODE_SYSTEM",
    "HeadCheck",
    "asyncssh_available",
    "display_argv",
    "quote_posix",
    "remote_command",
    "remote_command_line",
    "remote_failure",
    "resolve_ssh_mode",
    "ssh_argv",
]

MODE_ASYNCSSH = "asyncssh"
MODE_SYSTEM = "system"
MODES = (MODE_ASYNCSSH, MODE_SYSTEM)
#: The environment variable that picks the SSH mode when the client is given none.
MODE_ENV = "ENGINEAPI_SSH_MODE"
#: Channels opened at once on one SSH connection: OpenSSH's default MaxSessions.
DEFAULT_MAX_CHANNELS = 10

#: How much of the remote command's stderr an error quotes (its end, like the CLI's 4 KiB).
STDERR_KEEP = 4096

# Characters after which a shell would not read a word literally (the CLI's list).
_SHELL_SPECIAL = frozenset(";\"'()$|&><` \t\r\n\\#{~*?[=")
# Reserved words: quoted, or the shell would parse them as syntax.
_KEYWORDS = frozenset(
    {"!", "[[", "]]", "case", "coproc", "do", "done", "else", "esac", "fi", "for", "function"}
    | {"if", "in", "select", "then", "time", "until", "while", "{", "}"}
)


def quote_posix(word: str) -> str:
    """`word` quoted for a POSIX shell, as the docker CLI quotes ssh arguments.

    Left alone when nothing in it is special; else in single quotes; in double quotes (with
    ``"``, ``\\``, `````, ``$`` escaped) when it holds a single quote itself. A POSIX shell has
    no escapes for unprintable characters, so those (and NUL) are a `ConfigError`.
    """
    if word == "":
        return "''"
    for offset, char in enumerate(word):
        if not char.isprintable():  # NUL and the other controls, as Go's unicode.IsPrint
            raise ConfigError(
                f"cannot quote {word!r} for the remote shell: unprintable character at {offset}"
            )
    if not any(char in _SHELL_SPECIAL for char in word) and word not in _KEYWORDS:
        return word
    if "'" not in word:
        return f"'{word}'"
    escaped = "".join("\\" + char if char in '"\\`$' else char for char in word)
    return f'"{escaped}"'


def remote_command(path: str) -> list[str]:
    """The command run on the SSH host: dial-stdio, to the socket `path` when there is one."""
    if path.strip("/"):
        return ["docker", f"--host=unix://{path}", "system", "dial-stdio"]
    return ["docker", "system", "dial-stdio"]


def remote_command_line(path: str) -> str:
    """`remote_command` as the one shell line ssh sends."""
    return " ".join(quote_posix(word) for word in remote_command(path))


def ssh_argv(host: Host, *, program: str = "ssh") -> list[str]:
    """The docker CLI's ssh argv for an ``ssh://`` host.

    ``ssh [-l USER] [-p PORT] "-o ConnectTimeout=30" -T -- HOST "docker system dial-stdio"``:
    user, port and host are quoted as words of a shell line although no shell reads them
    (so an unusual user name reaches ssh in quotes, as from the CLI), and the ``-o`` option
    and its value are one argument, as the CLI passes them.
    """
    assert host.hostname is not None
    argv = [program]
    if host.user:
        argv += ["-l", quote_posix(host.user)]
    if host.port is not None:
        argv += ["-p", quote_posix(str(host.port))]
    argv += ["-o ConnectTimeout=30", "-T", "--", quote_posix(host.hostname)]
    argv.append(remote_command_line(host.path))
    return argv


def display_argv(argv: list[str]) -> str:
    """An argv as a shell line, for messages: double quotes where they read better."""
    words = []
    for word in argv:
        quoted = shlex.quote(word)
        if quoted != word and not any(char in word for char in '"$`\\!'):
            quoted = f'"{word}"'
        words.append(quoted)
    return " ".join(words)


def asyncssh_available() -> bool:
    """True when asyncssh can be imported (looked up without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("asyncssh") is not None
    except (ImportError, ValueError):
        return False


def resolve_ssh_mode(mode: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``"asyncssh"`` or ``"system"``: `mode`, else ``ENGINEAPI_SSH_MODE``, else asyncssh when
    it is installed and the system ``ssh`` otherwise."""
    env = os.environ if environ is None else environ
    source = "argument ssh_mode="
    if mode is None or mode == "":
        mode = env.get(MODE_ENV) or None
        source = MODE_ENV
    if mode is None:
        return MODE_ASYNCSSH if asyncssh_available() else MODE_SYSTEM
    value = mode.strip().lower()
    if value not in MODES:
        raise ConfigError(
            f"{source} is {mode!r}: expected 'asyncssh' (in-process SSH, the extra "
            "engineapi[ssh]) or 'system' (the ssh binary, as the docker CLI)",
            source=source,
        )
    if value == MODE_ASYNCSSH and not asyncssh_available():
        raise ConfigError(
            f"{source} asks for asyncssh, which is not installed: pip install 'engineapi[ssh]', "
            "or use the system ssh binary with ssh_mode='system'",
            source=source,
        )
    return value


class HeadCheck:
    """Checks that a dial-stdio stream starts as an HTTP response.

    dial-stdio relays the daemon's bytes, and a daemon's answer starts with ``HTTP/``. Text
    there instead comes from the remote side: a login script printing to stdout in a
    non-interactive session (docker/cli#3019, where the CLI failed with "malformed HTTP status
    code"). Feed it the first bytes read; it answers an error message or ``None``.
    """

    __slots__ = ("done", "seen")

    PREFIX = b"HTTP/"

    def __init__(self) -> None:
        self.seen = b""
        self.done = False

    def feed(self, data: bytes) -> bool:
        """False if `data` (the next bytes of the stream) cannot start an HTTP response."""
        seen = self.seen + data[: len(self.PREFIX) - len(self.seen)]
        if not self.PREFIX.startswith(seen):
            return False
        self.seen = seen
        self.done = len(seen) >= len(self.PREFIX)
        return True

    @staticmethod
    def message(address: str, mode: str, data: bytes) -> str:
        text = data[:300].decode("utf-8", "replace").strip()
        first = text.splitlines()[0] if text else repr(data[:40])
        return (
            f"{address} ({mode}): the SSH host printed text before the engine's answer: "
            f"{first!r}. A login script (~/.bashrc, /etc/profile.d, …) writes to stdout in "
            "non-interactive sessions; make it print only for interactive shells "
            "(e.g. guard it with [ -t 1 ] or case $- in *i*)"
        )


def _clean(stderr: bytes) -> str:
    text = stderr[-STDERR_KEEP:].decode("utf-8", "replace").replace("\r", "")
    return "\n".join(line for line in text.strip().splitlines() if line.strip())


def remote_failure(
    address: str,
    mode: str,
    *,
    command: str,
    status: int | None,
    stderr: bytes,
    signal: str | None = None,
    argv: list[str] | None = None,
    host: Host | None = None,
) -> str:
    """Why the SSH side ended before the engine answered: what ran, how it ended, its stderr,
    and what to check."""
    text = _clean(stderr)
    lower = text.lower()
    ran = f"`{display_argv(argv)}`" if argv is not None else f"the remote command `{command}`"
    if signal:
        how = f"was killed by signal {signal}"
    elif status is None:
        how = "ended"
    else:
        how = f"exited with status {status}"
    message = f"{address} ({mode}): {ran} {how} before the engine answered"
    message += f": {text}" if text else " (nothing on stderr)"
    hints = _hints(lower, status, host)
    if hints:
        message += " — " + "; ".join(hints)
    return message


# OpenSSH: "No ED25519 host key is known for [127.0.0.1]:2222 and …" / "… known for h and …".
_KNOWN_FOR = re.compile(r"host key is known for (?:\[([^\]]+)\]:(\d+)|(\S+)) and")


def _hints(lower: str, status: int | None, host: Host | None) -> list[str]:
    target = host.netloc if host is not None else "the SSH host"
    if "host key verification failed" in lower or "remote host identification" in lower:
        scan = "ssh-keyscan …"
        found = _KNOWN_FOR.search(lower)
        if found:
            name, port = found.group(1) or found.group(3), found.group(2)
            scan = f"ssh-keyscan -p {port} {name}" if port else f"ssh-keyscan {name}"
        return [
            f"the host key of {target} is unknown or has changed: check its fingerprint "
            f"with the host's administrator, then trust it ({scan} >> ~/.ssh/known_hosts)"
        ]
    if "permission denied" in lower and "publickey" in lower:
        return [
            "the SSH server refused the keys offered: check the user name, the key "
            "(ssh-agent, ~/.ssh/id_*, IdentityFile in ~/.ssh/config) and the server's "
            "authorized_keys"
        ]
    if status == 127 or ("docker" in lower and "not found" in lower):
        return [
            "the docker CLI (18.09 or later) is missing on the SSH host, or not on the PATH "
            "of non-interactive SSH sessions"
        ]
    if (
        "failed to open the raw stream" in lower
        or "cannot connect to the docker daemon" in lower
        or "dial unix" in lower
    ):
        where = (
            f"unix://{host.path}"
            if host is not None and host.path.strip("/")
            else "its default socket (or the DOCKER_HOST of SSH sessions there)"
        )
        return [
            f"the engine behind the SSH host is not reachable at {where}: is it running, and "
            "may the SSH user open its socket?"
        ]
    if (
        "ssh: connect to host" in lower
        or "could not resolve hostname" in lower
        or "connection refused" in lower
        or "timed out" in lower
    ):
        return [f"is an SSH server listening at {target}?"]
    if "permission denied" in lower:
        return ["the SSH user may not open the engine's socket (join the 'docker' group)"]
    return []
