"""The version-facts pass: which API version first (and last) has each field.

Class names are not stable across spec versions (``Port`` became ``PortSummary``, the inline
``/containers/{id}/json`` response became ``ContainerInspectResponse``, …), so fields are not
matched by class name. Instead each older spec is walked *in parallel* with the newest one,
starting from the places that are stable: definitions with the same name, and the bodies and
responses of operations with the same ``operationId``. Wherever the newest spec has a class,
the older schema found at the same place tells which of its wire keys that version had.

Keys an older version had but the newest does not are kept as fields too (with ``until``
set and marked deprecated): daemons down to the oldest version still send them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from engineapi._apiversion import version_key
from engineapi._codegen.naming import attribute_name
from engineapi._codegen.schema import (
    ANY,
    FREE_OBJECT,
    PRIMITIVES,
    AliasT,
    FieldDef,
    ListT,
    MapT,
    ModelDef,
    ModelT,
    Prim,
    Registry,
    TypeExpr,
    describe,
    object_properties,
)
from engineapi._codegen.specs import Schema, Spec, ref_name


class _Sightings:
    """Which wire keys each class of the newest spec had, per older version."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        # (class, wire) → versions that have it, oldest first
        self.versions: dict[tuple[str, str], list[str]] = defaultdict(list)
        # class → wire → (spec, schema) of the newest version that still had a removed key
        self.removed: dict[str, dict[str, tuple[Spec, Schema]]] = defaultdict(dict)

    def walk_spec(self, spec: Spec) -> None:
        seen: set[tuple[str, int]] = set()
        for name, schema in spec.definitions.items():
            if name in self.registry.definition_types:
                self._walk(spec, self.registry.definition_types[name], schema, seen)
        for _path, _method, operation in spec.operations():
            newest = self.registry.operations.get(operation["operationId"])
            if newest is None:
                continue
            for param in operation.get("parameters", ()):
                if param["in"] == "body" and newest.body is not None:
                    self._walk(spec, newest.body, param.get("schema") or {}, seen)
            for code, response in operation.get("responses", {}).items():
                newest_type = newest.responses.get(int(code))
                if newest_type is not None and response.get("schema"):
                    self._walk(spec, newest_type, response["schema"], seen)

    def _walk(
        self, spec: Spec, newest: TypeExpr, schema: Schema, seen: set[tuple[str, int]]
    ) -> None:
        schema = spec.resolve(schema)
        if isinstance(newest, AliasT):
            self._walk(spec, newest.target, schema, seen)
        elif isinstance(newest, ListT):
            if schema.get("type") == "array" and schema.get("items"):
                self._walk(spec, newest.item, schema["items"], seen)
        elif isinstance(newest, MapT):
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                self._walk(spec, newest.value, values, seen)
        elif isinstance(newest, ModelT):
            key = (newest.name, id(schema))
            if key not in seen:
                seen.add(key)
                self._walk_model(spec, newest.name, schema, seen)

    def _walk_model(
        self, spec: Spec, name: str, schema: Schema, seen: set[tuple[str, int]]
    ) -> None:
        model = self.registry.types[name]
        assert isinstance(model, ModelDef)
        properties = object_properties(spec, schema)
        fields = {field.wire: field for field in model.fields}
        for wire, prop in properties.items():
            versions = self.versions[(name, wire)]
            if not versions or versions[-1] != spec.version:
                versions.append(spec.version)
            if wire in fields:
                self._walk(spec, fields[wire].type, prop, seen)
            else:
                self.removed[name][wire] = (spec, prop)


def _old_type(registry: Registry, spec: Spec, schema: Schema) -> TypeExpr:
    """A type for a key only older specs have: no new classes, newest classes where named."""
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        if name in registry.definition_types:
            return registry.definition_types[name]
        return _old_type(registry, spec, spec.resolve(schema))
    if schema.get("enum") or object_properties(spec, schema) or "allOf" in schema:
        kind = schema.get("type")
        return Prim(PRIMITIVES[kind]) if kind in PRIMITIVES else FREE_OBJECT
    kind = schema.get("type")
    if kind == "array":
        return ListT(_old_type(registry, spec, schema.get("items") or {}))
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and values:
            return MapT(_old_type(registry, spec, values))
        return FREE_OBJECT
    return Prim(PRIMITIVES[kind]) if kind in PRIMITIVES else ANY


def apply_field_versions(registry: Registry, specs: Sequence[Spec]) -> None:
    """Fill ``since``/``until`` of every field and add the fields newer specs dropped.

    *specs* run oldest to newest; *registry* was built from the newest.
    """
    sightings = _Sightings(registry)
    for spec in specs:
        sightings.walk_spec(spec)
    newest = specs[-1].version
    for model in registry.models():
        for field in model.fields:
            seen_in = sightings.versions.get((model.name, field.wire))
            field.since = seen_in[0] if seen_in else newest
            # Typed as always present only if the newest spec requires it and the oldest has
            # it: a daemon speaking an older version does not send a key its spec lacks. (Older
            # specs often leave out ``required`` lists the daemons did honour: the live evidence
            # covers the oldest version.)
            field.required = field.required and field.since == specs[0].version
        taken = {field.attr for field in model.fields}
        dropped = sightings.removed.get(model.name, {})
        for wire, (spec, prop) in sorted(
            dropped.items(), key=lambda item: (version_key(item[1][0].version), item[0])
        ):
            attr = attribute_name(wire)
            if attr in taken:
                continue  # e.g. an older spelling of a key we already have: left in `extra`
            taken.add(attr)
            seen_in = sightings.versions[(model.name, wire)]
            note = f"Only in API versions {seen_in[0]} to {seen_in[-1]}."
            text = describe(spec, prop)
            model.fields.append(
                FieldDef(
                    wire=wire,
                    attr=attr,
                    type=_old_type(registry, spec, prop),
                    description=f"{text}\n\n{note}" if text else note,
                    deprecated=True,
                    since=seen_in[0],
                    until=seen_in[-1],
                )
            )
