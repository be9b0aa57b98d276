"""The replay package's place in engineapi: opt-in, sans-IO where it decides, a pytest plugin."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.unit.test_layers import IO_MODULES, PACKAGE, module_level_imports

SANS_IO = ["_cassette.py", "_drift.py", "_match.py", "_request_parser.py", "_scrub.py"]


def test_import_engineapi_does_not_import_replay() -> None:
    code = "import sys, engineapi; engineapi.Client; print('engineapi.replay' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", SANS_IO)
def test_replay_decisions_import_no_io(name: str) -> None:
    imports = module_level_imports(PACKAGE / "replay" / name)
    assert not {i for i in imports if i.split(".")[0] in IO_MODULES}
    assert not {i for i in imports if i.startswith(("engineapi._async", "engineapi._sync"))}


def test_the_plugin_is_an_entry_point() -> None:
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("engineapi") == "engineapi.replay.pytest_plugin"


def test_every_scenario_has_a_cassette_per_engine() -> None:
    from tests.replay.conftest import FIXTURES
    from tests.replay.scenarios import SCENARIOS

    expected = {
        f"{engine}/{name}.json"
        for name, scenario in SCENARIOS.items()
        for engine in scenario.engines
    }
    found = {str(p.relative_to(FIXTURES)) for p in Path(FIXTURES).rglob("*.json")}
    assert found == expected
