"""Each model's ``from_wire``/``to_wire``, written from its field declarations on first use.

The generated modules declare fields only (wire name, type, since/until, prose). The first
call of a class's ``from_wire`` or ``to_wire`` runs :func:`build`: it reads the class's wire
fields (``attrs.fields``, base class first), evaluates their annotations in the modules that
declare them, writes the straight-line source of both methods, compiles it and swaps the
compiled code into the class's own two function objects (see ``WireModel.__init_subclass__``).
Every reference taken before (``decode = ContainerSummary.from_wire``, a bound decoder held
by another class's codec) runs the built code from then on, with no indirection left.

The code is what the generator used to write into every module, in the design
:mod:`engineapi.models._base` describes:

- ``from_wire`` has a fast path for an object with exactly the keys the class knows, all of
  them present (the usual reply): one ``itemgetter`` call reads every value, and there are no
  absent or unknown keys to account for. Otherwise each key is read with ``dict.get``; a
  ``None`` is told apart as an explicit null (``in``, its bit set in ``_wire_nulls``) or an
  absent key (counted, so ``len(data)`` tells whether an unknown key arrived, for ``extra``).
- A value is converted only when it has the JSON shape its type expects (a ``dict`` for a
  model or a map, a ``list`` for a list, a ``str``/``int`` for an enum), else kept as is.
  Lists and maps of models or enums are built by explicit loops (cheaper than a
  comprehension's function on Python 3.11 for the one to three items they usually hold).
- A field holding only models that cannot fail to decode (`_infallible`: no required key in
  them or below) is *deferred*: a value of the expected shape is not decoded but left in the
  reply, its slot unset, and ``self._wire_raw = data`` kept; the class's ``_wire_late`` maps
  the attribute to its key and a ``late_<attr>`` decoder for ``WireModel.__getattr__``.
- ``to_wire`` writes set fields by wire name in declaration order, ``null`` for the keys
  that arrived as null and are still ``None``, then ``extra``.

A subclass (``HostConfig`` of ``Resources``) gets its own codec over all its keys, base keys
first; its null bits are numbered in that order. The source of each built codec is kept in
:mod:`linecache`, so tracebacks through it show its lines.
"""

from __future__ import annotations

import _thread
import builtins
import linecache
import sys
import types
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, Final, Union, get_args, get_origin

import attrs


@attrs.frozen
class Base:
    """What codecs need of :mod:`engineapi.models._base`, handed over by it: that module
    imports this one on first use, so this one does not import it."""

    model: type
    """``WireModel``: a field of a subclass's type is decoded with its ``from_wire``."""
    str_enum: type
    """``OpenEnum``."""
    int_enum: type
    """``OpenIntEnum``."""
    new_instance: Callable[[Any], Any]
    """Makes an instance without ``__init__``."""
    unknown_keys: Callable[[Any, Mapping[str, Any]], dict[str, Any]]
    """``extra`` of an object with keys its class does not know."""
    wire_key: str
    """The attrs metadata key holding a field's wire name (a wire field has one)."""
    required_key: str
    """The attrs metadata key telling whether a field is required (typed non-Optional)."""
    missing_required: Callable[[Any, str, str], None]
    """Called with (class, attribute, "absent" or "null") for a required key a reply lacks:
    raises, unless decoding is lenient."""
    placeholders: Mapping[str, types.CodeType]
    """The code of the ``from_wire``/``to_wire`` placeholders each class starts with."""


# -- the conversions a field's type calls for -----------------------------------------------


@attrs.frozen
class _Plain:
    """Kept as decoded (``str``, ``int``, ``Any``, a union of plain JSON shapes)."""


@attrs.frozen
class _Model:
    cls: Any  # a WireModel subclass


@attrs.frozen
class _Enum:
    cls: Any  # an OpenEnum or OpenIntEnum subclass
    kind: str  # "str" or "int": the JSON type a value must have to be converted


@attrs.frozen
class _List:
    item: _Shape


@attrs.frozen
class _Map:
    value: _Shape


_Shape = _Plain | _Model | _Enum | _List | _Map


