"""Request bodies given as plain mappings, checked against the models before anything is sent.

A typed model is sent as it is (its ``extra`` holds any key you added on purpose). A plain
mapping is walked with the model class the endpoint takes, using the models' field metadata
(`field_info`: wire names) and annotations (types):

- a key must be a field of the model: its wire name (``HostConfig``), its attribute name
  (``host_config``) or the wire name in another case (the daemon's JSON decoder ignores case);
  it is sent under the wire name. Anything else raises `InvalidArgument` with the closest
  names (``'Comand' is not a field of ContainerCreateRequest; did you mean 'Cmd'?``);
- nested models (``HostConfig``, ``Mounts`` items, ``EndpointsConfig`` values, …) are checked
  the same way, and a value of the wrong shape (a string where a list or an object is due) is
  refused;
- ``Env`` given as a mapping becomes the ``["K=V", …]`` list the daemon wants (``None`` as a
  value sends the bare ``K``, which unsets it).

`Raw` is the escape hatch for keys newer than the bundled specs: a `Raw` mapping, at the top
or anywhere inside, is sent exactly as given, unchecked.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from types import NoneType, UnionType
from typing import Any

from engineapi.errors import InvalidArgument
from engineapi.models._base import WireModel, field_info

__all__ = ["Raw", "check_body", "env_list"]


class Raw(dict[str, Any]):
    """A mapping sent as given: not checked against the models, keys not renamed.

    ``containers.create(Raw({"Image": "busybox", "NewKey": 1}))`` sends the body untouched;
    ``{"Image": "busybox", "HostConfig": Raw({...})}`` checks everything but the host config.
    For one extra key on a typed model, set it in the model's ``extra`` instead.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Raw({dict.__repr__(self)})"


class _Fields:
    """What checking needs of one model class: key → (wire name, type)."""

    __slots__ = ("by_key", "by_lower", "name", "names")

    def __init__(self, cls: type[WireModel]) -> None:
        hints = typing.get_type_hints(cls)
        self.name = cls.__name__
        self.by_key: dict[str, tuple[str, Any]] = {}
        lower: dict[str, list[str]] = {}
        for attr, info in field_info(cls).items():
            entry = (info.wire, hints.get(attr, Any))
            self.by_key[info.wire] = entry
            self.by_key.setdefault(attr, entry)
            lower.setdefault(info.wire.lower(), []).append(info.wire)
        # Case-insensitive wire names, as the daemon's decoder reads them (when unambiguous).
        self.by_lower = {
            low: self.by_key[wires[0]] for low, wires in lower.items() if len(wires) == 1
        }
        self.names = sorted({wire for wire, _ in self.by_key.values()})

    def lookup(self, key: str) -> tuple[str, Any] | None:
        found = self.by_key.get(key)
        if found is None:
            found = self.by_lower.get(key.lower())
        return found

    def suggest(self, key: str) -> list[str]:
        lowered = {name.lower(): name for name in self.names}
        for attr, (wire, _) in self.by_key.items():
            lowered.setdefault(attr.lower(), wire)
        close = difflib.get_close_matches(key.lower(), lowered, n=3, cutoff=0.6)
        out: list[str] = []
        for match in close:
            if lowered[match] not in out:
                out.append(lowered[match])
        return out


_FIELDS: dict[type, _Fields] = {}


def _fields(cls: type[WireModel]) -> _Fields:
    try:
        return _FIELDS[cls]
    except KeyError:
        fields = _FIELDS[cls] = _Fields(cls)
        return fields


def check_body(value: Any, model: type[WireModel], *, where: str = "") -> Any:
    """`value` (a model, a `Raw`, or a plain mapping) as the JSON object to send for `model`:
    a model's wire form, a `Raw` as given, a mapping checked and converted (see the module)."""
    if isinstance(value, WireModel):
        return value.to_wire()
    if isinstance(value, Raw):
        return dict(value)
    if not isinstance(value, Mapping):
        raise InvalidArgument(
            f"{where or 'the request body'} must be a {model.__name__} or a mapping, "
            f"not {type(value).__name__}",
            argument=where or None,
        )
    return _check_mapping(value, model, where)


