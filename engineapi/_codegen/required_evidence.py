"""Evidence for typing fields non-Optional: which keys the spec requires do engines leave out?

Usage::

    python -m engineapi._codegen.required_evidence              # cassettes + live sweep, write
    python -m engineapi._codegen.required_evidence --no-live    # cassettes only

Every JSON response is walked against the type the newest spec gives it (the operation is
found from the request's method and path), down into nested objects, lists and maps. For each
key the spec lists as ``required``, it records the engines whose replies had objects of that
class (``seen``) and those that left the key out (``"absent"``) or sent ``null`` (``"null"``)
at least once (``omitted``); ``unseen`` lists the required keys no reply covered. Sources:

- every cassette under ``fixtures/`` (real responses of docker20, docker28 and podman; the
  engine is the cassette's ``meta.engine``);
- a live sweep (`sweep`) over the engines in ``/run/engineapi/engines.json``: list, inspect
  and create calls, on throwaway resources carrying a unique label, removed afterwards. It is
  recorded into cassettes in a scratch directory and read like the fixtures.

The result is ``engineapi/_codegen/required-evidence.json``, which ``python -m
engineapi._codegen.models`` reads: a field is typed non-Optional only when the spec requires
it and no engine was seen omitting it (`apply_evidence`). Rerun it (live) when the specs, the
fixtures or the test engines change, then regenerate the models.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from engineapi._codegen.evidence import EVIDENCE_FILE
from engineapi._codegen.schema import (
    AliasT,
    ListT,
    MapT,
    ModelDef,
    ModelT,
    Registry,
    TypeExpr,
)
from engineapi._codegen.specs import REPO_ROOT

FIXTURES = REPO_ROOT / "fixtures"
ENGINES_JSON = Path("/run/engineapi/engines.json")
_LABEL = "engineapi.evidence"


def _reshaped() -> dict[str, Callable[[Any], Any]]:
    from engineapi.api.secrets import spec_id_key

    return {"SecretCreate": spec_id_key, "ConfigCreate": spec_id_key}


#: Replies engineapi reshapes before decoding them (by operationId): the evidence is about
#: what the model is given.
_RESHAPED = _reshaped()


# -- walking responses --------------------------------------------------------------------


class Evidence:
    """Per ``(class, wire key)`` the spec requires: objects seen and omissions, per engine."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.seen: dict[str, dict[str, dict[str, int]]] = {}
        self.omitted: dict[str, dict[str, dict[str, str]]] = {}
        self.responses: dict[str, int] = {}

    def add_response(self, engine: str, operation_id: str, status: int, value: Any) -> None:
        types = self.registry.operations.get(operation_id)
        if types is None:
            return
        expected = types.responses.get(status)
        if expected is None:
            return
        self.responses[engine] = self.responses.get(engine, 0) + 1
        reshape = _RESHAPED.get(operation_id)
        self._walk(engine, expected, value if reshape is None else reshape(value))

    def _walk(self, engine: str, t: TypeExpr, value: Any) -> None:
        if isinstance(t, AliasT):
            self._walk(engine, t.target, value)
        elif isinstance(t, ListT) and isinstance(value, list):
            for item in value:
                self._walk(engine, t.item, item)
        elif isinstance(t, MapT) and isinstance(value, dict):
            for item in value.values():
                self._walk(engine, t.value, item)
        elif isinstance(t, ModelT) and isinstance(value, dict):
            model = self.registry.types[t.name]
            assert isinstance(model, ModelDef)
            for field in model.fields:
                if field.required:
                    self._count(engine, model.name, field.wire, value)
                if value.get(field.wire) is not None:
                    self._walk(engine, field.type, value[field.wire])

    def _count(self, engine: str, model: str, wire: str, value: dict[str, Any]) -> None:
        seen = self.seen.setdefault(model, {}).setdefault(wire, {})
        seen[engine] = seen.get(engine, 0) + 1
        how = "absent" if wire not in value else "null" if value[wire] is None else None
        if how is not None:
            omitted = self.omitted.setdefault(model, {}).setdefault(wire, {})
            if omitted.get(engine) != "absent":  # absent anywhere is the stronger fact
                omitted[engine] = how

    def document(self, sources: Sequence[str]) -> dict[str, Any]:
        """The JSON document stored in `EVIDENCE_FILE` (sorted: diffs stay small)."""
        required = sorted(
            (model.name, field.wire)
            for model in self.registry.models()
            for field in model.fields
            if field.required
        )
        # A key of a base class is seen through the classes built on it (Network: NetworkSummary).
        built_on: dict[str, set[str]] = {}
        for model in self.registry.models():
            if model.allof_base is not None:
                built_on.setdefault(model.allof_base, set()).add(model.name)
        unseen = [
            f"{m}.{w}"
            for m, w in required
            if not any(self.seen.get(c, {}).get(w) for c in {m, *built_on.get(m, ())})
        ]
        return {
            "about": (
                "Keys the Engine API spec requires that an engine left out (absent) or sent as "
                "null, per class of the newest spec. Written by python -m "
                "engineapi._codegen.required_evidence; read by python -m "
                "engineapi._codegen.models, which types a required key non-Optional unless it "
                "is listed here."
            ),
            "sources": list(sources),
            "engines": sorted(self.responses),
            "omitted": {
                model: {wire: dict(sorted(by.items())) for wire, by in sorted(fields.items())}
                for model, fields in sorted(self.omitted.items())
            },
            "seen": {
                model: {wire: sorted(by) for wire, by in sorted(fields.items())}
                for model, fields in sorted(self.seen.items())
            },
            "unseen": unseen,
        }


