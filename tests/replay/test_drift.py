"""Drift check (live): re-recording a scenario on the same engine changes only volatile values.

Each scenario is recorded again into a temporary directory and compared with the committed
cassette by `engineapi.replay.drift`: ids, times and the rules each scenario declares are
ignored, everything else (requests, statuses, headers, bodies, streams, hijacked bytes) must be
the same. A failure lists what changed: either the engine's behaviour did, or a value needs a
volatile rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engineapi.replay import Cassette, drift
from tests.replay.conftest import FIXTURES, open_session, run_scenario
from tests.replay.scenarios import SCENARIOS, cases


@pytest.mark.parametrize(("engine_name", "name"), cases())
def test_rerecording_changes_only_volatile_values(
    engine_name: str, name: str, tmp_path: Path
) -> None:
    scenario = SCENARIOS[name]
    committed = Cassette.load(FIXTURES / engine_name / f"{name}.json")
    run_scenario(open_session(engine_name, scenario, record=True, directory=tmp_path), scenario)
    fresh = Cassette.load(tmp_path / engine_name / f"{name}.json")
    differences = drift(committed, fresh)
    assert differences == [], "\n".join(differences)
