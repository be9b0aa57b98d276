"""The type-mapping pass: Swagger schemas → an intermediate model of classes and types.

Every definition of the newest spec becomes a :class:`ModelDef` (objects, ``allOf`` flattened),
an :class:`EnumDef` (``enum``) or an :class:`AliasDef` (a bare array or map such as ``PortMap``).
Inline schemas get named classes too:

- an inline object property ``P`` of class ``C`` → ``C`` + ``P`` (``ContainerSummaryHealth``);
  array items add ``Item`` and map values add ``Value``;
- an inline request body → its ``title`` or ``<OperationId>Request``; a 2xx response →
  its ``title`` or ``<OperationId>Response`` (array items: ``<OperationId>ResponseItem``);
- ``allOf`` with one ``$ref`` and no properties of its own (used in the specs only to attach a
  description or an example) is the referenced type itself.

Types whose shape varies by daemon are loosened through :data:`LOOSE_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from engineapi._codegen.naming import attribute_name, constant_name, pascal_case
from engineapi._codegen.specs import Schema, Spec, clean_description, is_deprecated, ref_name

# -- types ----------------------------------------------------------------------------------


@attrs.frozen
class Prim:
    """A JSON value kept as decoded: ``str``, ``int``, ``float``, ``bool`` or ``Any``."""

    name: str


@attrs.frozen
class ModelT:
    name: str


@attrs.frozen
class EnumT:
    name: str
    kind: str  # "str" or "int"


@attrs.frozen
class ListT:
    item: TypeExpr
    nullable_items: bool = False


@attrs.frozen
class MapT:
    value: TypeExpr
    nullable_values: bool = False


@attrs.frozen
class AliasT:
    """A reference to a named alias (``PortMap``); behaves as its target."""

    name: str
    target: TypeExpr


@attrs.frozen
class UnionT:
    """Several plain JSON shapes (``list[str] | str``); values are kept as decoded."""

    options: tuple[TypeExpr, ...]


TypeExpr = Prim | ModelT | EnumT | ListT | MapT | AliasT | UnionT

ANY = Prim("Any")
FREE_OBJECT = MapT(ANY)
PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}

#: Fields whose wire type differs between daemons or from the spec, by wire name (any class)
#: or by ``(class, wire name)``. Their values are kept exactly as decoded.
LOOSE_FIELDS: dict[str | tuple[str, str], TypeExpr] = {
    # Go strslice fields: a shell string or an exec-form list, in either direction.
    "Cmd": UnionT((ListT(Prim("str")), Prim("str"))),
    "Entrypoint": UnionT((ListT(Prim("str")), Prim("str"))),
    "Shell": UnionT((ListT(Prim("str")), Prim("str"))),
    # Unix seconds in list responses, RFC 3339 text in inspect responses.
    "Created": UnionT((Prim("int"), Prim("str"))),
}


def iter_types(t: TypeExpr) -> Iterator[TypeExpr]:
    """*t* and every type nested in it."""
    yield t
    if isinstance(t, ListT):
        yield from iter_types(t.item)
    elif isinstance(t, MapT):
        yield from iter_types(t.value)
    elif isinstance(t, AliasT):
        yield from iter_types(t.target)
    elif isinstance(t, UnionT):
        for option in t.options:
            yield from iter_types(option)


def needs_conversion(t: TypeExpr) -> bool:
    """Whether decoding must touch the value (it contains a model or an enum)."""
    return any(isinstance(part, ModelT | EnumT) for part in iter_types(t))


# -- classes --------------------------------------------------------------------------------


@attrs.define
class FieldDef:
    wire: str
    attr: str
    type: TypeExpr
    description: str
    deprecated: bool
    since: str = ""
    until: str | None = None  # the last version that has the field, if it was removed
    #: In the newest spec's ``required`` list and in the oldest spec (after the version pass),
    #: and sent by every engine the evidence covers (`apply_evidence`): typed non-Optional.
    required: bool = False
    #: ``{engine: "absent" or "null"}``: engines seen leaving out a key the spec requires.
    omitted_by: dict[str, str] = attrs.field(factory=dict)
    #: Required by the spec in a class only request bodies use (kept Optional there).
    needed_in_request: bool = False


@attrs.define
class ModelDef:
    name: str
    description: str
    fields: list[FieldDef]
    root: str  # the definition or operation class whose module holds this class
    #: The definition an ``allOf`` builds this class on (its first part, a ``$ref``).
    allof_base: str | None = None
    #: The class this one subclasses, set by `apply_inheritance`: its fields come first.
    base: str | None = None


@attrs.define
class EnumDef:
    name: str
    description: str
    kind: str  # "str" or "int"
    values: list[Any]
    constants: list[str]
    root: str


@attrs.define
class AliasDef:
    name: str
    description: str
    target: TypeExpr
    root: str


TypeDef = ModelDef | EnumDef | AliasDef


@attrs.define
class OperationTypes:
    """The body and 2xx response types of one operation (``None``: not JSON)."""

    body: TypeExpr | None
    body_schema: Schema | None
    responses: dict[int, TypeExpr | None]


# Integer enums have no names in the spec; these come from its descriptions.
_INT_ENUM_CONSTANTS = {"ChangeType": {0: "MODIFIED", 1: "ADDED", 2: "DELETED"}}


class SchemaError(ValueError):
    """The spec has a shape the generator does not know how to map."""


def object_properties(spec: Spec, schema: Schema) -> dict[str, Schema]:
    """The properties of an object schema, ``allOf`` parts flattened in order."""
    schema = spec.resolve(schema)
    found: dict[str, Schema] = {}
    for part in schema.get("allOf", ()):
        found.update(object_properties(spec, part))
    found.update(schema.get("properties") or {})
    return found


def describe(spec: Spec, schema: Schema) -> str:
    """A schema's description, or that of the first ``allOf`` part that has one."""
    text = clean_description(schema.get("description"))
    if not text:
        for part in schema.get("allOf", ()):
            text = describe(spec, spec.resolve(part))
            if text:
                break
    return text


