"""The package's layering rules, checked on the source (an import-linter in a few lines).

- sans-IO layers (http, streams, api, models, config) import no I/O module at module level;
- call builders (api) import no filesystem or process module anywhere, not even lazily: they
  describe paths and credentials, the client reads them (`engineapi.archive.local`,
  `engineapi.config.auth.CredentialsNeeded`);
- transports know nothing of HTTP;
- nothing below the clients imports the clients;
- generated code is never edited by hand: see test_generated.py.
"""

from __future__ import annotations

import ast
import re
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


def all_imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (function bodies, TYPE_CHECKING blocks)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _type_checking_only(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found |= {alias.name for alias in inner.names}
    return found


FILESYSTEM_AND_PROCESSES = {"os", "subprocess", "shutil", "pathlib", "tempfile", "glob"}
#: Modules that read files or run programs: builders may name their types, never call them.
DOING_IO = {"engineapi.archive.tarball", "engineapi.archive.dockerignore"}


def test_call_builders_do_no_io() -> None:
    offenders = {}
    for path in files("api"):
        used = all_imports(path) - _type_checking_only(path)
        bad = sorted(
            name
            for name in used
            if name.split(".")[0] in FILESYSTEM_AND_PROCESSES or name in DOING_IO
        )
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = bad
    assert offenders == {}


@pytest.mark.parametrize("layer", [*SANS_IO, "transports", "archive"])
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


def test_api_version_facts_have_one_home() -> None:
    """The supported range and the version comparison are defined in `engineapi._apiversion`
    only; everything else imports them."""
    home = PACKAGE / "_apiversion.py"
    defined = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == home:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [node.name]
            for name in names:
                if re.fullmatch(r"(MIN|MAX)_(API_)?VERSION|version_(key|tuple)", name):
                    defined.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert defined == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module → the engineapi modules it imports, at any depth, TYPE_CHECKING included.
    ``from engineapi import models`` imports ``engineapi.models``, not the package facade."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                subs = [f"{node.module}.{alias.name}" for alias in node.names]
                found |= {sub for sub in subs if sub in modules}
                if not all(sub in modules for sub in subs) and node.module in modules:
                    found.add(node.module)
        graph[name] = found - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_even_for_type_checking() -> None:
    """Streams and namespaces depend on the executor protocol, not on the client; responses
    on the protocol of their connection's owner, not on the pool."""
    assert cycles(import_graph()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_public_error_is_defined_in_errors_py() -> None:
    """One tree, one file: other modules re-export errors, they do not define them.
    (`ReplayMismatch` carries the two sides of a diff and lives with the matcher;
    `UnhandledRequest` carries the mock's request and lives with `MockBackend`.)"""
    defined = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" or "_codegen" in path.parts:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {ast.unparse(base) for base in node.bases}
                if any(b.endswith(("Error", "Exception", "Unsupported")) for b in bases):
                    defined.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert defined == ["replay/_match.py: ReplayMismatch", "testing.py: UnhandledRequest"]


def test_no_select_select() -> None:
    """``select.select`` refuses descriptors from 1024 on (ValueError in a busy process): wait
    with ``poll`` (see `engineapi.transports._socket.wait_fd`)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and ast.unparse(node) == "select.select":
                found.append(str(path.relative_to(PACKAGE)))
    assert found == []
