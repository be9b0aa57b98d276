"""A small mutation fuzzer: seeds mutated at random, each input run through a target.

A target is a function of bytes that either returns or raises an `engineapi.EngineAPIError`
(what was wrong, typed). Anything else raised is a crash; an input taking longer than
`HANG_SECONDS` is a hang. Runs are seeded, so a failure replays: the report names the seed and
the input index, and `replay()` gives the input back.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from engineapi.errors import EngineAPIError

HANG_SECONDS = 1.0

Target = Callable[[bytes], Any]

_INTERESTING = [
    b"\x00",
    b"\xff",
    b"\r\n",
    b"\r\n\r\n",
    b"0",
    b"-1",
    b"9" * 30,
    b"{",
    b"[" * 64,
    b"}",
    b'"',
    b"\\",
    b"..",
    b"/",
    b"*",
    b"**",
    b"\x7f\xff\xff\xff",
]


def mutate(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    """One to four random edits: flip, insert, delete, duplicate, splice, interesting bytes."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1)
        if choice == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 2 and buf:
            del buf[pos : pos + rng.randint(1, 16)]
        elif choice == 3 and buf:
            start = rng.randrange(len(buf))
            piece = buf[start : start + rng.randint(1, 64)]
            buf[pos:pos] = piece * rng.randint(1, 8)
        elif choice == 4:
            other = rng.choice(seeds)
            cut = rng.randrange(len(other) + 1)
            buf[pos:] = other[cut:]
        elif choice == 5:
            buf[pos:pos] = rng.choice(_INTERESTING)
        else:
            buf[pos : pos + 1] = rng.choice(_INTERESTING)
    return bytes(buf)


@attrs.define
class Report:
    target: str
    inputs: int = 0
    crashes: list[tuple[int, str]] = attrs.field(factory=list)
    hangs: list[tuple[int, float]] = attrs.field(factory=list)
    typed_errors: int = 0
    seconds: float = 0.0
    peak_bytes: int = 0


def run(name: str, target: Target, seeds: Sequence[bytes], count: int, seed: int = 0) -> Report:
    report = Report(name)
    rng = random.Random(seed)
    # Warm up untimed: the first call imports (the generated models are large), fills caches.
    try:
        target(seeds[0])
    except Exception:
        pass
    tracemalloc.start()
    started = time.monotonic()
    try:
        for index in range(count):
            data = seeds[index] if index < len(seeds) else mutate(rng, rng.choice(seeds), seeds)
            began = time.process_time()  # CPU time: another process's load is not a hang
            try:
                target(data)
            except EngineAPIError:
                report.typed_errors += 1
            except Exception as exc:  # the finding: an untyped failure
                if len(report.crashes) < 20:
                    report.crashes.append((index, f"{type(exc).__name__}: {exc}"[:300]))
            took = time.process_time() - began
            if took > HANG_SECONDS and len(report.hangs) < 20:
                report.hangs.append((index, took))
            report.inputs += 1
    finally:
        report.seconds = time.monotonic() - started
        report.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return report


def replay(seeds: Sequence[bytes], seed: int, index: int) -> bytes:
    """Input number `index` of the run seeded with `seed` (to reproduce a finding)."""
    rng = random.Random(seed)
    data = b""
    for i in range(index + 1):
        data = seeds[i] if i < len(seeds) else mutate(rng, rng.choice(seeds), seeds)
    return data
