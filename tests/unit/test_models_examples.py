"""Every example in every spec version decodes with the newest classes, losslessly.

Examples are collected wherever a schema that maps to a generated class has one: whole
definitions, their properties (at any depth), request bodies, and responses (``example`` on
the schema or ``examples`` by media type). Each is turned into plain JSON first (YAML would
otherwise hand over datetimes) and must satisfy, for the class at that place::

    to_wire(from_wire(x)) == x   and   from_wire(to_wire(from_wire(x))) == from_wire(x)

(decoding leniently: an example may leave out keys the spec requires.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import engineapi.models as models
from engineapi._codegen.models import build_registry
from engineapi._codegen.schema import (
    AliasT,
    ListT,
    MapT,
    ModelT,
    Registry,
    TypeExpr,
    iter_types,
    object_properties,
)
from engineapi._codegen.specs import Schema, Spec
from tests.unit.test_codegen import require_specs

VERSIONS = [f"1.{minor}" for minor in range(41, 56)]


def _has_model(t: TypeExpr) -> bool:
    return any(isinstance(part, ModelT) for part in iter_types(t))


def collect_examples(spec: Spec, registry: Registry) -> Iterator[tuple[str, TypeExpr, Any]]:
    """``(where, newest type, example as JSON)`` for every example a generated class covers."""
    seen: set[int] = set()

    def found(where: str, t: TypeExpr, example: Any) -> Iterator[tuple[str, TypeExpr, Any]]:
        if _has_model(t):
            yield where, t, json.loads(json.dumps(example, default=str))

    def walk(where: str, t: TypeExpr, schema: Schema) -> Iterator[tuple[str, TypeExpr, Any]]:
        if "example" in schema:  # beside a $ref, or on an inline schema
            yield from found(where, t, schema["example"])
        resolved = spec.resolve(schema)
        if resolved is not schema and "example" in resolved and id(resolved) not in seen:
            seen.add(id(resolved))
            yield from found(where, t, resolved["example"])
        while isinstance(t, AliasT):
            t = t.target
        if isinstance(t, ModelT):
            model = registry.types[t.name]
            fields = {f.wire: f for f in getattr(model, "fields", ())}
            for wire, prop in object_properties(spec, resolved).items():
                if wire in fields:
                    yield from walk(f"{where}.{wire}", fields[wire].type, prop)
        elif isinstance(t, ListT) and resolved.get("type") == "array":
            yield from walk(f"{where}[]", t.item, resolved.get("items") or {})
        elif isinstance(t, MapT) and isinstance(resolved.get("additionalProperties"), dict):
            yield from walk(f"{where}{{}}", t.value, resolved["additionalProperties"])

    for name, schema in spec.definitions.items():
        if name in registry.definition_types:
            yield from walk(name, registry.definition_types[name], schema)
    for _path, _method, operation in spec.operations():
        types = registry.operations.get(operation["operationId"])
        if types is None:
            continue
        op_id = operation["operationId"]
        for param in operation.get("parameters", ()):
            if param["in"] == "body" and types.body is not None:
                yield from walk(f"{op_id} body", types.body, param.get("schema") or {})
        for code, response in operation.get("responses", {}).items():
            t = types.responses.get(int(code))
            if t is None:
                continue
            where = f"{op_id} {code}"
            if response.get("schema"):
                yield from walk(where, t, response["schema"])
            for media_type, example in (response.get("examples") or {}).items():
                if "json" in media_type:
                    yield from found(f"{where} {media_type}", t, example)


def check_round_trip(t: TypeExpr, value: Any) -> int:
    """Decode *value* as *t* and back; returns how many model objects it covered."""
    while isinstance(t, AliasT):
        t = t.target
    if isinstance(t, ModelT) and isinstance(value, dict):
        cls = getattr(models, t.name)
        # Examples are often partial (no Id in a summary): lenient, as a lossless check.
        with models.lenient_decoding():
            decoded = cls.from_wire(value)
            encoded = decoded.to_wire()
            assert encoded == value
            assert json.dumps(encoded, sort_keys=True) == json.dumps(value, sort_keys=True)
            assert cls.from_wire(encoded) == decoded
        return 1
    if isinstance(t, ListT) and isinstance(value, list):
        return sum(check_round_trip(t.item, item) for item in value)
    if isinstance(t, MapT) and isinstance(value, dict):
        return sum(check_round_trip(t.value, item) for item in value.values())
    return 0


@pytest.fixture(scope="module")
def registry() -> Registry:
    require_specs()
    return build_registry()[1]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_example_round_trips(version: str, registry: Registry) -> None:
    specs = {spec.version: spec for spec in require_specs()}
    if version not in specs:
        pytest.fail(f"no v{version}.yaml among the specs ({sorted(specs)})")
    covered = 0
    for where, t, example in collect_examples(specs[version], registry):
        try:
            covered += check_round_trip(t, example)
        except AssertionError as error:
            raise AssertionError(f"v{version} example at {where} does not round-trip") from error
    assert covered > 20, f"only {covered} examples found in v{version}"


def test_examples_cover_the_main_classes(registry: Registry) -> None:
    """The walk really reaches the spec's examples of the classes clients use most."""
    specs = require_specs()
    reached = {
        part.name
        for spec in specs
        for _where, t, _example in collect_examples(spec, registry)
        for part in iter_types(t)
        if isinstance(part, ModelT)
    }
    main = {
        "ContainerSummary", "ContainerInspectResponse", "ContainerStatsResponse",
        "ContainerCreateRequest", "NetworkSummary", "Service", "Task", "Secret",
        "SystemDataUsageResponse", "ImageHistoryResponseItem", "ExecInspectResponse",
    }  # fmt: skip
    assert main <= reached
    assert len(reached) >= 50


def assemble(spec: Spec, schema: Schema) -> Any:
    """An object built from the property examples of *schema* (recursively)."""
    if "example" in schema:
        return json.loads(json.dumps(schema["example"], default=str))
    schema = spec.resolve(schema)
    if "example" in schema:
        return json.loads(json.dumps(schema["example"], default=str))
    properties = object_properties(spec, schema)
    if properties:
        return {wire: assemble(spec, prop) for wire, prop in properties.items()}
    if schema.get("type") == "array":
        return [assemble(spec, schema.get("items") or {})]
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and values:
        return {"key": assemble(spec, values)}
    if schema.get("enum"):
        return schema["enum"][-1]
    return {"integer": 7, "number": 0.5, "boolean": True, "object": {}}.get(
        schema.get("type", ""), "text"
    )


def test_objects_assembled_from_property_examples_round_trip(registry: Registry) -> None:
    """Definitions without a whole example (SystemInfo, …) are covered through their parts."""
    newest = require_specs()[-1]
    covered = 0
    for name, schema in newest.definitions.items():
        t = registry.definition_types[name]
        if _has_model(t):
            covered += check_round_trip(t, assemble(newest, schema))
    assert covered >= 140
