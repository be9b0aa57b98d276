"""Every python example of the guides (engineapi/docs/pages/) runs against a live engine.

Each ```python block is run as its own script, in a fresh temporary directory, with
``DOCKER_HOST`` set to Docker 28's socket: a guide example that breaks fails the suite. A block
that must not run (it needs a remote host, a registry login, or it is a fragment) is preceded
by the line ``<!-- not run: why -->``, which this test requires to give a reason. A block
preceded by ``<!-- pytest: what -->`` is a test module: it is run by pytest with the engineapi
plugin, recording its cassettes live, then again replaying them with no engine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Engine, _by_name

REPO = Path(__file__).resolve().parents[2]
PAGES = REPO / "engineapi" / "docs" / "pages"
BLOCK = re.compile(
    r"^(<!-- (?P<kind>not run|pytest): (?P<why>[^>]*?) -->\n)?```python\n(?P<code>.*?)^```$",
    re.M | re.S,
)


#: Marks a block to run as a pytest module (see the module's docstring).
PYTEST = "# pytest module\n"


def examples() -> list[tuple[str, str | None, str]]:
    found = []
    for page in sorted(PAGES.rglob("*.md")):
        text = page.read_text()
        for number, match in enumerate(BLOCK.finditer(text), 1):
            line = text.count("\n", 0, match.start("code"))
            why = match["why"] if match["kind"] == "not run" else None
            code = match["code"] if match["kind"] != "pytest" else PYTEST + match["code"]
            found.append((f"{page.relative_to(PAGES)}:{line}#{number}", why, code))
    return found


EXAMPLES = examples()


def test_the_guides_have_examples() -> None:
    assert len(EXAMPLES) >= 10
    not_run = [where for where, why, _ in EXAMPLES if why is not None]
    assert len(not_run) <= len(EXAMPLES) // 4, f"too many examples not run: {not_run}"
    assert all(why for _, why, _ in EXAMPLES if why is not None)


@pytest.fixture(scope="module")
def docker28() -> Engine:
    return _by_name("docker28")


@pytest.mark.live
@pytest.mark.parametrize(
    ("where", "why", "code"), EXAMPLES, ids=[where for where, _, _ in EXAMPLES]
)
def test_guide_example_runs(
    where: str, why: str | None, code: str, docker28: Engine, tmp_path: Path
) -> None:
    if why is not None:
        pytest.skip(f"marked not run in the guide: {why}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(
        DOCKER_HOST=docker28.host,
        DOCKER_CONFIG=os.environ["DOCKER_CONFIG"],
        PYTHONPATH=str(REPO),
    )
    if code.startswith(PYTEST):
        (tmp_path / "test_guide_example.py").write_text(code)
        for host in ("--engine-record", "--engine-host=unix:///nowhere.sock"):
            # Recorded live first; then replayed with no engine at the host.
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", host],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0 and " passed" in run.stdout, (
                f"{where} under pytest {host}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
            )
        assert list((tmp_path / "fixtures").rglob("*.json"))
        return
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{where} failed:\n--- code\n{code}\n--- stdout\n{result.stdout[-3000:]}"
        f"\n--- stderr\n{result.stderr[-3000:]}"
    )
