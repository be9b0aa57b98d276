"""Generate the sync code from its hand-written async source.

    python -m engineapi._codegen.unasync            # rewrite the generated files
    python -m engineapi._codegen.unasync --check    # fail if one is stale

The sources: every module of `engineapi/_async/` (each becomes its namesake in
`engineapi/_sync/`), and the few files of `FILES`, each generated next to its source
(`engineapi/backends/_httpx_async.py` → `_httpx_sync.py`).

The rewrite is an ordered table of whole-word substitutions. A line ending in
``# unasync: remove`` exists only in the async source. `--check` regenerates in memory and
compares byte for byte, and fails when a rule was never used (a dead rule hides drift).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

__all__ = ["FILES", "RULES", "generate", "main"]

PACKAGE = Path(__file__).resolve().parent.parent
SOURCE = PACKAGE / "_async"
TARGET = PACKAGE / "_sync"
#: Sources outside `SOURCE`, with the file generated from each.
FILES = {
    PACKAGE / "backends" / "_httpx_async.py": PACKAGE / "backends" / "_httpx_sync.py",
}

HEADER = (
    "# GENERATED from {source} by `python -m engineapi._codegen.unasync`.\n"
    "# Do not edit: change the async source and regenerate (make gen).\n"
)

#: (pattern, replacement), applied in order.
RULES: list[tuple[str, str]] = [
    (r"\bengineapi\._async\b", "engineapi._sync"),
    (r"\bAn asyncio\b", "A blocking"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\baclose\b", "close"),
    (r"\baconnect\b", "connect"),
    (r"\basleep\b", "sleep"),
    (r"\barun_blocking\b", "run_blocking"),
    (r"\barun_hooks\b", "run_hooks"),
    (r"\bextract_async_stream\b", "extract_stream"),
    (r"\bhandle_async_request\b", "handle_request"),
    (r"\baiter_raw\b", "iter_raw"),
    (r"\banext\b", "next"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\bhttpx\.AsyncByteStream\b", "httpx.SyncByteStream"),
    # An unopened attach (async) is opened at once by the blocking client.
    (r"\battaching\b", "attach"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\b_Async([A-Z]\w*)", r"_\1"),
]

_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in RULES]
_REMOVE_MARK = "# unasync: remove"


def rewrite(source: str, used: set[str]) -> str:
    lines = [
        line
        for line in source.splitlines(keepends=True)
        if not line.rstrip().endswith(_REMOVE_MARK)
    ]
    text = "".join(lines)
    for (pattern, replacement), (raw, _) in zip(_COMPILED, RULES, strict=True):
        text, count = pattern.subn(replacement, text)
        if count:
            used.add(raw)
    return text


def sources() -> dict[Path, Path]:
    """Each async source with the sync file generated from it."""
    return {path: TARGET / path.name for path in sorted(SOURCE.glob("*.py"))} | FILES


def generate() -> tuple[dict[Path, str], set[str]]:
    """The sync files (path → text) and the rules that were used."""
    used: set[str] = set()
    files: dict[Path, str] = {}
    for source, target in sources().items():
        header = HEADER.format(source=source.relative_to(PACKAGE.parent).as_posix())
        files[target] = ruff_format(header + rewrite(source.read_text(), used), target)
    return files, used


def ruff_format(text: str, path: Path) -> str:
    """`text` as ruff fixes and formats it (a rewrite may leave imports unsorted or lines
    short enough to join)."""
    fixed = _ruff(["check", "--fix-only", "--quiet"], text, path)
    return _ruff(["format", "--quiet"], fixed, path)


def _ruff(args: list[str], text: str, path: Path) -> str:
    command = [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(path), "-"]
    return subprocess.run(command, input=text, capture_output=True, text=True, check=True).stdout


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    files, used = generate()
    unused = [raw for raw, _ in RULES if raw not in used]
    if unused:
        print(f"unasync: rules never used (remove them or fix the source): {unused}")
        return 1
    stale = sorted(
        path for path, text in files.items() if not path.exists() or path.read_text() != text
    )
    extra = sorted(path for path in TARGET.glob("*.py") if path not in files)
    if check:
        if stale or extra:
            print(
                f"generated sync code is stale: differs {_names(stale)}, not generated "
                f"{_names(extra)}; run make gen"
            )
            return 1
        return 0
    TARGET.mkdir(exist_ok=True)
    for path in extra:
        path.unlink()
    for path in stale:
        path.write_text(files[path])
    return 0


def _names(paths: list[Path]) -> list[str]:
    return [path.relative_to(PACKAGE.parent).as_posix() for path in paths]


if __name__ == "__main__":
    raise SystemExit(main())
