"""Property tests: whatever JSON object a daemon sends, decoding then encoding gives it back.

Objects are drawn from the models' own annotations (so nested models, lists, maps and enums
get the shapes they expect), then roughened: unknown keys at every level, explicit nulls,
values of unexpected types, enum values the spec does not list.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engineapi.models as models
from engineapi.errors import MissingFieldError
from engineapi.models import (
    ContainerSummary,
    ContainerSummaryState,
    OpenEnum,
    WireModel,
    field_info,
    lenient_decoding,
)
from engineapi.models._base import OpenIntEnum

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
UNKNOWN_KEYS = st.text(min_size=1, max_size=8).map(lambda key: f"X-{key}")

MODEL_CLASSES = sorted(
    (
        value
        for name in models.__all__
        for value in [getattr(models, name)]
        if isinstance(value, type) and issubclass(value, WireModel) and value is not WireModel
    ),
    key=lambda cls: cls.__name__,
)
MAX_DEPTH = 2
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _wire_types(cls: type[WireModel]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {a.metadata["engineapi.wire"]: hints[a.name] for a in attrs.fields(cls) if a.metadata}


def value_for(tp: Any, depth: int) -> st.SearchStrategy[Any]:
    """A JSON value of the shape *tp* describes (unions: any of their shapes)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):  # nulls are drawn separately
        shapes = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return st.one_of([value_for(arg, depth) for arg in shapes])
    if tp is type(None):
        return st.none()
    if origin is list:
        return st.lists(value_for(typing.get_args(tp)[0], depth), max_size=2)
    if origin is dict:
        return st.dictionaries(
            st.text(max_size=6), value_for(typing.get_args(tp)[1], depth), max_size=2
        )
    if isinstance(tp, type) and issubclass(tp, OpenEnum):
        return st.sampled_from(sorted(tp.constants().values())).map(str) | st.text(max_size=6)
    if isinstance(tp, type) and issubclass(tp, OpenIntEnum):
        return st.sampled_from(sorted(int(v) for v in tp.constants().values())) | st.integers()
    if isinstance(tp, type) and issubclass(tp, WireModel):
        return json_object(tp, depth + 1) if depth < MAX_DEPTH else st.just({})
    return {str: st.text(max_size=8), int: st.integers(), float: st.floats(allow_nan=False),
            bool: st.booleans()}.get(tp, JSON)  # fmt: skip


def _roughly(shape: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the expected shape; sometimes a null, sometimes any JSON value at all."""
    return st.integers(0, 9).flatmap(
        lambda roll: st.none() if roll == 0 else JSON if roll == 1 else shape
    )


def json_object(cls: type[WireModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """An object for *cls*: some known keys (well-typed, null or odd), maybe unknown keys."""
    known = {wire: _roughly(value_for(tp, depth)) for wire, tp in _wire_types(cls).items()}
    keys = sorted(known)
    if len(keys) > 8:  # draw a few keys of large classes (HostConfig has ~70)
        chosen = st.lists(st.sampled_from(keys), max_size=8, unique=True)
    else:
        chosen = st.lists(st.sampled_from(keys), unique=True) if keys else st.just([])
    unknown = st.dictionaries(UNKNOWN_KEYS, JSON, max_size=2)
    return st.tuples(chosen, unknown).flatmap(
        lambda pair: st.fixed_dictionaries({key: known[key] for key in pair[0]}).map(
            lambda data: {**data, **pair[1]}
        )
    )


def assert_round_trip(cls: type[WireModel], data: dict[str, Any]) -> WireModel:
    """Strict decoding fails when a required key is absent or null, with `MissingFieldError`
    naming it (or one of a nested object); lenient decoding round-trips anything."""
    lacking = {
        info.wire
        for info in field_info(cls).values()
        if info.required and data.get(info.wire) is None
    }
    try:
        cls.from_wire(data)
    except MissingFieldError as error:
        assert error.wire in lacking if error.model == cls.__name__ else error.how
    else:
        assert not lacking
    with lenient_decoding():
        decoded = cls.from_wire(data)
        assert decoded.to_wire() == data
        assert cls.from_wire(decoded.to_wire()) == decoded
    return decoded


@SETTINGS
@given(st.data())
def test_any_object_of_any_class_round_trips(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(MODEL_CLASSES), label="class")
    obj = data.draw(json_object(cls), label="object")
    decoded = assert_round_trip(cls, obj)
    assert set(decoded.extra) == {key for key in obj if key.startswith("X-")}


@SETTINGS
@given(json_object(ContainerSummary), st.dictionaries(UNKNOWN_KEYS, JSON, min_size=1, max_size=3))
def test_nested_unknown_keys_survive(obj: dict[str, Any], unknown: dict[str, Any]) -> None:
    obj["NetworkSettings"] = {"Networks": {"bridge": {"IPAddress": "10.0.0.2", **unknown}}}
    obj["Ports"] = [{"PrivatePort": 80, "Type": "tcp", **unknown}]
    decoded = assert_round_trip(ContainerSummary, obj)
    assert isinstance(decoded, ContainerSummary) and decoded.ports is not None
    assert decoded.ports[0].extra == unknown


@SETTINGS
@given(st.text(max_size=12))
def test_unknown_enum_values_survive(state: str) -> None:
    decoded = ContainerSummary.from_wire({"Id": "c", "State": state})
    assert isinstance(decoded.state, ContainerSummaryState)
    assert decoded.state == state
    assert decoded.state.is_known == (state in ContainerSummaryState.constants().values())
    assert decoded.to_wire() == {"Id": "c", "State": state}


@SETTINGS
@given(st.data())
def test_explicit_nulls_survive(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(MODEL_CLASSES), label="class")
    wires = sorted(_wire_types(cls))
    nulls = data.draw(st.lists(st.sampled_from(wires), unique=True) if wires else st.just([]))
    obj = dict.fromkeys(nulls)
    decoded = assert_round_trip(cls, obj)
    assert all(getattr(decoded, a.name) is None for a in attrs.fields(cls) if a.metadata)
