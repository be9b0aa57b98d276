"""Generate the models and the operations table from the Engine API specs.

Usage::

    python -m engineapi._codegen.models            # (re)write the generated files
    python -m engineapi._codegen.models --check    # exit 1 if they are not up to date

The specs are read from ``engineapi/_codegen/engine-api/`` or ``$ENGINEAPI_SPECS``. Output is
deterministic and formatted with ``ruff`` (import sorting and ``ruff format``, using the
repository's ``pyproject.toml``); ``--check`` regenerates into a temporary directory and
compares byte for byte, so it also catches stale or missing files.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from engineapi._codegen.emit_models import render_models
from engineapi._codegen.evidence import (
    apply_evidence,
    keep_requests_optional,
    load_evidence,
    mark_identity_keys,
)
from engineapi._codegen.operations import collect_operations, render_operations, render_routes
from engineapi._codegen.schema import Registry, apply_inheritance
from engineapi._codegen.specs import REPO_ROOT, Spec, SpecsNotFoundError, load_specs, specs_dir
from engineapi._codegen.versions import apply_field_versions

MODELS_DIR = "engineapi/models"
GENERATED_DIR = "engineapi/models/_generated"
OPERATIONS_FILE = "engineapi/api/_operations.py"
ROUTES_FILE = "engineapi/api/_routes.py"


def build_registry(
    directory: Path | None = None, *, evidence: bool = True
) -> tuple[list[Spec], Registry]:
    """The specs (oldest first) and the newest spec's types, with version facts applied and,
    with *evidence*, the required keys engines were seen omitting made Optional again."""
    specs = load_specs(directory)
    registry = Registry(specs[-1])
    mark_identity_keys(registry)
    apply_field_versions(registry, specs)
    keep_requests_optional(registry)
    if evidence:
        apply_evidence(registry, load_evidence())
    apply_inheritance(registry)
    return specs, registry


def generate(directory: Path | None = None) -> dict[str, str]:
    """``{path relative to the repository: unformatted source}`` for every generated file."""
    specs, registry = build_registry(directory)
    files = {f"{MODELS_DIR}/{path}": source for path, source in render_models(registry).items()}
    operations = collect_operations(registry, specs)
    versions = specs[0].version, specs[-1].version
    files[OPERATIONS_FILE] = render_operations(operations, *versions)
    files[ROUTES_FILE] = render_routes(operations, *versions)
    return files


def _ruff() -> list[str]:
    beside_python = Path(sys.executable).with_name("ruff")
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("ruff")
    return [found] if found else [sys.executable, "-m", "ruff"]


def write_formatted(files: Mapping[str, str], root: Path) -> None:
    """Write *files* under *root*, then sort imports and format them with ruff."""
    paths = []
    for relative, source in sorted(files.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        paths.append(str(path))
    config = ["--config", str(REPO_ROOT / "pyproject.toml")]
    ruff = _ruff()
    subprocess.run(
        [*ruff, "check", "--quiet", "--fix", "--select", "I", *config, *paths],
        check=True,
        cwd=REPO_ROOT,
    )
    subprocess.run([*ruff, "format", "--quiet", *config, *paths], check=True, cwd=REPO_ROOT)


def _stale(files: Mapping[str, str], root: Path) -> list[str]:
    """Generated modules present under *root* that the specs no longer produce."""
    generated = root / GENERATED_DIR
    if not generated.is_dir():
        return []
    existing = {f"{GENERATED_DIR}/{p.name}" for p in generated.glob("*.py")}
    return sorted(existing - set(files))


def write(root: Path = REPO_ROOT, directory: Path | None = None) -> list[str]:
    """Regenerate in place; returns the paths written."""
    files = generate(directory)
    for relative in _stale(files, root):
        (root / relative).unlink()
    write_formatted(files, root)
    return sorted(files)


def check(root: Path = REPO_ROOT, directory: Path | None = None) -> list[str]:
    """The generated paths that differ from a fresh regeneration (empty: up to date)."""
    files = generate(directory)
    with tempfile.TemporaryDirectory(prefix="engineapi-codegen-") as scratch:
        write_formatted(files, Path(scratch))
        differing = []
        for relative in sorted(files):
            fresh = (Path(scratch) / relative).read_bytes()
            current = root / relative
            if not current.exists() or current.read_bytes() != fresh:
                differing.append(relative)
    return differing + [f"{path} (stale)" for path in _stale(files, root)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engineapi._codegen.models", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--specs", type=Path, help=f"spec directory (default: {specs_dir()})")
    args = parser.parse_args(argv)
    try:
        if args.check:
            differing = check(directory=args.specs)
            if differing:
                print("Generated files are out of date; run python -m engineapi._codegen.models:")
                for path in differing:
                    print(f"  {path}")
                return 1
            print("Generated files are up to date.")
        else:
            written = write(directory=args.specs)
            print(f"Wrote {len(written)} files.")
    except SpecsNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
