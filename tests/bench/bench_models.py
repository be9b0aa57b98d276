"""Model benchmarks (``python tests/bench/bench_models.py``).

M1  decode a ``GET /containers/json`` reply of 500 containers into ``ContainerSummary``
    objects: (json.loads + from_wire) / json.loads of the same bytes (target ≤ 1.5).
    The containers are built from the spec's own examples for ``ContainerSummary`` and the
    types it nests, varied per container, with the explicit nulls real daemons send.
M2  encode them back (to_wire + json.dumps) / json.dumps, for reference.
M3  import time: ``import engineapi.models`` and ``from engineapi.models import
    ContainerSummary``, each in a fresh interpreter.
M4  first-call cost: building a class's ``from_wire``/``to_wire`` from its declarations
    (``engineapi/models/_codec.py``), per class, for every model, in a fresh interpreter;
    and the first decode of the M1 reply (which builds the classes it meets) against the next.

Needs the specs (``engineapi/_codegen/engine-api`` or ``$ENGINEAPI_SPECS``) for M1/M2.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

CONTAINERS = int(os.environ.get("ENGINEAPI_BENCH_CONTAINERS", "500"))
ROUNDS = int(os.environ.get("ENGINEAPI_BENCH_ROUNDS", "30"))


def example_for(spec: Any, schema: Mapping[str, Any]) -> Any:
    """A value for *schema* from the spec's examples, filling gaps from the properties."""
    schema = spec.resolve(schema)
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    from engineapi._codegen.schema import object_properties

    properties = object_properties(spec, schema)
    if properties:
        return {key: example_for(spec, prop) for key, prop in properties.items()}
    if schema.get("type") == "array":
        return [example_for(spec, schema.get("items") or {})]
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and values:
        return {"example": example_for(spec, values)}
    if schema.get("enum"):
        return schema["enum"][0]
    return {"string": "example", "integer": 1, "boolean": False, "number": 1.5}.get(
        schema.get("type", "string")
    )


def build_containers(count: int) -> list[dict[str, Any]]:
    from engineapi._codegen.specs import load_specs

    spec = load_specs()[-1]
    base = example_for(spec, spec.definitions["ContainerSummary"])
    base["Created"] = 1739811096  # the spec's example is the string "1739811096"
    states = ["running", "exited", "created", "paused", "restarting"]
    containers = []
    for i in range(count):
        c = copy.deepcopy(base)
        c["Id"] = f"{i:064x}"
        c["Names"] = [f"/service_{i}"]
        c["Created"] += i
        c["State"] = states[i % len(states)]
        c["Status"] = f"Up {i % 59 + 1} minutes"
        c["Labels"] = {**c["Labels"], "com.example.index": str(i)}
        if i % 2:
            del c["ImageManifestDescriptor"]  # only with the containerd image store
        if i % 3:
            c.pop("SizeRw"), c.pop("SizeRootFs")  # only with ?size=1
        endpoint = c["NetworkSettings"]["Networks"].pop("example")
        # What Go's encoder sends for the nil slices and maps of a typical endpoint.
        endpoint.update(IPAMConfig=None, Links=None, Aliases=None, DriverOpts=None, DNSNames=None)
        endpoint["IPAddress"] = f"172.17.{i // 250}.{i % 250 + 2}"
        c["NetworkSettings"]["Networks"] = {"bridge": endpoint}
        c["Mounts"] = c["Mounts"] * (i % 3)
        c["Ports"] = c["Ports"] * (1 + i % 2)
        containers.append(c)
    return containers