# -- reading cassettes --------------------------------------------------------------------


def _route_patterns() -> list[tuple[str, re.Pattern[str], str]]:
    """``(method, path regex, operationId)``, the templates with fewest placeholders first."""
    from engineapi.api._routes import ROUTES

    routes = sorted(ROUTES.items(), key=lambda item: (item[1][1].count("{"), item[0]))
    patterns = []
    for operation_id, (method, template) in routes:
        regex = re.sub(r"\\\{[^}]+\\\}", "(.+)", re.escape(template))
        patterns.append((method, re.compile(f"^{regex}$"), operation_id))
    return patterns


def operation_of(
    method: str, path: str, patterns: Sequence[tuple[str, re.Pattern[str], str]]
) -> str | None:
    path = re.sub(r"^/v\d+\.\d+(?=/)", "", path.split("?", 1)[0])
    for route_method, regex, operation_id in patterns:
        if route_method == method and regex.match(path):
            return operation_id
    return None


def cassette_responses(path: Path) -> Iterator[tuple[str, str, int, Any]]:
    """``(engine, operationId, status, JSON value)`` for each JSON response of a cassette."""
    from engineapi.replay._cassette import Cassette

    cassette = Cassette.load(path)
    engine = cassette.meta.engine or path.parent.name
    patterns = _route_patterns()
    for exchange in cassette.exchanges:
        response = exchange.response
        if response is None or not response.complete or exchange.hijack is not None:
            continue
        if "json" not in (response.header("content-type") or ""):
            continue
        body = response.body if response.chunks is None else b"".join(response.chunks)
        operation_id = operation_of(exchange.request.method, exchange.request.path, patterns)
        if operation_id is None:
            continue
        try:
            value = json.loads(body or b"")
        except ValueError:
            continue  # a JSON stream (events, pull progress): not a model reply
        yield engine, operation_id, response.status, value


def read_cassettes(evidence: Evidence, paths: Iterable[Path]) -> None:
    for path in paths:
        for engine, operation_id, status, value in cassette_responses(path):
            evidence.add_response(engine, operation_id, status, value)


# -- the live sweep -----------------------------------------------------------------------


