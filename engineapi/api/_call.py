"""A `Call` is one Engine API request plus how to read its answer — built without any I/O.

The modules of `engineapi.api` turn Python arguments into calls; the sync and async clients
execute them. Response kinds:

- `Call`: the whole body is read and decoded into a value (a model, a list, ``None``, …);
- `StreamCall`: the body is a stream of JSON values, each decoded into an item as it arrives;
- `RawCall`: the body is handed over as bytes, piece by piece (export, logs, archives).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import AsyncIterable, Callable, Generator, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from urllib.parse import quote

from engineapi._timeouts import Timeouts
from engineapi.api._routes import ROUTES
from engineapi.errors import (
    EngineAPIError,
    InvalidArgument,
    MissingFieldError,
    RemoteProtocolError,
)

if TYPE_CHECKING:
    from engineapi.api._cliconfig import CliConfigNeeded
    from engineapi.archive.local import LocalContent
    from engineapi.config.auth import CredentialsNeeded
    from engineapi.models._base import WireModel


class LocalSource(Protocol):
    """A description of local files (a path), opened by the client when it sends the call."""

    def open(self) -> LocalContent: ...


__all__ = [
    "Call",
    "Encoded",
    "ExtractCall",
    "Filters",
    "Flow",
    "HijackCall",
    "OutputCall",
    "Pause",
    "Platform",
    "ProgressCall",
    "RawCall",
    "Reply",
    "StreamCall",
    "Timestamp",
    "WebSocketCall",
    "decode_list",
    "QueryValue",
    "encode_filters",
    "encode_platform",
    "encode_timestamp",
    "operation_tag",
    "path_param",
    "pull_reference",
    "to_body",
    "with_extra_query",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Filters as the CLI takes them: ``{"status": ["running"], "label": ["a=b"]}``; a single
#: string stands for a one-element list, a mapping ``{value: bool}`` is passed through.
Filters = Mapping[str, str | Sequence[str] | Mapping[str, bool]]

#: A point in time: a datetime, Unix seconds, a duration back from now, or the daemon's own
#: string forms (RFC 3339, Unix seconds with fraction).
Timestamp = datetime | timedelta | int | float | str

Body = bytes | Iterable[bytes] | AsyncIterable[bytes] | None


class Reply:
    """What a `Call` decodes: status, headers and the whole body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        """The body as JSON; an empty or malformed body is the daemon's protocol error."""
        try:
            return json.loads(self.body)
        except ValueError:
            shown = repr(self.body[:200]) if self.body else "an empty body"
            raise RemoteProtocolError(
                f"expected JSON from the daemon (status {self.status}), got {shown}"
            ) from None
        except RecursionError:
            raise RemoteProtocolError(
                f"the daemon's JSON (status {self.status}) is nested too deeply to read"
            ) from None


#: What a decoder may raise on a reply of another shape than the spec says (a list where an
#: object is due, a string for a number): turned into `RemoteProtocolError` by `decoded`.
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError)


def decoded(call: Call[T], reply: Reply, *, host: str = "", strict: bool = True) -> T:
    """`call`'s decoder applied to `reply`; whatever the daemon sent, a failure is typed.

    A required key the reply lacks raises `MissingFieldError` naming the operation, the
    daemon (its ``Server`` header) and `host`; with `strict` false it decodes to None.
    """
    if not strict:
        from engineapi.models._base import lenient_decoding

        with lenient_decoding():
            return _typed_shape(call, "answer", call.decode, reply)
    try:  # `_typed_shape`, inlined: every call's reply passes here
        return call.decode(reply)
    except MissingFieldError as error:
        headers = reply.headers  # a backend's own mapping may be case-sensitive
        server = headers.get("server") or headers.get("Server") or ""
        error.add_context(
            operation=f"{call.operation_id} ({call.method} {call.path})", server=server, host=host
        )
        raise
    except EngineAPIError:
        raise
    except _SHAPE_ERRORS as exc:
        raise _shape_error(call, "answer", exc) from exc


def decoded_item(call: StreamCall[T], value: Any) -> T:
    """One item of a JSON stream decoded by `call`; a failure is typed as for `decoded`."""
    return _typed_shape(call, "stream item", call.decode_item, value)