class _Absent:
    """Stands for a key the reply lacks, in the merged read of `from_wire`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT: Final = _Absent()
_PLAIN: Final = _Plain()


def _needs_conversion(shape: _Shape) -> bool:
    """Whether decoding must touch the value (it holds a model or an enum)."""
    if isinstance(shape, _List):
        return _needs_conversion(shape.item)
    if isinstance(shape, _Map):
        return _needs_conversion(shape.value)
    return isinstance(shape, _Model | _Enum)


def shape_of(annotation: Any, base: Base) -> _Shape:
    """The conversion an evaluated field annotation calls for (``None`` options dropped)."""
    origin = get_origin(annotation)
    if origin is types.UnionType or origin is Union:
        options = [shape_of(a, base) for a in get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return options[0]
        if any(_needs_conversion(option) for option in options):
            raise TypeError(f"a union holding a model or an enum: {annotation!r}")
        return _PLAIN
    if origin is list:
        return _List(shape_of(get_args(annotation)[0], base))
    if origin is dict:
        return _Map(shape_of(get_args(annotation)[1], base))
    if isinstance(annotation, type):
        if issubclass(annotation, base.model):
            return _Model(annotation)
        if issubclass(annotation, base.str_enum):
            return _Enum(annotation, "str")
        if issubclass(annotation, base.int_enum):
            return _Enum(annotation, "int")
        if annotation in (str, int, float, bool):
            return _PLAIN
    if annotation is Any:
        return _PLAIN
    raise TypeError(f"no codec for the annotation {annotation!r}")


@attrs.frozen
class _Field:
    attr: str
    wire: str
    shape: _Shape
    required: bool = False


def wire_fields(cls: Any, base: Base) -> list[_Field]:
    """*cls*'s wire fields in declaration order (base class first), their types evaluated
    in the module of the class that declares each."""
    declared_in: dict[str, dict[str, Any]] = {}
    for klass in cls.__mro__:
        own = klass.__dict__.get("__attrs_attrs__")
        if own is None:
            continue
        namespace = klass.__dict__.get("_declared_in") or vars(sys.modules[klass.__module__])
        for a in own:
            if not a.inherited:
                declared_in.setdefault(a.name, namespace)
    fields = []
    for a in attrs.fields(cls):
        if base.wire_key not in a.metadata:
            continue
        annotation = a.type
        if isinstance(annotation, str):
            annotation = eval(annotation, declared_in[a.name])  # our own declarations
        shape = _PLAIN if annotation is None else shape_of(annotation, base)
        required = bool(a.metadata.get(base.required_key))
        fields.append(_Field(a.name, a.metadata[base.wire_key], shape, required))
    return fields


def _models_in(shape: _Shape) -> list[Any]:
    if isinstance(shape, _Model):
        return [shape.cls]
    if isinstance(shape, _List):
        return _models_in(shape.item)
    if isinstance(shape, _Map):
        return _models_in(shape.value)
    return []


_INFALLIBLE: dict[type, bool] = {}


def _infallible(cls: Any, base: Base, visiting: frozenset[type] = frozenset()) -> bool:
    """Whether decoding *cls* can never raise: neither it nor a model nested in it has a
    required field (whose absence raises `MissingFieldError` unless decoding is lenient)."""
    known = _INFALLIBLE.get(cls)
    if known is not None:
        return known
    if cls in visiting:
        return True  # a cycle adds no class of its own
    fields = wire_fields(cls, base)
    result = not any(field.required for field in fields) and all(
        _infallible(nested, base, visiting | {cls})
        for field in fields
        for nested in _models_in(field.shape)
    )
    _INFALLIBLE[cls] = result
    return result


def _deferrable(field: _Field) -> bool:
    """Whether `from_wire` may leave *field* to be decoded on first read (see `build`): it
    holds models. When decoding them could raise (a required key below), the value is
    deferred only if `_Writer.complete` finds every such key there, else decoded at once."""
    return bool(_models_in(field.shape))


def _fallible(shape: _Shape, base: Base) -> bool:
    """Whether decoding a value of *shape* could raise (`MissingFieldError`)."""
    return not all(_infallible(cls, base) for cls in _models_in(shape))


# -- source -----------------------------------------------------------------------------------


class _Writer:
    """The source of one class's two methods and the names it uses (its globals)."""

    def __init__(self, base: Base, deferred: frozenset[str] = frozenset()) -> None:
        #: The attributes `from_wire` leaves unset when their value has the expected shape.
        self.deferred = deferred
        self.base = base
        #: ``_complete_<Class>`` functions to write: the fallible classes the checks call.
        self.completes: dict[type, str] = {}
        self.decoders: dict[type, str] = {}
        self.names: dict[str, Any] = {
            "new_instance": base.new_instance,
            "unknown_keys": base.unknown_keys,
            "WireModel": base.model,
            "OpenEnum": base.str_enum,
            "OpenIntEnum": base.int_enum,
            "missing_required": base.missing_required,
        }

    def _name(self, prefix: str, cls: type, value: Any) -> str:
        name = f"{prefix}{cls.__name__}"
        suffix = 0
        while self.names.get(name, value) is not value:  # two classes of one name
            suffix += 1
            name = f"{prefix}{cls.__name__}_{suffix}"
        self.names[name] = value
        return name

    def decoder(self, cls: Any) -> str:
        """The global bound to *cls*'s ``from_wire``: cheaper to call than the classmethod.
        One per class (each ``cls.from_wire`` is a new bound method: not told apart by it)."""
        name = self.decoders.get(cls)
        if name is None:
            name = self.decoders[cls] = self._name("_from_wire_", cls, cls.from_wire)
        return name

    def by_value(self, cls: Any) -> str:
        return self._name("_by_value_", cls, cls._by_value)

    # -- decoding

    def shape_test(self, shape: _Shape, var: str) -> str:
        """The cheap test that *var* has the JSON shape decoding expects."""
        if isinstance(shape, _Model | _Map):
            return f"type({var}) is dict"
        if isinstance(shape, _List):
            return f"type({var}) is list"
        if isinstance(shape, _Enum):
            return f"type({var}) is {shape.kind}"
        raise TypeError(shape)

    def decode_value(self, shape: _Shape, var: str, depth: int) -> str:
        """An expression converting *var*, already known to have the expected shape."""
        if isinstance(shape, _Model):
            return f"{self.decoder(shape.cls)}({var})"
        if isinstance(shape, _Enum):
            return f"{self.by_value(shape.cls)}[{var}]"
        item = f"x{depth or ''}"
        if isinstance(shape, _List):
            return f"[{self.decode_guarded(shape.item, item, depth + 1)} for {item} in {var}]"
        if isinstance(shape, _Map):
            key = f"k{depth or ''}"
            value = self.decode_guarded(shape.value, item, depth + 1)
            return f"{{{key}: {value} for {key}, {item} in {var}.items()}}"
        raise TypeError(shape)

    def decode_guarded(self, shape: _Shape, var: str, depth: int) -> str:
        if not _needs_conversion(shape):
            return var
        return f"{self.decode_value(shape, var, depth)} if {self.shape_test(shape, var)} else {var}"

    def decode_lines(self, shape: _Shape, var: str, local: str) -> list[str]:
        """Statements converting *var* (known to have the expected shape) in place; a list
        or map is built by a loop into *local*."""
        if isinstance(shape, _List):
            return [
                f"{local} = []",
                f"for x in {var}:",
                f"    {local}.append({self.decode_guarded(shape.item, 'x', 1)})",
                f"{var} = {local}",
            ]
        if isinstance(shape, _Map):
            return [
                f"{local} = {{}}",
                f"for k, x in {var}.items():",
                f"    {local}[k] = {self.decode_guarded(shape.value, 'x', 1)}",
                f"{var} = {local}",
            ]
        return [f"{var} = {self.decode_value(shape, var, 0)}"]

    def field_lines(
        self, field: _Field, var: str, null: list[str], absent: list[str] | None = None
    ) -> list[str]:
        """Decode one key already read into *var*: *null* are the statements for a None,
        *absent* (when given) those for the ABSENT marker of a key the reply lacks."""
        assign = f"self.{field.attr} = {var}"
        if field.attr in self.deferred:
            # A value of the expected shape stays in the reply, its slot unset: the first
            # read of the attribute decodes it (WireModel.__getattr__).
            out = [f"if {var} is None:", *_indent([*null, assign])]
            if absent is not None:
                out += [f"elif {var} is ABSENT:", *_indent([*absent, assign])]
            out += [f"elif not ({self.shape_test(field.shape, var)}):", f"    {assign}"]
            if _fallible(field.shape, self.base):
                # A required key missing below: decoded now, so that it raises here.
                out.append(f"elif not complete_{field.attr}({var}):")
                out += _indent(
                    [*self.decode_lines(field.shape, var, f"{field.attr}_items"), assign]
                )
            return out
        out = [f"if {var} is None:", *_indent(null)]
        if absent is not None:
            out += [f"elif {var} is ABSENT:", *_indent(absent)]
        if _needs_conversion(field.shape):
            out.append(f"elif {self.shape_test(field.shape, var)}:")
            out += _indent(self.decode_lines(field.shape, var, f"{field.attr}_items"))
        out.append(assign)
        return out

    def from_wire(self, fields: list[_Field]) -> list[str]:
        out = ["def from_wire(cls, data):", "    self = new_instance(cls)"]
        if not fields:
            return [
                *out,
                "    self._wire_nulls = 0",
                "    self._extra = dict(data) or None",
                "    return self",
            ]
        count = len(fields)
        if count == 1:
            read_all = f"v0 = data[{fields[0].wire!r}]"
            read_merged = f"v0 = merged[{fields[0].wire!r}]"
        else:
            self.names["_get_all"] = itemgetter(*(field.wire for field in fields))
            targets = f"({', '.join(f'v{i}' for i in range(count))})"
            read_all = f"{targets} = _get_all(data)"
            read_merged = f"{targets} = _get_all(merged)"
        # Every known key mapped to ABSENT: laid under a reply that lacks some of them.
        self.names["_all_absent"] = dict.fromkeys((field.wire for field in fields), _ABSENT)
        self.names["ABSENT"] = _ABSENT
        fast = []
        for i, field in enumerate(fields):
            null = [f"nulls |= {_bit(i)}", *_missing(field, "null")]
            fast += self.field_lines(field, f"v{i}", null)
        some = []
        for i, field in enumerate(fields):
            null = [f"nulls |= {_bit(i)}", *_missing(field, "null")]
            absent = [*_missing(field, "absent"), f"v{i} = None"]
            some += self.field_lines(field, f"v{i}", null, absent=absent)
        slow = []
        for i, field in enumerate(fields):
            null = [
                f"if {field.wire!r} in data:",
                f"    nulls |= {_bit(i)}",
                *_indent(_missing(field, "null")),
                "else:",
                "    missing += 1",
                *_indent(_missing(field, "absent")),
            ]
            slow += [f"v = get({field.wire!r})", *self.field_lines(field, "v", null)]
        keep_raw = ["self._wire_raw = data  # what deferred attributes decode from"]
        if not self.deferred:
            keep_raw = []
        body = [
            "nulls = 0  # bit i set: the i-th key arrived as an explicit null",
            f"if len(data) == {count} and type(data) is dict:",
            "    # The usual reply: every key known and present, read at once.",
            "    try:",
            f"        {read_all}",
            "    except KeyError:",
            "        pass  # an unknown key in place of a known one",
            "    else:",
            *_indent(fast, "        "),
            *_indent(keep_raw, "        "),
            "        self._wire_nulls = nulls",
            "        self._extra = None",
            "        return self",
            f"elif len(data) < {count} and type(data) is dict:",
            "    # Some keys absent (a field of newer daemons, one sent only on request), none",
            "    # unknown: every value read at once from the reply laid over all keys ABSENT.",
            "    merged = {**_all_absent, **data}",
            f"    if len(merged) == {count}:",
            f"        {read_merged}",
            *_indent(some, "        "),
            *_indent(keep_raw, "        "),
            "        self._wire_nulls = nulls",
            "        self._extra = None",
            "        return self",
            "# Per key: a None is an explicit null (remembered) or an absent key (counted).",
            "get = data.get",
            "missing = 0",
            *slow,
            *keep_raw,
            "self._wire_nulls = nulls",
            f"if len(data) + missing == {count}:  # every key is known",
            "    self._extra = None",
            "else:",
            "    self._extra = unknown_keys(cls, data)",
            "return self",
        ]
        return out + _indent(body)

    # -- encoding

    def encode_test(self, shape: _Shape, var: str) -> str:
        if isinstance(shape, _Model):
            return f"isinstance({var}, WireModel)"
        if isinstance(shape, _Enum):
            return f"isinstance({var}, {'OpenEnum' if shape.kind == 'str' else 'OpenIntEnum'})"
        if isinstance(shape, _List):
            return f"isinstance({var}, (list, tuple))"
        if isinstance(shape, _Map):
            return f"isinstance({var}, dict)"
        raise TypeError(shape)

    def encode_value(self, shape: _Shape, var: str, depth: int) -> str:
        if isinstance(shape, _Model):
            return f"{var}.to_wire()"
        if isinstance(shape, _Enum):
            return f"{shape.kind}({var})"
        item = f"x{depth or ''}"
        if isinstance(shape, _List):
            return f"[{self.encode_guarded(shape.item, item, depth + 1)} for {item} in {var}]"
        if isinstance(shape, _Map):
            key = f"k{depth or ''}"
            value = self.encode_guarded(shape.value, item, depth + 1)
            return f"{{{key}: {value} for {key}, {item} in {var}.items()}}"
        raise TypeError(shape)

    def encode_guarded(self, shape: _Shape, var: str, depth: int) -> str:
        if not _needs_conversion(shape):
            return var
        return (
            f"{self.encode_value(shape, var, depth)} if {self.encode_test(shape, var)} else {var}"
        )

    def to_wire(self, fields: list[_Field]) -> list[str]:
        body = ["out = {}"]
        if fields:
            body.append("nulls = self._wire_nulls")
        for i, field in enumerate(fields):
            wire = repr(field.wire)
            body += [f"v = self.{field.attr}", "if v is not None:"]
            if _needs_conversion(field.shape):
                body += [
                    f"    if {self.encode_test(field.shape, 'v')}:",
                    f"        v = {self.encode_value(field.shape, 'v', 0)}",
                ]
            body += [f"    out[{wire}] = v", f"elif nulls & {_bit(i)}:", f"    out[{wire}] = None"]
        body += ["extra = self._extra", "if extra:", "    out.update(extra)", "return out"]
        return ["def to_wire(self):", *_indent(body)]

    def complete_function(self, cls: Any) -> str:
        """The name of ``_complete_<Class>(data)``: whether a dict for *cls* has every required
        key (not null), below it too — then decoding it cannot raise."""
        name = self.completes.get(cls)
        if name is None:
            name = self.completes[cls] = self._name("_complete_", cls, cls)
        return name

    def check_lines(self, shape: _Shape, var: str, depth: int) -> list[str]:
        """Statements returning False when *var* (of the expected shape) lacks a required key."""
        if not _fallible(shape, self.base):
            return []
        if isinstance(shape, _Model):
            return [f"if not {self.complete_function(shape.cls)}({var}):", "    return False"]
        item = f"x{depth}"
        if isinstance(shape, _List):
            inner, source = shape.item, var
        elif isinstance(shape, _Map):
            inner, source = shape.value, f"{var}.values()"
        else:
            return []
        return [
            f"for {item} in {source}:",
            f"    if {self.shape_test(inner, item)}:",
            *_indent(self.check_lines(inner, item, depth + 1), "        "),
        ]

    def complete_source(self, cls: Any, name: str) -> list[str]:
        body = []
        for field in wire_fields(cls, self.base):
            if field.required:
                body += [f"if data.get({field.wire!r}) is None:", "    return False"]
            if _fallible(field.shape, self.base):
                body += [
                    f"v = data.get({field.wire!r})",
                    f"if {self.shape_test(field.shape, 'v')}:",
                    *_indent(self.check_lines(field.shape, "v", 1)),
                ]
        return [f"def {name}(data):", *_indent([*body, "return True"])]

    def complete(self, field: _Field) -> list[str]:
        """``complete_<attr>(value)``: whether a deferred value can be decoded without raising."""
        body = [*self.check_lines(field.shape, "v", 1), "return True"]
        return [f"def complete_{field.attr}(v):", *_indent(body)]

    def late(self, field: _Field) -> list[str]:
        """``late_<attr>(value)``: decodes a deferred attribute's value, of the expected shape."""
        body = [*self.decode_lines(field.shape, "v", "items"), "return v"]
        return [f"def late_{field.attr}(v):", *_indent(body)]


