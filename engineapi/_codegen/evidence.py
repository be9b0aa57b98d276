"""The stored evidence of required keys engines omit, as the models generator applies it.

``required-evidence.json`` beside this module is written by ``python -m
engineapi._codegen.required_evidence`` (which says how it is gathered).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from engineapi._codegen.schema import ModelDef, ModelT, Registry, TypeExpr, iter_types

EVIDENCE_FILE = Path(__file__).resolve().parent / "required-evidence.json"

#: Keys the spec leaves out of its ``required`` lists although they identify the object a
#: reply is about (a container without an id is no container). Treated as required, and held
#: to the same evidence as the spec's own required keys.
IDENTITY_KEYS: frozenset[tuple[str, str]] = frozenset(
    {
        ("ContainerSummary", "Id"),
        ("ContainerInspectResponse", "Id"),
        ("ImageInspect", "Id"),
        ("Network", "Id"),
        ("Network", "Name"),
        ("NetworkInspect", "Id"),
        ("NetworkInspect", "Name"),
        ("ExecInspectResponse", "ID"),
    }
)


def mark_identity_keys(registry: Registry) -> None:
    """Mark `IDENTITY_KEYS` required (before the version pass, which checks they are old)."""
    for model_name, wire in IDENTITY_KEYS:
        # The class and those an allOf builds on it (NetworkSummary on Network): their copies
        # of the key must stay alike for them to remain subclasses.
        for model in registry.models():
            if model.name != model_name and model.allof_base != model_name:
                continue
            fields = [f for f in model.fields if f.wire == wire]
            assert fields, f"{model.name} has no key {wire!r}"
            fields[0].required = True


def load_evidence(path: Path = EVIDENCE_FILE) -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """``{class: {wire key: {engine: "absent" or "null"}}}`` from the stored evidence."""
    if not path.exists():
        return {}
    omitted: Mapping[str, Mapping[str, Mapping[str, str]]] = json.loads(path.read_text())["omitted"]
    return omitted


def apply_evidence(
    registry: Registry, omitted: Mapping[str, Mapping[str, Mapping[str, str]]]
) -> None:
    """Keep a required key Optional where an engine omitted it (in that class, its base, or a
    class built on the same definition: they share the key's declaration)."""
    related: dict[str, set[str]] = {}
    for model in registry.models():
        group = {model.name}
        if model.allof_base is not None:
            group.add(model.allof_base)
        for name in group:
            related.setdefault(name, set()).update(group)
    for model in registry.models():
        for field in model.fields:
            if not field.required:
                continue
            for name in related.get(model.name, {model.name}):
                by = omitted.get(name, {}).get(field.wire)
                if by:  # a new dict: a field copied from another class shares the old one
                    field.omitted_by = {**field.omitted_by, **by}
            if field.omitted_by:
                field.required = False


def response_models(registry: Registry) -> set[str]:
    """The classes a reply can hold: reachable from some operation's response type."""
    found: set[str] = set()

    def reach(t: TypeExpr) -> None:
        for part in iter_types(t):
            if isinstance(part, ModelT) and part.name not in found:
                found.add(part.name)
                model = registry.types[part.name]
                assert isinstance(model, ModelDef)
                for field in model.fields:
                    reach(field.type)

    for types in registry.operations.values():
        for t in types.responses.values():
            if t is not None:
                reach(t)
    return found


def keep_requests_optional(registry: Registry) -> None:
    """A class only request bodies use keeps its required keys Optional (and out of the
    constructor's required arguments): the caller writes it, often with the builder filling
    a key in (``SwarmJoinRequest.ListenAddr``), and the daemon checks it. Only what a reply
    holds gains from being typed as always present."""
    replies = response_models(registry)
    for model in registry.models():
        if model.name in replies:
            continue
        for field in model.fields:
            if field.required:
                field.required = False
                field.needed_in_request = True
