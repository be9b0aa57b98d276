"""What every generated model shares: the field wrapper, open enums, repr, field facts.

The generated modules only declare each class's fields; its ``from_wire``/``to_wire`` are
written from those declarations and compiled on first use (:mod:`engineapi.models._codec`).
Design, in short (the built ``from_wire``/``to_wire`` follow it):

- **Attributes are optional, default None**, except the keys the spec requires and every
  engine was seen sending (``python -m engineapi._codegen.required_evidence``): those are
  typed without ``| None`` and are required keyword arguments of the constructor. A reply
  lacking one (absent or ``null``) raises :class:`engineapi.errors.MissingFieldError`
  naming the class and the key, unless decoding is lenient (:func:`lenient_decoding`,
  ``Client(strict_models=False)``), which leaves ``None`` there. This check runs only when
  such a key is absent or null: the usual reply pays nothing for it. Values are not
  validated otherwise. ``None`` means "absent or null" to users.
- **Explicit nulls survive.** ``from_wire`` records the wire keys that arrived as JSON
  ``null`` in a private, compare-neutral slot (``_wire_nulls``, a bit mask over the fields in
  spec order); ``to_wire`` writes ``null`` back for those keys while the attribute is still
  ``None``. A key that was absent stays absent. The bookkeeping costs one ``is None`` test
  per key on the common path.
- **Unknown keys survive.** Keys a class does not know (a newer daemon, an extension) are
  kept in ``extra`` and written back, after the known keys, by ``to_wire``. ``extra`` is a
  dict made on first access: the slot behind it (``_extra``) holds ``None`` until then, which
  spares a decoded reply an empty dict per object (half of what decoding allocates).
- **Unexpected value types survive.** Decoding converts a value only when it has the
  expected JSON shape (a ``dict`` for a model, a ``list`` for an array, a ``str`` for an
  enum); anything else is kept as decoded, so ``to_wire(from_wire(x)) == x`` for every JSON
  object *x*. Annotations describe what the spec promises; fields known to vary between
  daemons (``Cmd``, ``Created``, …) are annotated with every shape they take.
- **Enums are open.** Spec enums are :class:`OpenEnum` (``str``) or :class:`OpenIntEnum`
  subclasses: known values decode to the class constants, unknown values to a new instance of
  the same class. Either compares equal to the plain value; ``to_wire`` gives plain values.
- **Nested models whose decoding cannot fail wait for their first read.** A field holding
  models (alone, in a list or a map) none of which has a required key below it is left unset
  by ``from_wire`` when its value has the JSON shape; the object keeps the reply (``_wire_raw``)
  and ``__getattr__``, reached only for an unset slot, decodes the value and stores it. A list
  reply then allocates about one object per item instead of ten, which is what the cyclic GC's
  cost grows with. Fields with a required key below them are decoded at once, so a broken reply
  still raises where it is decoded.
- **Classes are mutable** (``attrs.define``, not ``frozen``): ``from_wire`` skips
  ``__init__`` and assigns the slots directly, which a frozen class does not allow; measured,
  that is 2.5x faster than a keyword ``__init__`` and 4.5x faster than a frozen one. When an
  object has exactly the keys its class knows (the usual reply), one ``itemgetter`` call reads
  them all; otherwise each key is read with ``dict.get``.
- **Each field records its wire name and API versions** in its attrs metadata, read back
  with :func:`field_info`. Keys that only older specs have (down to the oldest version
  described) are fields too, with ``until`` set: old daemons still send them.

``to_wire`` shares plain JSON lists and dicts with the model rather than copying them.
"""

from __future__ import annotations

import builtins
import sys
import types
from _thread import allocate_lock as _thread_lock
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Final,
    Protocol,
    Self,
    TypeVar,
    cast,
    dataclass_transform,
)

import attrs

#: The oldest API version the models describe; fields without a ``since`` date from it.
OLDEST_API_VERSION: Final = "1.41"

_WIRE: Final = "engineapi.wire"
_SINCE: Final = "engineapi.since"
_UNTIL: Final = "engineapi.until"
_DEPRECATED: Final = "engineapi.deprecated"
_REQUIRED: Final = "engineapi.required"