def _missing(field: _Field, how: str) -> list[str]:
    """For a required key that is absent or null: the call that raises (unless lenient)."""
    return [f"missing_required(cls, {field.attr!r}, {how!r})"] if field.required else []


def _bit(index: int) -> str:
    """Field *index*'s bit in ``_wire_nulls`` (the compiler folds the shift)."""
    return "1" if index == 0 else f"(1 << {index})"


def _indent(lines: list[str], by: str = "    ") -> list[str]:
    return [by + line for line in lines]


def codec_source(cls: Any, base: Base) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The source of *cls*'s ``from_wire``, ``to_wire`` and ``late_<attr>`` functions, the
    globals it needs, and ``{attribute: wire key}`` of the deferred attributes."""
    fields = wire_fields(cls, base)
    deferred = {field.attr: field.wire for field in fields if _deferrable(field)}
    writer = _Writer(base, frozenset(deferred))
    lines = [*writer.from_wire(fields), "", "", *writer.to_wire(fields), ""]
    for field in fields:
        if field.attr in deferred:
            lines += ["", *writer.late(field), ""]
            if _fallible(field.shape, base):
                lines += ["", *writer.complete(field), ""]
    written: set[type] = set()
    while len(written) < len(writer.completes):  # writing one may name more
        for model, name in list(writer.completes.items()):
            if model not in written:
                written.add(model)
                lines += ["", *writer.complete_source(model, name), ""]
    return "\n".join(lines), writer.names, deferred


# -- building ---------------------------------------------------------------------------------

_LOCK: Final = _thread.allocate_lock()
#: The built classes, and how long each build took (seconds): for the benchmark.
BUILT: Final[dict[type, float]] = {}


def _placeholder(cls: Any, name: str, base: Base) -> types.FunctionType | None:
    """The class's own placeholder for method *name*; None if the class defines its own."""
    found = cls.__dict__.get(name)
    function = getattr(found, "__func__", found)
    if isinstance(function, types.FunctionType) and function.__code__ is base.placeholders[name]:
        return function
    return None