def _typed_shape(call: Call[Any], what: str, decode: Callable[[Any], T], value: Any) -> T:
    try:
        return decode(value)
    except MissingFieldError as error:
        error.add_context(operation=f"{call.operation_id} ({call.method} {call.path})")
        raise
    except EngineAPIError:
        raise
    except _SHAPE_ERRORS as exc:
        raise _shape_error(call, what, exc) from exc


def _shape_error(call: Call[Any], what: str, exc: BaseException) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"{call.operation_id} ({call.method} {call.path}): the daemon's {what} is not "
        f"the shape the API describes ({type(exc).__name__}: {str(exc)[:200]})"
    )


class Call(Generic[T]):
    """One request and the decoder for its whole response.

    A call is a value: its query and headers are tuples, and the client adds what it decides
    at send time (optional parameters the API version has, Upgrade headers, credentials) to the
    request it builds, never to the call. Sending one call twice sends the same request.

    ``Call("ContainerInspect", id, decode=…)`` takes method and path from the operations
    table (`engineapi.api._routes`), the path's placeholders filled in order with
    `path_args`; a request no spec names gives ``method=`` and ``path=`` instead.
    """

    __slots__ = (
        "body",
        "cli_config",
        "content_length",
        "credentials",
        "deadline_at",
        "decode",
        "expect",
        "headers",
        "local",
        "method",
        "operation_id",
        "optional_query",
        "params",
        "path",
        "podman_query",
        "query",
        "response_timeout",
        "timeouts",
        "versioned",
    )

    def __init__(
        self,
        operation_id: str,
        /,
        *path_args: object,
        decode: Callable[[Reply], T],
        method: str | None = None,
        path: str | None = None,
        query: Mapping[str, object] | None = None,
        headers: Sequence[tuple[str, str]] = (),
        body: Body = None,
        json_body: object = None,
        content_length: int | None = None,
        expect: frozenset[int] = frozenset(),
        versioned: bool = True,
        response_timeout: float | bool | None = True,
        optional_query: Mapping[str, object] | None = None,
        credentials: CredentialsNeeded | None = None,
        local: LocalSource | None = None,
        podman_query: Mapping[str, object] | None = None,
        cli_config: CliConfigNeeded | None = None,
    ) -> None:
        self.operation_id = operation_id
        if method is None or path is None:
            method, path = _route(operation_id, path_args)
        elif path_args:
            raise TypeError("give the path's values or method= and path=, not both")
        self.method = method
        self.path = path
        self.decode = decode
        if query or optional_query:
            checks = _query_checks(operation_id)
            if checks:
                if query:
                    _check_query(operation_id, checks, query)
                if optional_query:
                    _check_query(operation_id, checks, optional_query)
        self.query, self.params = _encode_query(query) if query else _NO_QUERY
        #: Parameters sent only when the API version in use has them (the client decides).
        self.optional_query = _encode_query(optional_query)[0] if optional_query else ()
        #: Parameters Podman's compat API reads in another form than Docker (a JSON array
        #: where Docker repeats the key): sent instead of the pairs of `query` with the same
        #: names when the daemon is Podman (the client decides, from its ``/_ping``).
        self.podman_query = _encode_query(podman_query)[0] if podman_query else ()
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            headers = (*headers, ("Content-Type", "application/json"))
        self.headers = tuple(headers)
        self.body = body
        self.content_length = content_length
        #: Statuses besides 2xx that are answers, not errors (e.g. 304 "already started").
        self.expect = expect
        #: False for the few unversioned endpoints (/_ping during negotiation).
        self.versioned = versioned
        #: ``True``: the client's response timeout; a number or ``None`` overrides it.
        self.response_timeout = response_timeout
        #: Timeouts for this call alone (``timeout=`` of a method), over the client's.
        self.timeouts: Timeouts | None = None
        #: When a stream's ``deadline=`` passes (`time.monotonic()`): the client waits no
        #: longer than that to connect and for the response head.
        self.deadline_at: float | None = None
        #: Registry credentials the client looks up and adds as a header when it sends the call.
        self.credentials = credentials
        #: Files the client reads when it sends the call (the body, and query parameters only
        #: they can tell): see `engineapi.archive.local`.
        self.local = local
        #: Settings of the docker CLI's config.json the client adds when it sends the call
        #: (proxy variables, detach keys): see `engineapi.api._cliconfig`.
        self.cli_config = cli_config

    def target(
        self,
        api_version: str | None,
        extra_query: Sequence[tuple[str, str]] = (),
        *,
        podman: bool = False,
    ) -> str:
        """The request target: version prefix, path and query string (`query`, then
        `extra_query`: the optional parameters the API version in use has). With `podman`,
        the pairs of `podman_query` replace those of `query` with the same names."""
        prefix = f"/v{api_version}" if self.versioned and api_version else ""
        pairs = self.query
        if podman and self.podman_query:
            replaced = {name for name, _ in self.podman_query}
            pairs = (*(p for p in pairs if p[0] not in replaced), *self.podman_query)
        if extra_query:
            pairs = (*pairs, *extra_query)
        if pairs:
            query = "&".join(f"{name}={quote(value, safe='')}" for name, value in pairs)
            return f"{prefix}{self.path}?{query}"
        return f"{prefix}{self.path}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.operation_id}: {self.method} {self.target(None)}>"