def _own_description(schema: Schema) -> str:
    """A schema's description, or that of an ``allOf`` part that is not a reference."""
    text = clean_description(schema.get("description"))
    for part in schema.get("allOf", ()):
        if not text and "$ref" not in part:
            text = clean_description(part.get("description"))
    return text


def _enumerate(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _single_ref(schema: Schema) -> str | None:
    """The ``$ref`` of an ``allOf`` that only wraps one reference (plus prose or examples)."""
    parts = schema.get("allOf")
    if not parts or schema.get("properties"):
        return None
    refs = [part["$ref"] for part in parts if "$ref" in part]
    own_properties = any(part.get("properties") for part in parts if "$ref" not in part)
    return ref_name(refs[0]) if len(refs) == 1 and not own_properties else None


def _is_enum(schema: Schema) -> bool:
    """A string or integer enum (``enum: [{}]`` on ``ExposedPorts`` values is not one)."""
    values = schema.get("enum") or ()
    return bool(values) and all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in values
    )


def _is_plain(schema: Schema) -> bool:
    """A primitive, or an array of primitives: nothing to name, nothing to convert."""
    if "$ref" in schema or "allOf" in schema or "enum" in schema or "properties" in schema:
        return False
    if schema.get("type") == "array":
        return _is_plain(schema.get("items") or {})
    return schema.get("type") in PRIMITIVES


def is_object_schema(spec: Spec, schema: Schema) -> bool:
    schema = spec.resolve(schema)
    return bool(object_properties(spec, schema)) or (
        "allOf" in schema and _single_ref(schema) is None
    )