def _check_mapping(value: Mapping[Any, Any], model: type[WireModel], where: str) -> dict[str, Any]:
    fields = _fields(model)
    out: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, item in value.items():
        path = f"{where}.{key}" if where else str(key)
        found = fields.lookup(key) if isinstance(key, str) else None
        if found is None:
            hint = fields.suggest(key) if isinstance(key, str) else []
            did = f"; did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
            inside = f" (in {where})" if where else ""
            raise InvalidArgument(
                f"{key!r} is not a field of {fields.name}{inside}{did} "
                "(wrap the mapping in engineapi.api.Raw(...) to send keys the bundled API "
                "specs do not describe)",
                argument=path,
            )
        wire, annotation = found
        if wire in given_as:
            raise InvalidArgument(
                f"{fields.name}: {given_as[wire]!r} and {key!r} both set {wire!r}",
                argument=path,
            )
        given_as[wire] = key
        out[wire] = _check_value(item, annotation, f"{where}.{wire}" if where else wire, wire)
    return out


def _alternatives(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is UnionType:
        return [a for a in typing.get_args(annotation) if a is not NoneType]
    return [annotation]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, WireModel)


def _check_value(value: Any, annotation: Any, path: str, wire: str) -> Any:
    if value is None or isinstance(value, Raw) or annotation is Any:
        return dict(value) if isinstance(value, Raw) else value
    if isinstance(value, WireModel):
        return value.to_wire()
    alternatives = _alternatives(annotation)
    if any(a is Any for a in alternatives):
        return value
    models = [a for a in alternatives if _is_model(a)]
    lists = [a for a in alternatives if typing.get_origin(a) is list]
    dicts = [a for a in alternatives if typing.get_origin(a) is dict]
    if isinstance(value, Mapping):
        if models:
            return _check_mapping(value, models[0], path)
        if dicts:
            item_type = typing.get_args(dicts[0])[1]
            return {k: _check_value(v, item_type, f"{path}[{k!r}]", wire) for k, v in value.items()}
        if wire == "Env" and lists:
            return env_list(value, argument=path)
        raise InvalidArgument(
            f"{path} must be {_describe(alternatives)}, not a mapping", argument=path
        )
    if isinstance(value, list | tuple):
        if lists:
            (item_type,) = typing.get_args(lists[0])
            return [_check_value(v, item_type, f"{path}[{i}]", wire) for i, v in enumerate(value)]
        if models or dicts or not _scalar_allowed(alternatives):
            raise InvalidArgument(
                f"{path} must be {_describe(alternatives)}, not a {type(value).__name__}",
                argument=path,
            )
        return value
    # A scalar: refused only where the field holds nothing but objects or lists.
    if not _scalar_allowed(alternatives):
        raise InvalidArgument(
            f"{path} must be {_describe(alternatives)}, not {type(value).__name__}",
            argument=path,
        )
    return value


def _scalar_allowed(alternatives: list[Any]) -> bool:
    return any(not _is_model(a) and typing.get_origin(a) not in (list, dict) for a in alternatives)


def _describe(alternatives: list[Any]) -> str:
    words = []
    for a in alternatives:
        if _is_model(a):
            words.append(f"a {a.__name__} (mapping)")
        elif typing.get_origin(a) is list:
            words.append("a list")
        elif typing.get_origin(a) is dict:
            words.append("a mapping")
        else:
            words.append(getattr(a, "__name__", str(a)))
    return " or ".join(words)


def env_list(env: Mapping[str, Any] | Any, *, argument: str = "env") -> list[str]:
    """An environment as the daemon's ``["K=V", …]``: from a mapping (a ``None`` value gives
    the bare ``K``, which unsets it), or a list of ``K=V`` strings as it is."""
    if isinstance(env, str):
        raise InvalidArgument(
            f"{argument} must be a mapping or a list of 'K=V' strings, not a string",
            argument=argument,
        )
    if not isinstance(env, Mapping):
        items = list(env)
        for item in items:
            if not isinstance(item, str):
                raise InvalidArgument(
                    f"{argument} items must be 'K=V' strings, not {type(item).__name__}",
                    argument=argument,
                )
        return items
    out = []
    for key, value in env.items():
        if not isinstance(key, str) or not key or "=" in key:
            raise InvalidArgument(
                f"{argument}: {key!r} is not a variable name (non-empty, no '=')",
                argument=argument,
            )
        if value is None:
            out.append(key)
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidArgument(
                f"{argument}[{key!r}] must be a string or a number, not {type(value).__name__}",
                argument=argument,
            )
        else:
            out.append(f"{key}={value}")
    return out
