"""Events produced by :class:`~engineapi.http.ClientConnection`.

Each response is a `Response` head, then zero or more `Data`, then `EndOfMessage`. A `101`
response is followed by nothing: the connection has switched protocols and
`ClientConnection.trailing_data` holds the bytes that arrived after the head.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter
from typing import Final

__all__ = ["NEED_DATA", "Data", "EndOfMessage", "Headers", "NeedData", "Response"]


_name: Callable[[tuple[str, str]], str] = itemgetter(0)
_value: Callable[[tuple[str, str]], str] = itemgetter(1)


class Headers(Mapping[str, str]):
    """Response headers: case-insensitive names, duplicate fields joined with ", "."""

    __slots__ = ("_fields", "_lines", "_lookup")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields: list[tuple[str, str]] | None = fields
        self._lines: list[str] = []
        # Built by C-level iterators, no Python loop: done once per response.
        lookup: dict[str, str] = dict(
            zip(map(str.lower, map(_name, fields)), map(_value, fields), strict=True)
        )
        if len(lookup) != len(fields):  # a repeated field: join its values, in order
            lookup = {}
            for name, value in fields:
                key = name.lower()
                lookup[key] = f"{lookup[key]}, {value}" if key in lookup else value
        self._lookup = lookup

    @classmethod
    def _parsed(cls, lookup: dict[str, str], lines: list[str]) -> Headers:
        """Headers the parser already looked up: `lookup` maps each lower-case name (no name
        repeated) to its value, `lines` are the field lines as received (each a valid
        ``name ":" value``); `raw()` builds the fields from them only if asked."""
        self = object.__new__(cls)
        self._lookup = lookup
        self._fields = None
        self._lines = lines
        return self

    def _raw_fields(self) -> list[tuple[str, str]]:
        fields = self._fields
        if fields is None:
            lookup = self._lookup  # names are not repeated: the value is this line's own
            names = [line.partition(":")[0] for line in self._lines]
            fields = self._fields = [(name, lookup[name.lower()]) for name in names]
        return fields

    @property
    def lowercase(self) -> Mapping[str, str]:
        """``{lower-case name: value}``: for callers reading many fields by lower-case name
        with plain lookups (a ping reads six)."""
        return self._lookup

    def __getitem__(self, name: str) -> str:
        return self._lookup[name.lower()]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        value = self._lookup.get(name)  # fast path: callers here pass lower-case names
        return value if value is not None else self._lookup.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup)

    def __len__(self) -> int:
        return len(self._lookup)

    def raw(self) -> list[tuple[str, str]]:
        """The fields as received, in order, with their original spelling."""
        return list(self._raw_fields())

    def __repr__(self) -> str:
        return f"Headers({self._raw_fields()!r})"


class Response:
    """A response head: status, reason phrase and headers."""

    __slots__ = ("headers", "http_version", "reason", "status")

    def __init__(self, status: int, reason: str, headers: Headers, http_version: str) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.http_version = http_version

    def __repr__(self) -> str:
        return f"Response({self.status} {self.reason!r})"


class Data:
    """A piece of the response body."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Data({self.data[:40]!r}{'…' if len(self.data) > 40 else ''})"


class EndOfMessage:
    """The response body is complete."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EndOfMessage()"


class NeedData:
    """Signal: feed more bytes with `receive_data()` before asking for the next event."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()
END_OF_MESSAGE: Final = EndOfMessage()