def build(cls: Any, base: Base) -> None:
    """Write and compile *cls*'s codec, and swap it into the class's own function objects.

    Idempotent and thread-safe; called by the placeholders ``WireModel.__init_subclass__``
    gives each class, on the first ``from_wire`` or ``to_wire``.
    """
    from time import perf_counter

    with _LOCK:
        if cls in BUILT:
            return
        start = perf_counter()
        source, names, deferred = codec_source(cls, base)
        filename = f"<engineapi codec {cls.__module__}.{cls.__qualname__}>"
        code = compile(source, filename, "exec")
        built: dict[str, Any] = {"__builtins__": builtins, **names}
        exec(code, built)  # source written above from the class's declarations
        # Set before the methods are swapped in: no instance can defer without it.
        cls._wire_late = {attr: (wire, built[f"late_{attr}"]) for attr, wire in deferred.items()}
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        for method in ("from_wire", "to_wire"):
            function = _placeholder(cls, method, base)
            if function is None:
                continue
            # The placeholder's globals become the codec's: what it names (and the functions
            # written with it), then its code.
            function.__globals__.update(names)
            function.__globals__.update(
                (name, value)
                for name, value in built.items()
                if name.startswith(("complete_", "_complete_", "late_"))
            )
            function.__code__ = built[method].__code__
        BUILT[cls] = perf_counter() - start