def best_of(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_decode() -> None:
    from engineapi.models import ContainerSummary

    containers = build_containers(CONTAINERS)
    raw = json.dumps(containers, separators=(",", ":")).encode()  # compact, as the daemon sends
    decode = ContainerSummary.from_wire
    decoded = [decode(c) for c in json.loads(raw)]
    assert [d.to_wire() for d in decoded] == containers, "round trip is not lossless"

    from engineapi.api._call import Reply, decode_list
    from engineapi.http import Headers

    # What the client does with a GET /containers/json body: engineapi's decode_list.
    reply = Reply(200, Headers([("Content-Type", "application/json")]), raw)
    client_decode = decode_list(ContainerSummary)
    assert [d.to_wire() for d in client_decode(reply)] == containers

    loads = best_of(lambda: json.loads(raw))
    loads_and_decode = best_of(lambda: client_decode(reply))
    print(f"M1 decode {CONTAINERS} containers ({len(raw) / 1e6:.2f} MB of JSON)")
    print(f"   json.loads            {loads * 1e3:8.2f} ms")
    print(f"   engineapi decode_list {loads_and_decode * 1e3:8.2f} ms  (json.loads + from_wire)")
    print(f"   ratio                 {loads_and_decode / loads:8.2f}   (target <= 1.5)")
    # Nested models without required keys are decoded on first read: what reading them all costs.
    late = sorted(ContainerSummary._wire_late)

    def decode_and_read_all() -> None:
        for summary in client_decode(reply):
            for attr in late:
                getattr(summary, attr)

    read_all = best_of(decode_and_read_all)
    print(f"   + every nested model  {read_all * 1e3:8.2f} ms  (read once: {', '.join(late)})")
    parsed = json.loads(raw)
    decode_only = best_of(lambda: [decode(c) for c in parsed])
    per_container = decode_only / CONTAINERS * 1e6
    print(
        f"   from_wire alone       {decode_only * 1e3:8.2f} ms  ({per_container:.1f} us a container)"
    )

    dumps = best_of(lambda: json.dumps(containers))
    encode_and_dumps = best_of(lambda: json.dumps([d.to_wire() for d in decoded]))
    print("M2 encode them back")
    print(f"   json.dumps            {dumps * 1e3:8.2f} ms")
    print(f"   to_wire+json.dumps    {encode_and_dumps * 1e3:8.2f} ms")
    print(f"   ratio                 {encode_and_dumps / dumps:8.2f}")


def import_time(statement: str, env: dict[str, str], runs: int = 9) -> float:
    """Median seconds *statement* takes in a fresh interpreter (after one warm-up run)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = []
    for _ in range(runs + 1):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env=env,
        )
        times.append(float(result.stdout))
    return statistics.median(times[1:])


def bench_imports() -> None:
    print("M3 import time (median of fresh interpreters, byte-code cached)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    with tempfile.TemporaryDirectory(prefix="engineapi-bench-pyc-") as pycache:
        env["PYTHONPYCACHEPREFIX"] = pycache  # keeps the byte-code out of the work tree
        package = import_time("import engineapi.models", env)
        one = import_time("from engineapi.models import ContainerSummary", env)
        engineapi = import_time("import engineapi", env)
        attrs_only = import_time("import attrs", env)
    print(f"   import engineapi.models                        {package * 1e3:7.2f} ms")
    print(f"   from engineapi.models import ContainerSummary  {one * 1e3:7.2f} ms")
    print(f"     of which import engineapi (the package)      {engineapi * 1e3:7.2f} ms")
    print(f"     of which import attrs                        {attrs_only * 1e3:7.2f} ms")


_BUILD_COST = """
import json, statistics, sys, time
import engineapi.models as models
from engineapi.models import WireModel
classes = [getattr(models, name) for name in models.__all__]
classes = [c for c in classes if isinstance(c, type) and issubclass(c, WireModel)]
raw = sys.stdin.read()
from engineapi.api._call import Reply, decode_list
from engineapi.http import Headers
reply = Reply(200, Headers([("Content-Type", "application/json")]), raw.encode())
decode = decode_list(models.ContainerSummary)
start = time.perf_counter(); decode(reply); first = time.perf_counter() - start
start = time.perf_counter(); decode(reply); second = time.perf_counter() - start
from engineapi.models import _codec
met = len(_codec.BUILT)
with models.lenient_decoding():  # {} lacks the required keys: build the codec all the same
    for cls in classes:
        if cls is not WireModel:
            cls.from_wire({})
built = sorted(_codec.BUILT.values())
every = sum(built)
print(json.dumps([len(built), statistics.median(built), statistics.mean(built), built[-1],
                  every, met, first, second]))
"""


def bench_build() -> None:
    containers = json.dumps(build_containers(CONTAINERS), separators=(",", ":"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_COST],
        input=containers,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
    )
    count, median, mean, most, every, met, first, second = json.loads(result.stdout)
    print("M4 first-call cost (building the codecs, fresh interpreter)")
    print(
        f"   per class             median {median * 1e6:.0f} us, mean {mean * 1e6:.0f} us, "
        f"max {most * 1e6:.0f} us"
    )
    print(f"   all {count} classes     {every * 1e3:8.1f} ms")
    built = f"{met} class{'es' if met != 1 else ''}"
    print(f"   M1 reply, first call  {first * 1e3:8.2f} ms  (builds {built})")
    print(f"   M1 reply, next call   {second * 1e3:8.2f} ms")


def main() -> None:
    try:
        bench_decode()
    except Exception as error:  # no specs: say so, still measure imports
        print(f"M1/M2 skipped: {error}")
    bench_imports()
    try:
        bench_build()
    except Exception as error:
        print(f"M4 skipped: {error}")


if __name__ == "__main__":
    main()