class StreamCall(Call[T]):
    """A request whose body is a stream of JSON values; `decode_item` turns each into `T`."""

    __slots__ = ("decode_item",)

    def __init__(
        self,
        operation_id: str,
        /,
        *path_args: object,
        decode_item: Callable[[Any], T],
        **kwargs: Any,
    ) -> None:
        super().__init__(operation_id, *path_args, decode=_no_whole_body, **kwargs)
        self.decode_item = decode_item


class ProgressCall(StreamCall[T]):
    """A JSON-message progress stream (pull, push, build, load, import): items as they come,
    and a ``wait()`` that raises the error a message reports."""

    __slots__ = ()


class WebSocketCall(Call[bytes]):
    """A request upgraded to a WebSocket (``/containers/{id}/attach/ws``)."""

    __slots__ = ()

    def __init__(self, operation_id: str, /, *path_args: object, **kwargs: Any) -> None:
        super().__init__(operation_id, *path_args, decode=_whole_body, **kwargs)


class ExtractCall(Call[list[str]]):
    """A tar body extracted safely into the local directory `dest` as it arrives."""

    __slots__ = ("dest",)

    def __init__(self, operation_id: str, /, *path_args: object, dest: str, **kwargs: Any) -> None:
        super().__init__(operation_id, *path_args, decode=_no_whole_body, **kwargs)
        self.dest = dest


class RawCall(Call[bytes]):
    """A request whose body is handed over as raw bytes, piece by piece."""

    __slots__ = ()

    def __init__(self, operation_id: str, /, *path_args: object, **kwargs: Any) -> None:
        super().__init__(operation_id, *path_args, decode=_whole_body, **kwargs)


class _FromWire(Protocol[T_co]):
    @classmethod
    def from_wire(cls, data: Any) -> T_co: ...


def decode_list(model: type[_FromWire[T]]) -> Callable[[Reply], list[T]]:
    """A decoder for a JSON array of `model` (``null`` — some daemons' empty list — gives [])."""
    from_wire = model.from_wire

    def decode(reply: Reply) -> list[T]:
        # No pausing of the cyclic GC here, although it would save time on long lists: it is
        # process-wide, and a library must not switch it off under its host's other threads.
        items = reply.json() or ()
        if not isinstance(items, list | tuple):
            raise RemoteProtocolError(
                f"expected a JSON array of {model.__name__} from the daemon, got "
                f"{type(items).__name__} {reply.body[:200]!r}"
            )
        return [from_wire(item) for item in items]

    return decode


