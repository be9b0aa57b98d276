"""A guard against reading what lies beside the repository or in the user's home.

A clone must test the same anywhere, so nothing the suite runs may read a sibling of the
repository (another checkout, a folder of specs) or the home directory (``~/.docker``, ``~/.ssh``:
the tester's own configuration). The guard is a `sys.addaudithook` hook: every ``open``,
directory listing and ``chdir`` the Python process makes is checked, and each path that falls
in a forbidden place is remembered (the suite reports them and fails at the end).

Allowed: the repository itself, the temporary directory (pytest's ``tmp_path``), and whatever
lies outside both the repository's parent and the home directory (the engines' sockets and
state under ``/run/engineapi`` and ``/var/lib/engineapi``, made by ``tests/engines/engines.sh``;
the interpreter and its packages).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

#: Audit events that read (or enter) a path, and where their path argument is.
WATCHED_EVENTS = {"open": 0, "os.listdir": 0, "os.scandir": 0, "os.chdir": 0}


def _prefix(path: str | Path) -> str:
    return os.path.normpath(os.fspath(path)).rstrip(os.sep) + os.sep


class OutsideReads:
    """Records reads below `forbidden` roots that are not below an `allowed` one."""

    def __init__(self, forbidden: Iterable[str | Path], allowed: Iterable[str | Path]) -> None:
        self.forbidden = tuple(_prefix(p) for p in forbidden)
        # The most specific place decides: a repository inside the home directory is allowed,
        # a sibling of a repository cloned into the temporary directory is not.
        self.allowed = tuple(_prefix(p) for p in allowed)
        #: path → (event, what was running: the caller sets `context` to the test's id)
        self.seen: dict[str, tuple[str, str]] = {}
        self.context = ""

    @classmethod
    def for_repository(cls, repository: Path) -> OutsideReads:
        repository = repository.resolve()
        forbidden: list[Path] = [repository.parent]
        home = os.environ.get("HOME")
        if home and Path(home).resolve() != Path("/"):
            forbidden.append(Path(home).resolve())
        allowed = [repository, Path(tempfile.gettempdir()).resolve()]
        # The interpreter may live in the home directory (pyenv): its own files are not the
        # tester's configuration.
        allowed += [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
        return cls(forbidden, allowed)

    def verdict(self, path: str) -> bool:
        """Whether reading the absolute, normalised `path` is forbidden."""
        probe = path.rstrip(os.sep) + os.sep
        denied = max((len(p) for p in self.forbidden if probe.startswith(p)), default=0)
        if not denied:
            return False
        granted = max((len(p) for p in self.allowed if probe.startswith(p)), default=0)
        return denied > granted

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        index = WATCHED_EVENTS.get(event)
        if index is None or len(args) <= index:
            return
        raw = args[index]
        if isinstance(raw, int) or raw is None:
            return  # a descriptor: opened elsewhere, already checked
        try:
            path = os.fsdecode(os.fspath(raw))  # type: ignore[arg-type]
        except TypeError:
            return
        path = os.path.normpath(os.path.join(os.getcwd(), path))
        if self.verdict(path) and path not in self.seen:
            self.seen[path] = (event, self.context)

    def report(self) -> str:
        return "\n".join(
            f"  {event} {path}" + (f" (in {context})" if context else "")
            for path, (event, context) in sorted(self.seen.items())
        )
