"""The package's layering rules, checked on the source (an import-linter in a few lines).

- sans-IO layers (http, streams, api, models, config) import no I/O module at module level;
- transports know nothing of HTTP;
- nothing below the clients imports the clients;
- generated code is never edited by hand: see test_generated.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "engineapi"
SANS_IO = ["http", "streams", "api", "models", "config"]
IO_MODULES = {"asyncio", "socket", "ssl", "select", "selectors", "threading", "asyncssh", "httpx"}


def module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
        elif isinstance(node, ast.If):  # TYPE_CHECKING blocks don't run
            continue
    return found


def files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", SANS_IO)
def test_sans_io_layers_import_no_io(layer: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in module_level_imports(path) if name.split(".")[0] in IO_MODULES
        )
        for path in files(layer)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_transports_know_nothing_of_http() -> None:
    for path in files("transports"):
        imports = module_level_imports(path)
        assert not any(name.startswith(("engineapi.http", "engineapi.api")) for name in imports), (
            path
        )


@pytest.mark.parametrize("layer", [*SANS_IO, "transports"])
def test_lower_layers_do_not_import_clients(layer: str) -> None:
    for path in files(layer):
        imports = module_level_imports(path)
        assert not any(
            name.startswith(("engineapi._async", "engineapi._sync")) for name in imports
        ), path


def test_import_engineapi_is_lazy() -> None:
    code = (
        "import sys, engineapi; "
        "heavy = [m for m in ('asyncio', 'ssl', 'socket', 'engineapi.models', 'engineapi._sync') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
