"""A clone is all it takes: the Engine API specs are in the repository, the wheel leaves them
(and the generators) out, and nothing reads beside the repository.

The whole suite runs under `tests.tools.outside_reads` (see tests/conftest.py); here the same
guard watches `make check-gen` in a copy of the repository that has a decoy spec directory
beside it: reading anything there fails the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engineapi._apiversion import MIN_API_VERSION
from engineapi._codegen.specs import DEFAULT_SPECS_DIR, available_versions
from tests.tools.outside_reads import OutsideReads

REPO = Path(__file__).resolve().parents[2]


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def repository_files() -> list[str]:
    """What a clone of this working tree holds: tracked files plus new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def copy_repository(target: Path) -> Path:
    for name in repository_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination)
    return target


def test_the_specs_are_vendored_unmodified() -> None:
    """Every file the README lists is here, byte for byte (its git blob id), with the licence."""
    readme = (DEFAULT_SPECS_DIR / "README.md").read_text()
    listed = dict(
        re.findall(r"^\| `([^`]+\.yaml)` \| `[^`]+` \| `([0-9a-f]{40})` \|$", readme, re.M)
    )
    present = {path.name for path in DEFAULT_SPECS_DIR.glob("*.yaml")}
    assert set(listed) == present
    assert {f"v1.{minor}.yaml" for minor in range(41, 56)} | {"swagger-latest.yaml"} <= present
    for name, blob in listed.items():
        assert git_blob_id((DEFAULT_SPECS_DIR / name).read_bytes()) == blob, name
    assert "Apache License" in (DEFAULT_SPECS_DIR / "LICENSE").read_text()
    assert re.search(r"moby/moby.*\n.*`[0-9a-f]{40}`", readme)
    assert available_versions(DEFAULT_SPECS_DIR)[0] == MIN_API_VERSION


def test_the_wheel_ships_generated_code_but_no_spec_or_generator(tmp_path: Path) -> None:
    source = copy_repository(tmp_path / "source")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", "dist", "."],
        cwd=source,
        capture_output=True,
        check=True,
        timeout=300,
    )
    (wheel,) = (source / "dist").glob("engineapi-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.endswith((".yaml", ".yml")) or "_codegen" in n]
    # The documentation site's sources (engineapi/docs/) are build input, not package data.
    assert not [n for n in names if n.startswith("engineapi/docs/")]
    assert "engineapi/py.typed" in names
    generated = {n for n in names if n.startswith("engineapi/models/_generated/")}
    assert "engineapi/models/_generated/__init__.py" in generated and len(generated) > 5
    assert "engineapi/api/_operations.py" in names


SITECUSTOMIZE = """
import atexit, json, os, sys
sys.path.insert(0, {tools!r})
from outside_reads import OutsideReads
from pathlib import Path

guard = OutsideReads.for_repository(Path({repo!r}))
sys.addaudithook(guard)

@atexit.register
def _report():
    with open(os.path.join({report!r}, f"{{os.getpid()}}.json"), "w") as out:
        json.dump(guard.seen, out)
"""


def test_check_gen_in_a_clone_reads_nothing_beside_it(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    clone = copy_repository(parent / "engineapi")
    # Decoy specs beside the clone: reading them would also break the check.
    decoy = parent / "engine-api"
    decoy.mkdir(parents=True)
    for name in ("v1.41.yaml", "v1.55.yaml"):
        (decoy / name).write_text("swagger: '2.0'\ninfo: {version: '0.0'}\n")
    hooks = tmp_path / "hooks"
    report = tmp_path / "report"
    hooks.mkdir()
    report.mkdir()
    (hooks / "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(
            tools=str(clone / "tests" / "tools"), repo=str(clone), report=str(report)
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGINEAPI_")}
    env["PYTHONPATH"] = str(hooks)
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", "venv", "check-gen", f"BIN={bin_dir}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = [json.loads(path.read_text()) for path in report.glob("*.json")]
    assert len(runs) >= 3  # the three generators, each watched
    outside = {path for run in runs for path in run}
    assert outside == set(), outside


@pytest.mark.parametrize(
    ("path", "forbidden"),
    [
        ("parent/engine-api/v1.41.yaml", True),
        ("parent/other-checkout/file", True),
        ("parent/repo/engineapi/x.py", False),
        ("parent/repo", False),
        ("home/.docker/config.json", True),
        ("home/projects/repo2/x", True),
        ("elsewhere/run/engineapi/engines.json", False),
    ],
)
def test_the_guard_tells_beside_and_home_from_inside(
    tmp_path: Path, path: str, forbidden: bool
) -> None:
    guard = OutsideReads([tmp_path / "parent", tmp_path / "home"], [tmp_path / "parent" / "repo"])
    guard("open", (str(tmp_path / path), "r", 0))
    assert bool(guard.seen) is forbidden
    guard.seen.clear()
    guard("os.listdir", (os.fsencode(tmp_path / path),))
    assert bool(guard.seen) is forbidden


def test_the_guard_ignores_descriptors_and_other_events(tmp_path: Path) -> None:
    guard = OutsideReads([tmp_path], [])
    guard("open", (3, "r", 0))
    guard("socket.connect", (None, str(tmp_path / "x")))
    assert guard.seen == {}


def test_a_repository_in_the_home_directory_may_read_itself(tmp_path: Path) -> None:
    home = tmp_path / "home"
    guard = OutsideReads([home / "src", home], [home / "src" / "engineapi"])
    guard("open", (str(home / "src" / "engineapi" / "README.md"), "r", 0))
    assert guard.seen == {}
    guard("open", (str(home / ".ssh" / "id_rsa"), "r", 0))
    assert list(guard.seen) == [str(home / ".ssh" / "id_rsa")]
