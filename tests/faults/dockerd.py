"""A dockerd of the test's own, to be SIGKILLed and restarted without disturbing the shared
engines: docker28's binaries (see ``tests/engines/engines.sh``), a containerd of its own that
stays up while the dockerd is killed and restarted, and every path under one short temporary
root (the unix socket path must stay under ~100 characters). No bridge, no iptables rules, no userland proxy: it needs no network set
up, and its containers run with ``NetworkMode: none``.

The containerd is the test process's child rather than the dockerd's: a containerd whose
dockerd was killed is reparented to PID 1, which in a container may never reap it, and a
restarted dockerd waits 10 s for such a zombie before starting a new one.

`teardown()` kills what it leaves behind by process id (the dockerd, the containerd, the shims
whose command line names its root, the processes of its cgroup parent), unmounts what is mounted
under its root and removes the root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

LIB_DIR = Path("/var/lib/engineapi")
D28_ROOT = LIB_DIR / "docker28" / "root"
DOCKERD = D28_ROOT / "usr" / "sbin" / "dockerd"
CONTAINERD = D28_ROOT / "usr" / "bin" / "containerd"
#: A root filesystem tarball (``docker import``), as engines.sh imports it.
IMAGE_TAR = LIB_DIR / "images" / "busybox.tar"
IMAGE = "busybox:latest"


def missing() -> str | None:
    """What is missing to run a dedicated dockerd here, or None."""
    for path in (DOCKERD, CONTAINERD, IMAGE_TAR):
        if not path.exists():
            return f"{path} is missing (made by tests/engines/engines.sh up)"
    if os.geteuid() != 0:
        return "a dockerd of the test's own needs root"
    return None


class DedicatedDockerd:
    """One dockerd under `root`; `start()`, `kill()` (SIGKILL) and `start()` again."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="eak-", dir="/tmp"))
        self.socket = self.root / "d.sock"
        self.host = f"unix://{self.socket}"
        self.cgroup_parent = f"/engineapi-kill-{self.root.name}"
        self.log = self.root / "dockerd.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._containerd: subprocess.Popen[bytes] | None = None
        self.containerd_socket = self.root / "c.sock"
        (self.root / "daemon.json").write_text("{}")
        (self.root / "containerd.toml").write_text(
            "\n".join(
                [
                    "version = 2",
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                    f'root = "{self.root}/containerd"',
                    f'state = "{self.root}/cs"',
                    "[grpc]",
                    f'  address = "{self.containerd_socket}"',
                    "[debug]",
                    f'  address = "{self.root}/c-debug.sock"',
                    "",
                ]
            )
        )

    def command(self) -> list[str]:
        return [
            str(DOCKERD),
            "--config-file",
            str(self.root / "daemon.json"),
            "--host",
            self.host,
            "--containerd",
            str(self.containerd_socket),
            "--data-root",
            str(self.root / "data"),
            "--exec-root",
            str(self.root / "x"),
            "--pidfile",
            str(self.root / "dockerd.pid"),
            "--bridge",
            "none",
            "--iptables=false",
            "--ip6tables=false",
            "--userland-proxy=false",
            "--cgroup-parent",
            self.cgroup_parent,
        ]

    @property
    def pid(self) -> int:
        assert self._process is not None, "the dockerd is not running"
        return self._process.pid

    def _spawn(self, command: list[str], what: str) -> subprocess.Popen[bytes]:
        env = {
            "PATH": f"{D28_ROOT}/usr/sbin:{D28_ROOT}/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
        }
        with open(self.log, "ab") as log:
            log.write(f"===== {time.time():.3f} starting {what}\n".encode())
            log.flush()
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def _start_containerd(self, deadline: float) -> None:
        if self._containerd is not None and self._containerd.poll() is None:
            return
        self._containerd = self._spawn(
            [str(CONTAINERD), "--config", str(self.root / "containerd.toml")], "containerd"
        )
        while not self.containerd_socket.exists():
            if self._containerd.poll() is not None:
                raise AssertionError(f"the dedicated containerd exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError("the dedicated containerd did not start")
            time.sleep(0.02)

    def start(self, timeout: float = 30) -> None:
        assert self._process is None, "the dockerd runs already"
        deadline = time.monotonic() + timeout
        self._start_containerd(deadline)
        self._process = self._spawn(self.command(), "dockerd")
        while not self._answers():
            if self._process.poll() is not None:
                self._process = None
                raise AssertionError(f"the dedicated dockerd exited while starting:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the dedicated dockerd did not answer in {timeout} s")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket))
                sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
                reply = b""
                while data := sock.recv(4096):
                    reply += data
                return reply.startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill_now(self) -> None:
        """SIGKILL, without waiting (safe from a timer or an event loop callback)."""
        assert self._process is not None, "the dockerd is not running"
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the dockerd and reap it; containerd, shims and containers stay."""
        if self._process is not None:
            self.kill_now()
            self._process.wait(10)
            self._process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def teardown(self) -> None:
        self.kill()
        if self._containerd is not None:
            self._containerd.kill()
            self._containerd.wait(10)
            self._containerd = None
        root = str(self.root)
        # Twice: a shim killed first may leave a container process to the cgroup sweep.
        for _ in range(2):
            pids = set(self._cgroup_pids()) | set(self._pids_naming(root))
            pids.discard(os.getpid())
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while pids and time.monotonic() < deadline:
                pids = {pid for pid in pids if Path(f"/proc/{pid}").exists()}
                time.sleep(0.05)
        self._unmount_under(root)
        self._remove_cgroups()
        shutil.rmtree(self.root, ignore_errors=True)

    def _cgroup_dirs(self) -> list[Path]:
        name = self.cgroup_parent.strip("/")
        found: list[Path] = []
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            for candidate in (hierarchy / name, Path("/sys/fs/cgroup") / name):
                if candidate.is_dir() and candidate not in found:
                    found.append(candidate)
        return found

    def _cgroup_pids(self) -> list[int]:
        pids: list[int] = []
        for top in self._cgroup_dirs():
            for procs in top.rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    pids += [int(line) for line in procs.read_text().split()]
        return pids

    def _remove_cgroups(self) -> None:
        for top in self._cgroup_dirs():
            # Deepest first: rmdir of a cgroup with children fails.
            for directory in sorted(
                (p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
            ):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()

    @staticmethod
    def _pids_naming(text: str) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text.encode() in cmdline:
                pids.append(int(entry.name))
        return pids

    @staticmethod
    def _unmount_under(root: str) -> None:
        mounts = []
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/mountinfo").read_text().splitlines():
                point = line.split()[4].replace("\\040", " ")
                if point == root or point.startswith(root + "/"):
                    mounts.append(point)
        for point in sorted(mounts, reverse=True):
            subprocess.run(["umount", point], capture_output=True, check=False)
            if Path(point).is_mount():
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