class OutputCall(Call[bytes]):
    """Container output (logs): multiplexed frames, or raw bytes when the container has a TTY.

    Which of the two is decided from the response's Content-Type on API ≥ 1.42 and from the
    TTY flag on older engines: `tty` when the caller knows it, else `tty_probe` is executed
    first (an inspect of the container or exec).
    """

    __slots__ = ("tty", "tty_probe")

    def __init__(
        self,
        operation_id: str,
        /,
        *path_args: object,
        tty: bool | None = None,
        tty_probe: Call[bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(operation_id, *path_args, decode=_whole_body, **kwargs)
        self.tty = tty
        self.tty_probe = tty_probe


class HijackCall(OutputCall):
    """A request that takes the connection over (attach, exec start): a duplex stream.

    `tty_in_body`: the JSON body carries the TTY flag too (exec start: the daemon frames the
    output by the flag it is sent, not by the exec's own). When `tty` is None the client then
    always runs `tty_probe` first and sends `with_tty` of its answer.
    """

    __slots__ = ("tty_in_body",)

    def __init__(
        self, operation_id: str, /, *path_args: object, tty_in_body: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(operation_id, *path_args, **kwargs)
        self.tty_in_body = tty_in_body

    def with_tty(self, tty: bool) -> HijackCall:
        """A copy of this call for a known TTY flag (in the body too, with `tty_in_body`)."""
        copied = copy.copy(self)
        copied.tty = tty
        if self.tty_in_body and isinstance(self.body, bytes):
            body = json.loads(self.body)
            body["Tty"] = tty
            copied.body = json.dumps(body, separators=(",", ":")).encode()
        return copied


class Pause:
    """A step of a `Flow`: wait this long before the next call (the drivers sleep)."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


#: A sans-IO operation of several steps (e.g. exec.run): a generator that yields calls and is
#: sent their results, returning `T`. A `HijackCall` or `OutputCall` step is sent the whole
#: output as (stdout, stderr), a `ProgressCall` step its messages, a `Pause` step None; a
#: step the daemon refuses throws its `DaemonError` into the generator. The clients drive it
#: with their own I/O.
Flow = Generator["Call[Any] | Pause", Any, T]

#: A `Flow` that is the method of one operation (``services.update``: inspect, merge,
#: update): its client method also takes ``extra_query=``, sent with that operation's
#: requests only (`flow_with_extra_query`).
OperationFlow = Generator["Call[Any] | Pause", Any, T]


def flow_with_extra_query(
    flow: Flow[T], operation_id: str, extra: Mapping[str, QueryValue] | None
) -> Flow[T]:
    """`flow`, its `operation_id` steps sent with the query parameters `extra` (see
    `with_extra_query`); the other steps (an inspect before) unchanged."""
    if not extra:
        return flow
    return _steps_with_extra_query(flow, operation_id, extra)


def _steps_with_extra_query(
    flow: Flow[T], operation_id: str, extra: Mapping[str, QueryValue]
) -> Flow[T]:
    from engineapi.errors import DaemonError

    result: Any = None
    error: DaemonError | None = None
    try:
        while True:
            try:
                step = flow.send(result) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            error = None
            if isinstance(step, Call) and step.operation_id == operation_id:
                step = with_extra_query(step, extra)
            try:
                result = yield step
            except DaemonError as exc:  # what the driver throws in: the flow's to handle
                error, result = exc, None
    finally:
        flow.close()


def to_body(value: Any, model: type[WireModel] | None = None) -> Any:
    """A request body as JSON data: a model's wire form, or a plain mapping.

    With the `model` class the endpoint takes, a plain mapping is checked against it before
    anything is sent (unknown keys raise `InvalidArgument` with the closest field names,
    snake_case keys become wire names, nested models are checked, an ``Env`` mapping becomes
    ``["K=V"]``; see `engineapi.api._body`); a `Raw` mapping is sent as given.
    """
    if model is not None:
        from engineapi.api._body import check_body  # on first use: not on import

        return check_body(value, model)
    to_wire = getattr(value, "to_wire", None)
    if to_wire is not None:
        return to_wire()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"expected a model or a mapping for the request body, not {type(value)!r}")


def _no_whole_body(reply: Reply) -> Any:
    raise TypeError("a StreamCall is read as a stream")


def _whole_body(reply: Reply) -> bytes:
    return reply.body


def path_param(value: object, name: str = "id") -> str:
    """A path segment (container name, image reference, …) checked and quoted for the URL.

    A model or result with an ``id`` (a create response, an inspect result) stands for it.
    """
    if not isinstance(value, str):
        given = getattr(value, "id", None)
        if not isinstance(given, str):
            raise InvalidArgument(
                f"{name} must be a string (or an object with a string .id), "
                f"not {type(value).__name__}",
                argument=name,
            )
        value = given
    if not value:
        raise InvalidArgument(f"{name} must not be empty", argument=name)
    return quote(value, safe="")


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _route(operation_id: str, path_args: Sequence[object]) -> tuple[str, str]:
    """Method and filled-in path of a spec operation."""
    route = ROUTES.get(operation_id)
    if route is None:
        raise LookupError(
            f"{operation_id!r} is not an operation of the Engine API specs; give method= and path="
        )
    method, template = route
    if not path_args and "{" not in template:
        return route  # no placeholder (/_ping, /containers/json): nothing to fill in
    names = _PLACEHOLDER.findall(template)
    if len(names) != len(path_args):
        raise TypeError(
            f"{operation_id} ({template}) takes {len(names)} path value(s), given {len(path_args)}"
        )
    values = iter(path_args)
    return method, _PLACEHOLDER.sub(lambda m: path_param(next(values), m.group(1)), template)


def operation_tag(operation_id: str) -> str | None:
    """The spec's tag of an operation (``Container``, ``Image``, …), for typing its errors."""
    from engineapi.api._operations import OPERATIONS

    operation = OPERATIONS.get(operation_id)
    return operation.tag if operation is not None else None


def pull_reference(call: Call[Any]) -> str | None:
    """What `call` pulls, if it is a pull (``POST /images/create?fromImage=…``): its failures
    are `ImagePullError`."""
    if call.operation_id != "ImageCreate":
        return None
    values = dict(call.query)
    image = values.get("fromImage")
    if image is None:
        return None
    tag = values.get("tag")
    if not tag:
        return image
    return (
        f"{image}@{tag}"
        if ":" in tag and tag.split(":", 1)[0].startswith("sha")
        else f"{image}:{tag}"
    )


class Encoded(str):
    """A query value a builder has already encoded for the wire (filters as JSON, a
    timestamp, a platform): not checked again against the parameter's spec type."""

    __slots__ = ()


#: Keywords named otherwise than the spec's parameter: (operation, wire name) → keyword.
_KEYWORDS = {
    ("ContainerResize", "h"): "height",
    ("ContainerResize", "w"): "width",
    ("ExecResize", "h"): "height",
    ("ExecResize", "w"): "width",
    ("ContainerStop", "t"): "timeout",
    ("ContainerRestart", "t"): "timeout",
    ("ContainerDelete", "v"): "volumes",
    ("PutContainerArchive", "copyUIDGID"): "copy_uid_gid",
    ("ImageBuild", "t"): "tag",
    ("ImageBuild", "extrahosts"): "extra_hosts",
    ("ImageBuild", "q"): "quiet",
    ("ImageBuild", "nocache"): "no_cache",
    ("ImageBuild", "cachefrom"): "cache_from",
    ("ImageBuild", "forcerm"): "force_rm",
    ("ImageBuild", "memswap"): "memory_swap",
    ("ImageBuild", "cpushares"): "cpu_shares",
    ("ImageBuild", "cpusetcpus"): "cpuset_cpus",
    ("ImageBuild", "cpuperiod"): "cpu_period",
    ("ImageBuild", "cpuquota"): "cpu_quota",
    ("ImageBuild", "buildargs"): "build_args",
    ("ImageBuild", "shmsize"): "shm_size",
    ("ImageBuild", "networkmode"): "network_mode",
}

#: A check of one query value: None if it fits the parameter, else what was expected.
_Check = Callable[[object], "str | None"]

#: Per operation, once: its query parameters' checks by wire name, with the keyword to name.
_QUERY_CHECKS: dict[str, dict[str, tuple[str, _Check]]] = {}


def _check_boolean(value: object) -> str | None:
    if value is True or value is False or (type(value) is int and value in (0, 1)):
        return None
    return "a bool"


def _check_integer(value: object) -> str | None:
    if type(value) is int or isinstance(value, Encoded):
        return None
    return "an int (a bool is not one)" if isinstance(value, bool) else "an int"


def _enum_check(enum: tuple[object, ...]) -> _Check:
    allowed = frozenset(enum)
    shown = ", ".join(repr(v) for v in enum)

    def check(value: object) -> str | None:
        items = value if isinstance(value, list | tuple) else (value,)
        for item in items:
            if isinstance(item, str) and item not in allowed:
                return f"one of {shown}"
        return None

    return check


def _check_array(value: object) -> str | None:
    if isinstance(value, str):
        return None
    if isinstance(value, list | tuple) and all(
        isinstance(item, str) or (type(item) is int) for item in value
    ):
        return None
    return "a list of strings"


def _query_checks(operation_id: str) -> dict[str, tuple[str, _Check]]:
    """The checks of `operation_id`'s query parameters, made on its first call."""
    checks = _QUERY_CHECKS.get(operation_id)
    if checks is None:
        from engineapi.api._operations import OPERATIONS

        checks = {}
        operation = OPERATIONS.get(operation_id)
        for param in operation.params_in("query") if operation is not None else ():
            keyword = _KEYWORDS.get((operation_id, param.name), param.python_name)
            check: _Check | None = None
            if param.name == "filters":
                check = _check_filters_value
            elif param.enum:
                check = _enum_check(param.enum)
                if param.type == "array":
                    check = _both(_check_array, check)
            elif param.type == "boolean":
                check = _check_boolean
            elif param.type == "integer":
                check = _check_integer
            elif param.type == "array":
                check = _check_array
            if check is not None:
                checks[param.name] = (keyword, check)
        _QUERY_CHECKS[operation_id] = checks
    return checks


def _both(first: _Check, second: _Check) -> _Check:
    def check(value: object) -> str | None:
        return first(value) or second(value)

    return check


def _check_filters_value(value: object) -> str | None:
    # Builders pass filters through `encode_filters` (which checks them): what arrives here
    # is its JSON, or a string the caller encoded.
    return None if isinstance(value, str) else "a mapping (see Filters)"


def _check_query(
    operation_id: str, checks: Mapping[str, tuple[str, _Check]], query: Mapping[str, object]
) -> None:
    for name, value in query.items():
        if value is None:
            continue
        found = checks.get(name)
        if found is None:
            continue
        keyword, check = found
        expected = check(value)
        if expected is not None:
            where = _method_name(operation_id)
            raise InvalidArgument(
                f"{where}: {keyword} must be {expected}, not {type(value).__name__} {value!r}"[
                    :400
                ],
                argument=keyword,
            )


def _method_name(operation_id: str) -> str:
    from engineapi.api._operations import OPERATIONS

    operation = OPERATIONS.get(operation_id)
    if operation is None:
        return operation_id
    return f"{operation.namespace}.{operation.method_name} ({operation_id})"


_NO_QUERY: tuple[tuple[tuple[str, str], ...], tuple[str, ...]] = ((), ())


def _encode_query(
    query: Mapping[str, object] | None,
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Query pairs as strings, and the names of the parameters actually given (for gating)."""
    if not query:
        return (), ()
    pairs: list[tuple[str, str]] = []
    for name, value in query.items():
        if value is None:
            continue
        if value is True:
            text = "1"
        elif value is False:
            text = "0"
        elif isinstance(value, str):
            text = value
        elif isinstance(value, int | float):
            text = str(value)
        elif isinstance(value, list | tuple):
            for item in value:
                pairs.append((name, str(item)))
            continue
        else:
            text = json.dumps(value, separators=(",", ":"))
        pairs.append((name, text))
    return tuple(pairs), tuple(dict.fromkeys(name for name, _ in pairs))


#: A value of a query parameter given by name (`with_extra_query`): a string, an integer, a
#: bool (sent as ``1``/``0``), or a list or tuple of those (the name repeated per item).
QueryValue = str | int | bool | Sequence[str | int | bool]

_CallT = TypeVar("_CallT", bound="Call[Any]")


def with_extra_query(call: _CallT, extra: Mapping[str, QueryValue] | None) -> _CallT:
    """A copy of `call` that also sends the query parameters `extra` — for a parameter the
    bundled API specs do not describe (a newer daemon's, an engine's own). `call` is unchanged.

    Names must be non-empty strings that are not the operation's own parameters (use the
    keyword for those); values strings, integers, bools or lists of them. They are sent as given, after
    the call's own, and never checked against the API version (the specs do not know them).
    """
    if not extra:
        return call
    if not isinstance(extra, Mapping):
        raise TypeError(f"extra_query must be a mapping of names to values, not {type(extra)!r}")
    from engineapi.api._operations import OPERATIONS

    operation = OPERATIONS.get(call.operation_id)
    taken = {name for name, _ in (*call.query, *call.optional_query, *call.podman_query)}
    if operation is not None:
        taken.update(p.name for p in operation.params_in("query"))
    pairs: list[tuple[str, str]] = []
    for name, value in extra.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"extra_query names must be non-empty strings, not {name!r}")
        if name in taken:
            raise ValueError(
                f"extra_query: {call.operation_id} already sends {name!r}; use its keyword"
            )
        items = value if isinstance(value, list | tuple) else (value,)
        for item in items:
            if isinstance(item, bool):
                pairs.append((name, "1" if item else "0"))
            elif isinstance(item, str | int):
                pairs.append((name, str(item)))
            else:
                raise TypeError(
                    f"extra_query[{name!r}]: expected str, int, bool or a list of them, "
                    f"not {type(item).__name__}"
                )
    copied = copy.copy(call)
    copied.query = (*call.query, *pairs)
    return copied


def with_timeout(call: _CallT, timeout: Timeouts | float | None) -> _CallT:
    """A copy of `call` sent with its own timeouts (``timeout=`` of every method): a
    `Timeouts`, or a number of seconds for connect and response head (as `Timeouts.coerce`).
    They replace the client's, and any scoped override, for this call only."""
    if timeout is None:
        return call
    copied = copy.copy(call)
    copied.timeouts = Timeouts.coerce(timeout)
    return copied


#: A platform as ``os[/arch[/variant]]`` (``linux/arm64/v8``), or an OCI platform mapping
#: (``{"os": "linux", "architecture": "arm64", "variant": "v8"}``).
Platform = str | Mapping[str, Any]


def encode_platform(platform: Platform) -> str:
    """A platform as the JSON-encoded OCI platform the image endpoints read (``platform=`` of
    inspect, history, push, save and load, ``platforms=`` of delete): ``linux/amd64`` becomes
    ``{"os":"linux","architecture":"amd64"}``; a mapping, or a string that already is a JSON
    object, is sent as it is."""
    if isinstance(platform, Mapping):
        return Encoded(json.dumps(dict(platform), separators=(",", ":")))
    if not isinstance(platform, str):
        raise TypeError(f"a platform is 'os[/arch[/variant]]' or a mapping, not {platform!r}")
    if platform.lstrip().startswith("{"):
        return Encoded(platform)
    parts = platform.split("/")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ValueError(f"a platform is 'os[/arch[/variant]]', not {platform!r}")
    encoded = dict(zip(("os", "architecture", "variant"), parts, strict=False))
    return Encoded(json.dumps(encoded, separators=(",", ":")))


def encode_filters(filters: Filters | None, name: str = "filters") -> str | None:
    """Filters as the daemon's JSON (``{"name": {"value": true}}`` is accepted by all).

    A mapping of names to a string, a list of strings or a mapping of strings to bools;
    anything else raises `InvalidArgument` (naming `name`) before anything is sent."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise InvalidArgument(
            f"{name} must be a mapping such as {{'status': ['running']}}, "
            f"not {type(filters).__name__} {filters!r}"[:400],
            argument=name,
        )
    if not filters:
        return None
    encoded: dict[str, object] = {}
    for key, value in filters.items():
        if not isinstance(key, str):
            raise InvalidArgument(
                f"{name}: filter names must be strings, not {type(key).__name__} {key!r}",
                argument=name,
            )
        if isinstance(value, str):
            encoded[key] = [value]
        elif isinstance(value, Mapping):
            if not all(isinstance(k, str) and isinstance(v, bool) for k, v in value.items()):
                raise InvalidArgument(
                    f"{name}[{key!r}]: a mapping of filter values must map strings to bools, "
                    f"not {value!r}"[:400],
                    argument=name,
                )
            encoded[key] = dict(value)
        elif isinstance(value, list | tuple | set | frozenset) and all(
            isinstance(item, str) for item in value
        ):
            encoded[key] = list(value)
        else:
            raise InvalidArgument(
                f"{name}[{key!r}] must be a string, a list of strings or a mapping of "
                f"strings to bools, not {type(value).__name__} {value!r}"[:400],
                argument=name,
            )
    return Encoded(json.dumps(encoded, separators=(",", ":")))


def encode_timestamp(value: Timestamp | None) -> str | None:
    """A `Timestamp` as the daemon's ``since``/``until`` query value (Unix seconds)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = time.time() - value.total_seconds()
        return Encoded(f"{seconds:.9f}")
    if isinstance(value, datetime):
        return Encoded(f"{value.timestamp():.9f}")
    if isinstance(value, bool):
        raise InvalidArgument("a timestamp cannot be a bool", argument="since/until")
    if isinstance(value, int):
        return Encoded(value)
    if isinstance(value, float):
        return Encoded(f"{value:.9f}")
    if isinstance(value, str):
        return Encoded(value)
    raise InvalidArgument(
        "a timestamp is a datetime, a timedelta, Unix seconds or a string, "
        f"not {type(value).__name__} {value!r}"[:400],
        argument="since/until",
    )
