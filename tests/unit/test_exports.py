"""Stream and result types are importable from `engineapi`, loaded only on first use."""

from __future__ import annotations

import subprocess
import sys

import engineapi

NAMES = [
    "AsyncAttachedStream", "AsyncExecStream", "AsyncItemStream", "AsyncOutputStream",
    "AsyncProgressStream", "AsyncRawStream", "AsyncRunStream", "AsyncWebSocketAttach",
    "AttachedStream", "ExecStream", "ItemStream", "OutputStream", "ProgressStream",
    "RawStream", "RunStream", "WebSocketAttach", "RunResult", "ExecResult", "PathStat",
    "PingResult",
]  # fmt: skip


def test_stream_and_result_types_exported() -> None:
    for name in NAMES:
        assert name in engineapi.__all__
        assert getattr(engineapi, name).__name__ == name


def test_import_stays_lazy() -> None:
    code = "import sys, engineapi; print(any('streams' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    code = "from engineapi import AsyncOutputStream, RunResult; print(AsyncOutputStream.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "AsyncOutputStream"