def sweep(engine: str, host: str, directory: Path) -> Path:
    """Record list/inspect/create replies of one engine into a cassette under *directory*.

    Throwaway resources carry the label ``engineapi.evidence=<uuid>`` and are removed after.
    Decoding is lenient here: the point is to see what the engine sends.
    """
    from engineapi import DaemonError, replay
    from engineapi.models import lenient_decoding

    label = {_LABEL: uuid.uuid4().hex[:12]}
    path = directory / f"{engine}.json"

    def read(call: Callable[[], object]) -> None:
        """A read-only call; a daemon error (system df races with other users' containers
        on Podman) is retried, then reported and skipped: it only means less evidence."""
        for attempt in range(3):
            try:
                call()
                return
            except DaemonError as error:
                if attempt == 2:
                    print(f"{engine}: skipped: {error}", file=sys.stderr)

    with lenient_decoding(), replay.client(path, mode="record", host=host, engine=engine) as c:
        read(c.system.info)
        read(c.system.version)
        read(c.system.data_usage)
        images = c.images.list()
        image = next(i.id for i in images if any("busybox" in t for t in i.repo_tags or ()))
        c.images.inspect(image)
        c.images.history(image)
        volume = c.volumes.create(labels=label)
        # And one without labels: Docker then sends "Labels": null, which the spec forbids.
        bare = c.volumes.create(name=f"engineapi-evidence-{label[_LABEL]}-bare")
        network = c.networks.create(
            {"Name": f"engineapi-evidence-{label[_LABEL]}", "Labels": label}
        )
        created = c.containers.create(
            {
                "Image": image,
                "Cmd": ["sh", "-c", "touch /evidence; sleep 30"],
                "Labels": label,
                "ExposedPorts": {"80/tcp": {}},
                "HostConfig": {
                    "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
                    "Binds": [f"{volume.name}:/data"],
                },
            }
        )
        try:
            c.containers.start(created.id)
            c.networks.connect(network.id, created.id)
            read(lambda: c.containers.list(all=True))
            read(lambda: c.containers.inspect(created.id))
            read(lambda: c.containers.top(created.id))
            read(lambda: c.containers.changes(created.id))
            execed = c.exec.create(created.id, {"Cmd": ["true"]}).id
            if execed is not None:  # IDResponse.Id is Optional: Secret/ConfigCreate say "ID"
                read(lambda: c.exec.inspect(execed))
            read(lambda: c.volumes.list(filters={"label": [f"{_LABEL}={label[_LABEL]}"]}))
            read(lambda: c.volumes.inspect(volume.name))
            read(lambda: c.volumes.inspect(bare.name))
            read(c.system.data_usage)  # volumes with usage data now
            read(lambda: c.networks.list())
            read(lambda: c.networks.inspect(network.id))
            c.containers.kill(created.id)
            c.containers.wait(created.id)
            for plugin in c.plugins.list() if "podman" not in engine else ():
                c.plugins.inspect(plugin.name)
        finally:
            cleanups: list[Callable[[], None]] = [
                lambda: c.containers.delete(created.id, force=True),
                lambda: c.networks.delete(network.id),
                lambda: c.volumes.delete(volume.name, force=True),
                lambda: c.volumes.delete(bare.name, force=True),
            ]
            for cleanup in cleanups:
                try:
                    cleanup()
                except DaemonError as error:
                    print(f"{engine}: cleanup failed: {error}", file=sys.stderr)
    return path


def live_engines() -> list[tuple[str, str]]:
    """``(name, host)`` of the running test engines, from ``/run/engineapi/engines.json``."""
    if not ENGINES_JSON.exists():
        return []
    return [(e["name"], e["host"]) for e in json.loads(ENGINES_JSON.read_text())]


# -- command line -------------------------------------------------------------------------


def collect(live: bool) -> dict[str, Any]:
    from engineapi._codegen.models import build_registry

    _specs, registry = build_registry(evidence=False)
    evidence = Evidence(registry)
    cassettes = sorted(FIXTURES.rglob("*.json"))
    read_cassettes(evidence, cassettes)
    sources = [f"{len(cassettes)} cassettes under fixtures/"]
    if live:
        with tempfile.TemporaryDirectory(prefix="engineapi-evidence-") as scratch:
            for name, host in live_engines():
                read_cassettes(evidence, [sweep(name, host, Path(scratch))])
                sources.append(f"live sweep of {name}")
    return evidence.document(sources)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engineapi._codegen.required_evidence", description=__doc__
    )
    parser.add_argument("--no-live", action="store_true", help="cassettes only")
    parser.add_argument("--output", type=Path, default=EVIDENCE_FILE)
    args = parser.parse_args(argv)
    document = collect(live=not args.no_live)
    text = json.dumps(document, indent=1) + "\n"
    args.output.write_text(text)
    omitted = document["omitted"]
    print(f"Wrote {args.output} ({sum(map(len, omitted.values()))} required keys omitted).")
    for model, fields in omitted.items():
        for wire, by in fields.items():
            print(f"  {model}.{wire}: {', '.join(f'{e} {how}' for e, how in by.items())}")
    if document["unseen"]:
        print(f"  never seen: {', '.join(document['unseen'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
