"""``python -m tests.fuzz [TOTAL] [SEED]`` (``make fuzz``): every target, TOTAL inputs in all
(default 1 000 000, shared by the targets by their speed class), then a table of inputs,
typed errors, crashes, hangs (> 1 s) and peak traced memory. Exit status 1 on any finding."""

from __future__ import annotations

import sys
import warnings

from tests.fuzz.harness import run
from tests.fuzz.targets import TARGETS

#: Slower targets (the filesystem; compiling patterns) get fewer inputs.
_SHARE = {"config": 0.03, "tar_extraction": 0.03, "dockerignore": 0.005}


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore")  # the config target makes the CLI's warnings by design
    total = int(argv[0]) if argv else 1_000_000
    seed = int(argv[1]) if len(argv) > 1 else 1
    fast = [name for name in TARGETS if name not in _SHARE]
    left = total - sum(int(total * share) for share in _SHARE.values())
    counts = {name: left // len(fast) for name in fast} | {
        name: int(total * share) for name, share in _SHARE.items()
    }
    print(f"fuzz: {sum(counts.values())} inputs, seed {seed}")
    print(
        f"{'target':20} {'inputs':>9} {'typed':>8} {'crashes':>8} {'hangs':>6} {'s':>7} {'peak':>9}"
    )
    findings = 0
    grand = 0
    for name, (target, seeds) in TARGETS.items():
        report = run(name, target, seeds, counts[name], seed)
        grand += report.inputs
        findings += len(report.crashes) + len(report.hangs)
        print(
            f"{name:20} {report.inputs:>9} {report.typed_errors:>8} {len(report.crashes):>8} "
            f"{len(report.hangs):>6} {report.seconds:>7.1f} {report.peak_bytes / 2**20:>7.1f}Mi"
        )
        for index, what in report.crashes[:5]:
            print(f"    crash at input {index} (seed {seed}): {what}")
        for index, took in report.hangs[:5]:
            print(f"    hang at input {index} (seed {seed}): {took:.1f} s")
    print(f"total: {grand} inputs, {findings} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