class Registry:
    """All named types of one spec, built by walking definitions and then operations."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.types: dict[str, TypeDef] = {}
        self.definition_types: dict[str, TypeExpr] = {}
        self.operations: dict[str, OperationTypes] = {}
        self._building: set[str] = set()
        for name in spec.definitions:
            self.definition_type(name)
        for _path, _method, operation in spec.operations():
            self.operations[operation["operationId"]] = self._operation_types(operation)

    # -- naming -------------------------------------------------------------------------------

    def _claim(self, definition: TypeDef) -> None:
        existing = self.types.get(definition.name)
        if existing is not None:
            raise SchemaError(f"two types would be named {definition.name!r}")
        self.types[definition.name] = definition

    def models(self) -> list[ModelDef]:
        return [t for t in self.types.values() if isinstance(t, ModelDef)]

    # -- definitions ----------------------------------------------------------------------------

    def definition_type(self, name: str) -> TypeExpr:
        """The type of ``#/definitions/<name>``, building its class on first use."""
        if name in self.definition_types:
            return self.definition_types[name]
        if name in self._building:
            raise SchemaError(f"definition {name!r} refers to itself")
        self._building.add(name)
        schema = self.spec.definitions[name]
        if _is_enum(schema):
            result: TypeExpr = self._enum(schema, name, root=name)
        elif is_object_schema(self.spec, schema):
            self._model(schema, name, root=name)
            result = ModelT(name)
        else:
            target = self.type_of(schema, name, root=name, allow_inline_object=False)
            self._claim(AliasDef(name, describe(self.spec, schema), target, root=name))
            result = AliasT(name, target)
        self._building.discard(name)
        self.definition_types[name] = result
        return result

    # -- the mapping ----------------------------------------------------------------------------

    def type_of(
        self, schema: Schema, name: str, *, root: str, allow_inline_object: bool = True
    ) -> TypeExpr:
        """Map *schema* to a type; an inline class or enum it needs is called *name*."""
        if "$ref" in schema:
            return self.definition_type(ref_name(schema["$ref"]))
        single = _single_ref(schema)
        if single is not None:
            return self.definition_type(single)
        if _is_enum(schema):
            return self._enum(schema, name, root=root)
        if allow_inline_object and is_object_schema(self.spec, schema):
            self._model(schema, name, root=root)
            return ModelT(name)
        kind = schema.get("type")
        if kind == "array":
            items = schema.get("items") or {}
            item = self.type_of(items, name + "Item", root=root)
            return ListT(item, bool(items.get("x-nullable")))
        if kind == "object" or "additionalProperties" in schema:
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                value = self.type_of(values, name + "Value", root=root)
                return MapT(value, bool(values.get("x-nullable")))
            return FREE_OBJECT
        if kind in PRIMITIVES:
            return Prim(PRIMITIVES[kind])
        go_type = schema.get("x-go-type")
        if isinstance(go_type, dict) and go_type.get("type") in self.spec.definitions:
            # go-swagger hint naming a definition where the schema itself is empty.
            return self.definition_type(go_type["type"])
        return ANY

    def _enum(self, schema: Schema, name: str, *, root: str) -> EnumT:
        kind = "int" if schema.get("type") == "integer" else "str"
        if name not in self.types:
            values = list(schema["enum"])
            named = _INT_ENUM_CONSTANTS.get(name, {})
            constants = [named.get(value) or constant_name(value) for value in values]
            if len(set(constants)) != len(constants):
                raise SchemaError(f"enum {name} has clashing constant names {constants}")
            self._claim(
                EnumDef(
                    name,
                    clean_description(schema.get("description")),
                    kind,
                    values,
                    constants,
                    root,
                )
            )
        return EnumT(name, kind)

    def _model(self, schema: Schema, name: str, *, root: str) -> None:
        schema = self.spec.resolve(schema)
        model = ModelDef(name, describe(self.spec, schema), [], root)
        self._claim(model)
        fields: dict[str, FieldDef] = {}
        parts = schema.get("allOf", ())
        for part in parts:
            if "$ref" in part:
                # Flattened fields keep the types (and inline classes) of the definition.
                base = self.definition_type(ref_name(part["$ref"]))
                base_model = self.types[base.name] if isinstance(base, ModelT) else None
                if not isinstance(base_model, ModelDef):
                    raise SchemaError(f"{name}: allOf part {part['$ref']} is not an object")
                if part is parts[0] and sum("$ref" in p for p in parts) == 1:
                    model.allof_base = base_model.name
                fields.update((f.wire, attrs.evolve(f)) for f in base_model.fields)
            else:
                fields.update(self._own_fields(part, name, root))
        fields.update(self._own_fields(schema, name, root))
        if model.allof_base is not None and not _own_description(schema):
            # The base's prose describes the base (Swarm's says "Join-tokens are not included").
            base_fields = self.types[model.allof_base]
            assert isinstance(base_fields, ModelDef)
            inherited = {f.wire for f in base_fields.fields}
            added = [f"``{wire}``" for wire in fields if wire not in inherited]
            model.description = f"A ``{model.allof_base}``" + (
                f" with {_enumerate(added)} too." if added else "."
            )
        seen_attrs: dict[str, str] = {}
        for field in fields.values():
            if field.attr in seen_attrs:
                raise SchemaError(
                    f"{name}: {field.wire!r} and {seen_attrs[field.attr]!r} map to {field.attr!r}"
                )
            seen_attrs[field.attr] = field.wire
        model.fields = list(fields.values())

    def _own_fields(self, schema: Schema, name: str, root: str) -> Iterator[tuple[str, FieldDef]]:
        required = set(schema.get("required") or ())
        for wire, prop in (schema.get("properties") or {}).items():
            loose = LOOSE_FIELDS.get((name, wire)) or LOOSE_FIELDS.get(wire)
            if loose is not None and _is_plain(prop):
                field_type = loose
            else:
                field_type = self.type_of(prop, name + pascal_case(wire), root=root)
            yield (
                wire,
                FieldDef(
                    wire=wire,
                    attr=attribute_name(wire),
                    type=field_type,
                    description=describe(self.spec, prop),
                    deprecated=is_deprecated(prop),
                    required=wire in required,
                ),
            )

    # -- operations -----------------------------------------------------------------------------

    def _operation_types(self, operation: Schema) -> OperationTypes:
        operation_id = operation["operationId"]
        body_type: TypeExpr | None = None
        body_schema: Schema | None = None
        for param in operation.get("parameters", ()):
            if param["in"] == "body":
                body_schema = param.get("schema") or {}
                body_type = self._payload_type(body_schema, f"{operation_id}Request")
        responses: dict[int, TypeExpr | None] = {}
        for code, response in operation.get("responses", {}).items():
            schema = response.get("schema")
            responses[int(code)] = (
                self._payload_type(schema, f"{operation_id}Response") if schema else None
            )
        return OperationTypes(body_type, body_schema, responses)

    def _payload_type(self, schema: Schema, default_name: str) -> TypeExpr | None:
        """A body or response type; ``None`` for raw text or bytes."""
        if schema.get("type") == "string" or (schema.get("type") is None and not schema):
            return None
        name = schema.get("title") or default_name
        if "$ref" not in schema and schema.get("type") == "array":
            items = schema.get("items") or {}
            item_name = items.get("title") or f"{name}Item"
            return ListT(self.type_of(items, item_name, root=item_name))
        return self.type_of(schema, name, root=name)