_T = TypeVar("_T")


class _Allocate(Protocol):
    def __call__(self, cls: type[_T], /) -> _T: ...


#: ``object.__new__``, looked up once: ``from_wire`` makes instances without ``__init__``.
new_instance = cast(_Allocate, object.__new__)


class _Required:
    """The default of `wire_field`'s *default*: none, the attribute is required."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REQUIRED"


_NO_DEFAULT: Final[Any] = _Required()


def wire_field(
    wire: str,
    *,
    default: None = _NO_DEFAULT,
    since: str = OLDEST_API_VERSION,
    until: str | None = None,
    deprecated: bool = False,
) -> Any:
    """A model attribute stored under *wire* in the JSON: optional with ``default=None``,
    else required — a keyword argument the constructor needs and decoding checks (the spec
    requires the key and every engine was seen sending it).

    *since* is the first API version whose spec has the key, *until* the last one for keys
    newer specs dropped, *deprecated* whether the spec says so. Type checkers see the
    difference through `wire_model` (a field without ``default=`` is a required argument).
    """
    required = default is _NO_DEFAULT
    metadata = {
        _WIRE: wire,
        _SINCE: since,
        _UNTIL: until,
        _DEPRECATED: deprecated,
        _REQUIRED: required,
    }
    if required:
        return attrs.field(metadata=metadata)
    return attrs.field(default=None, metadata=metadata)


_M = TypeVar("_M", bound="WireModel")


@dataclass_transform(kw_only_default=True, field_specifiers=(wire_field, attrs.field))
def wire_model(cls: type[_M]) -> type[_M]:
    """The class decorator of every model: a slotted, mutable attrs class with keyword-only
    arguments (and `WireModel`'s repr). Declared as a dataclass transform, so that mypy and
    pyright see which constructor arguments are required (their attrs support does not know
    `wire_field`)."""
    return attrs.define(slots=True, kw_only=True, repr=False)(cls)


def extra_key(extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """How ``_extra`` compares (its attrs ``eq`` key): no dict yet and an empty one are alike."""
    return extra or None


@attrs.frozen
class FieldInfo:
    """Facts about one model attribute, from the specs."""

    attr: str
    """The Python attribute name (``ip_address``)."""
    wire: str
    """The JSON key (``IPAddress``)."""
    since: str
    """The first API version whose spec has the key ("1.41": the oldest one described)."""
    deprecated: bool
    """Whether the spec marks the key deprecated (or newer specs dropped it)."""
    until: str | None = None
    """The last API version whose spec has the key, if newer specs dropped it."""
    required: bool = False
    """Whether the key is typed as always present (the spec requires it, engines send it)."""


_FIELD_INFO_CACHE: dict[type, Mapping[str, FieldInfo]] = {}


def field_info(cls: type[WireModel]) -> Mapping[str, FieldInfo]:
    """``{attribute name: FieldInfo}`` for every wire field of a model class, in spec order."""
    try:
        return _FIELD_INFO_CACHE[cls]
    except KeyError:
        pass
    info = {
        a.name: FieldInfo(
            attr=a.name,
            wire=a.metadata[_WIRE],
            since=a.metadata[_SINCE],
            deprecated=a.metadata[_DEPRECATED],
            until=a.metadata[_UNTIL],
            required=a.metadata.get(_REQUIRED, False),
        )
        for a in attrs.fields(cls)
        if _WIRE in a.metadata
    }
    _FIELD_INFO_CACHE[cls] = info
    return info


def _null_bit(model: WireModel, name: str) -> tuple[str, int]:
    """The attribute behind *name* (attribute or wire name) and its bit in ``_wire_nulls``:
    the codec numbers the wire fields in `field_info` order."""
    info = field_info(type(model))
    for index, (attr, facts) in enumerate(info.items()):
        if name == attr or name == facts.wire:
            return attr, 1 << index
    raise AttributeError(f"{type(model).__name__} has no wire field {name!r}")


def is_null(model: WireModel, name: str) -> bool:
    """Whether the key of attribute *name* (or its wire name) arrived as an explicit JSON
    ``null`` and the attribute is still None: ``to_wire`` writes ``null`` for it.

    The attribute reads None both for an absent key and for a null one; this tells them
    apart (``has_key`` is true for both a value and a null)."""
    attr, bit = _null_bit(model, name)
    return getattr(model, attr) is None and bool(model._wire_nulls & bit)


def has_key(model: WireModel, name: str) -> bool:
    """Whether ``to_wire`` writes the key of attribute *name* (or its wire name): it holds a
    value, or arrived as an explicit ``null`` (`is_null`). False for an absent key."""
    attr, bit = _null_bit(model, name)
    return getattr(model, attr) is not None or bool(model._wire_nulls & bit)


def set_null(model: WireModel, name: str) -> None:
    """Set attribute *name* (or its wire name) to None *and* have ``to_wire`` send an explicit
    ``null`` for it, as if it had arrived so (assigning None leaves the key out instead,
    unless it arrived as null)."""
    attr, bit = _null_bit(model, name)
    setattr(model, attr, None)
    object.__setattr__(model, "_wire_nulls", model._wire_nulls | bit)


#: True inside `lenient_decoding`: a required key a reply lacks decodes to None.
_LENIENT: Final[ContextVar[bool]] = ContextVar("engineapi_lenient_decoding", default=False)


@contextmanager
def lenient_decoding(lenient: bool = True) -> Iterator[None]:
    """Within the block (this thread or task), a reply lacking a key the spec requires is
    decoded with ``None`` there instead of raising `MissingFieldError`::

        with engineapi.models.lenient_decoding():
            summary = ContainerCreateResponse.from_wire({"Warnings": []})  # id is None

    ``Client(strict_models=False)`` does the same for every reply of one client.
    """
    token = _LENIENT.set(lenient)
    try:
        yield
    finally:
        _LENIENT.reset(token)


def missing_required(cls: type[WireModel], attr: str, how: str) -> None:
    """Called by a built ``from_wire`` when a required key is absent or null: raise, unless
    decoding is lenient."""
    if _LENIENT.get():
        return
    from engineapi.errors import MissingFieldError

    wire = field_info(cls)[attr].wire
    raise MissingFieldError(cls.__name__, attr, wire, how)


def _build_codec(cls: type) -> None:
    from engineapi.models._codec import Base, build  # on first use: importing stays cheap

    global _CODEC_BASE
    if _CODEC_BASE is None:
        _CODEC_BASE = Base(
            model=WireModel,
            str_enum=OpenEnum,
            int_enum=OpenIntEnum,
            new_instance=new_instance,
            unknown_keys=unknown_keys,
            wire_key=_WIRE,
            required_key=_REQUIRED,
            missing_required=missing_required,
            placeholders=_PLACEHOLDER_CODE,
        )
    build(cls, _CODEC_BASE)


_CODEC_BASE: Any = None  # what _codec.build needs of this module, made on first use
_LATE_LOCK: Final = _thread_lock()


# What ``from_wire``/``to_wire`` of a class run until its codec is built: build it (which
# swaps the built code into these very function objects), then call the built code. Each
# class has its own two functions, whose globals name the class (``_owner``) and them.
_PLACEHOLDER_SOURCE = """
def from_wire(cls, data):
    _build(_owner)
    return _from_wire(cls, data)

def to_wire(self):
    _build(_owner)
    return _to_wire(self)
"""
_PLACEHOLDERS: Final[dict[str, Any]] = {}
exec(compile(_PLACEHOLDER_SOURCE, "<engineapi placeholder>", "exec"), _PLACEHOLDERS)
_PLACEHOLDER_CODE: Final[dict[str, types.CodeType]] = {
    name: _PLACEHOLDERS[name].__code__ for name in ("from_wire", "to_wire")
}


class WireModel:
    """Base class of every generated model: the API a caller can rely on.

    Subclasses are slotted attrs classes; their ``from_wire``/``to_wire`` are built from
    their field declarations on first use (:mod:`engineapi.models._codec`).
    """

    # The reply a decoded object keeps while an attribute is left to decode on first read.
    __slots__ = ("_wire_raw",)

    __attrs_attrs__: ClassVar[Any]  # set by attrs on every subclass
    _declared_in: ClassVar[dict[str, Any]]  # its module's namespace, set per subclass
    #: ``{attribute: (wire key, decoder)}`` of the attributes ``from_wire`` may leave unset
    #: (nested models whose decoding cannot raise); set when the class's codec is built.
    _wire_late: ClassVar[Mapping[str, tuple[str, Any]]] = {}

    # Both are declared per class, as attrs fields.
    _extra: dict[str, Any] | None
    _wire_nulls: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give the class its own ``from_wire``/``to_wire`` placeholders (unless it defines
        them), so that each class, a subclass too, gets a codec of its own keys."""
        super().__init_subclass__(**kwargs)
        namespace: dict[str, Any] = {
            "__builtins__": builtins,
            "_build": _build_codec,
            "_owner": cls,
        }
        for name, code in _PLACEHOLDER_CODE.items():
            current = cls.__dict__.get(name)
            current = getattr(current, "__func__", current)
            if current is not None and getattr(current, "__code__", None) is not code:
                continue  # its own (a placeholder copied by attrs' slotted class is replaced)
            function = types.FunctionType(code, namespace, name)
            function.__qualname__ = f"{cls.__qualname__}.{name}"
            function.__module__ = cls.__module__
            function.__doc__ = getattr(WireModel, name).__doc__
            namespace[f"_{name}"] = function
            setattr(cls, name, classmethod(function) if name == "from_wire" else function)
        # Where its annotations are evaluated when the codec is built: kept now, because the
        # module may be gone from sys.modules by then (pytester, reloaders) while the class lives.
        module = sys.modules.get(cls.__module__)
        if module is not None:
            cls._declared_in = vars(module)

    if not TYPE_CHECKING:  # a __getattr__ would hide misspelt attributes from type checkers

        def __getattr__(self, name: str) -> Any:
            # Reached only when a slot is unset: an attribute from_wire left in the reply.
            late = type(self)._wire_late.get(name)
            if late is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            try:
                raw = object.__getattribute__(self, "_wire_raw")
            except AttributeError:
                raise AttributeError(name) from None  # made by __init__: deleted, not deferred
            wire, decode = late
            value = decode(raw[wire])
            with _LATE_LOCK:  # two threads reading it first: both get the one stored value
                try:
                    return object.__getattribute__(self, name)
                except AttributeError:
                    object.__setattr__(self, name, value)
                for other in type(self)._wire_late:
                    try:
                        object.__getattribute__(self, other)
                    except AttributeError:
                        return value  # another one still waits: keep the reply
                object.__delattr__(self, "_wire_raw")  # all decoded: let the reply go
                return value

    @property
    def extra(self) -> dict[str, Any]:
        """Keys the class does not know, as received; written back by ``to_wire``."""
        extra = self._extra
        if extra is None:
            extra = {}
            object.__setattr__(self, "_extra", extra)  # mypy: not in WireModel's own slots
        return extra

    @extra.setter
    def extra(self, value: dict[str, Any]) -> None:
        object.__setattr__(self, "_extra", value)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        """Decode a JSON object sent by the daemon (never raises on unexpected value types)."""
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:
        """The JSON object for this model: set attributes under their wire names, then extra."""
        raise NotImplementedError

    def __repr__(self) -> str:
        # Models have dozens of optional fields; show only the ones that hold something.
        # Credentials never show (they end up in logs and tracebacks).
        secret = _SECRET_FIELDS.get(type(self).__name__, frozenset())
        shown = []
        for a in attrs.fields(type(self)):
            if not a.repr:
                continue
            value = getattr(self, a.name)
            if value is not None:
                shown.append(f"{a.name}={'***' if a.name in secret else repr(value)}")
        if self._extra:
            extra = {
                key: "***" if key.lower() in _SECRET_KEYS else value
                for key, value in self._extra.items()
            }
            shown.append(f"extra={extra!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


#: Attributes whose values `repr` hides, by class: registry credentials and secret payloads.
_SECRET_FIELDS: dict[str, frozenset[str]] = {
    "AuthConfig": frozenset({"password"}),
    "AuthResponse": frozenset({"identity_token"}),
    "SecretSpec": frozenset({"data"}),
}
#: Unknown JSON keys hidden the same way, whatever the class.
_SECRET_KEYS = frozenset({"password", "auth", "identitytoken", "registrytoken", "data"})

_WIRE_KEYS_CACHE: dict[type, frozenset[str]] = {}


def wire_keys(cls: type[WireModel]) -> frozenset[str]:
    """The JSON keys a model class knows."""
    try:
        return _WIRE_KEYS_CACHE[cls]
    except KeyError:
        keys = _WIRE_KEYS_CACHE[cls] = frozenset(info.wire for info in field_info(cls).values())
        return keys


def unknown_keys(cls: type[WireModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """The items of *data* whose keys *cls* does not know: its ``extra``."""
    known = wire_keys(cls)
    return {key: value for key, value in data.items() if key not in known}


# -- open enums -----------------------------------------------------------------------------


class _Constant:
    """A placeholder for an enum constant, replaced by an instance when the class is made."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def member(value: object) -> Any:
    """Declare an enum constant in a class body: ``RUNNING: ClassVar[State] = member("running")``."""
    return _Constant(value)


class _ByValue(dict[Any, Any]):
    """``value → constant``; a value the spec does not list gives a fresh, unstored instance."""

    __slots__ = ("enum",)

    def __init__(self, enum: type) -> None:
        super().__init__()
        self.enum = enum

    def __missing__(self, value: Any) -> Any:
        return self.enum(value)


def _collect_constants(cls: type) -> tuple[dict[str, Any], _ByValue]:
    by_name: dict[str, Any] = {}
    by_value = _ByValue(cls)
    for name, value in list(vars(cls).items()):
        if isinstance(value, _Constant):
            constant = cls(value.value)
            setattr(cls, name, constant)
            by_name[name] = constant
            by_value[value.value] = constant
    return by_name, by_value


def _restore_constant(cls: Any, value: Any) -> Any:
    """Unpickle an enum value as its class constant when the spec lists it."""
    return cls.decode(value)


class _Open:
    """What `OpenEnum` and `OpenIntEnum` share: the constants a subclass lists, gathered when
    it is made, and how an instance shows and pickles. `_kind` is the value type (str, int)."""

    __slots__ = ()

    _kind: ClassVar[type]
    _constants: ClassVar[Mapping[str, Any]] = {}
    _by_value: ClassVar[_ByValue]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._constants, cls._by_value = _collect_constants(cls)

    @classmethod
    def constants(cls) -> Mapping[str, Self]:
        """``{constant name: value}`` for the values the spec lists, in spec order."""
        return dict(cls._constants)

    @property
    def is_known(self) -> bool:
        """Whether the spec lists this value."""
        return type(self)._kind(self) in type(self)._by_value

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore_constant, (type(self), type(self)._kind(self))

    def __repr__(self) -> str:
        cls = type(self)
        for name, constant in cls._constants.items():
            if constant == self:
                return f"{cls.__name__}.{name}"
        return f"{cls.__name__}({cls._kind(self)!r})"


class OpenEnum(_Open, str):
    """A string enum that also accepts values the spec does not list.

    Known values are class constants (``ContainerSummaryState.RUNNING``); decoding a listed
    value returns that very constant, any other string becomes a new instance. Instances are
    ``str`` s, so ``state == "running"`` and ``{"running": …}[state]`` work.
    """

    __slots__ = ()
    _kind = str

    @classmethod
    def decode(cls, value: Any) -> Any:
        """The constant for a listed value, a new instance for another string, else *value*."""
        return cls._by_value[value] if type(value) is str else value


class OpenIntEnum(_Open, int):
    """An integer enum that also accepts values the spec does not list (see :class:`OpenEnum`)."""

    __slots__ = ()
    _kind = int

    @classmethod
    def decode(cls, value: Any) -> Any:
        """The constant for a listed value, a new instance for another int, else *value*."""
        return cls._by_value[value] if type(value) is int else value
