"""A short, seeded run of every fuzz target on each `make test` (``make fuzz`` runs a million
inputs): no untyped exception, no input over a second of CPU."""

from __future__ import annotations

import warnings

import pytest

from tests.fuzz.harness import run
from tests.fuzz.targets import TARGETS

SMOKE = {"dockerignore": 150, "config": 300, "tar_extraction": 300}


@pytest.mark.parametrize("name", list(TARGETS))
def test_fuzz_smoke(name: str) -> None:
    target, seeds = TARGETS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run(name, target, seeds, SMOKE.get(name, 2000), seed=20261203)
    assert report.crashes == [] and report.hangs == [], report


def test_the_harness_reports_an_untyped_failure() -> None:
    def broken(data: bytes) -> None:
        if b"x" in data:
            raise KeyError("found")

    report = run("broken", broken, [b"abc", b"xyz"], 50, seed=1)
    assert report.crashes and report.crashes[0] == (1, "KeyError: 'found'")