def apply_inheritance(registry: Registry) -> None:
    """Make each class an ``allOf`` builds on one definition a subclass of that definition's
    class, where it can be one.

    Runs after the version pass, which adds the keys only older specs have to every class that
    had them. A class inherits when it has every field of its base exactly as the base has it
    (type, versions, prose); its fields are then the base's, in the base's order, and its own
    after them. One that redefines an inherited field stays flat (``NetworkInspect`` types the
    ``Containers`` that ``Network`` keeps loose for older daemons).
    """
    settled: set[str] = set()

    def settle(model: ModelDef) -> None:
        if model.name in settled:
            return
        settled.add(model.name)
        if model.allof_base is None:
            return
        base = registry.types[model.allof_base]
        assert isinstance(base, ModelDef)
        settle(base)
        mine = {field.wire: field for field in model.fields}
        if any(mine.get(field.wire) != field for field in base.fields):
            return
        inherited = {field.wire for field in base.fields}
        model.fields = [*base.fields, *(f for f in model.fields if f.wire not in inherited)]
        model.base = base.name

    for model in registry.models():
        settle(model)


def own_fields(registry: Registry, model: ModelDef) -> list[FieldDef]:
    """The fields *model* declares itself: those after its base's."""
    if model.base is None:
        return model.fields
    base = registry.types[model.base]
    assert isinstance(base, ModelDef)
    return model.fields[len(base.fields) :]


def lineage(registry: Registry, model: ModelDef) -> list[ModelDef]:
    """*model*'s base classes, the root first, then *model*."""
    chain = [model]
    while chain[-1].base is not None:
        base = registry.types[chain[-1].base]
        assert isinstance(base, ModelDef)
        chain.append(base)
    return chain[::-1]
