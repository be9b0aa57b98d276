"""``.dockerignore`` and build contexts, exactly as the docker CLI makes them for the classic
builder (``DOCKER_BUILDKIT=0 docker build DIR``).

- `read_patterns()` turns a ``.dockerignore`` into its pattern list: a line whose first
  character is ``#`` is a comment, blank lines are skipped, whitespace around a pattern and
  after a leading ``!`` is trimmed, each pattern is cleaned as a path (``./a//b/`` → ``a/b``,
  ``a/../b`` → ``b``) and loses one leading ``/``; a UTF-8 byte order mark on the first line is
  dropped.
- `DockerIgnore` matches context-relative paths against such a list. ``*`` and ``?`` never
  cross a ``/``, ``**`` crosses any number of directories, ``[…]`` are character classes and
  ``\\`` escapes; a later pattern overrides an earlier one, so ``!`` exceptions re-include
  what came before them; a pattern that matches a directory excludes everything under it.
  `DockerIgnore.matches()` answers whether the CLI leaves a path out of the context — including
  its quirk of never looking inside an excluded directory unless an exception pattern starts
  with that directory's path (``dir`` + ``!dir/keep`` re-includes ``dir/keep``, ``dir`` +
  ``!*/keep`` does not).
- `build_context()` streams the context of a directory as a tar, read from disk piece by piece:
  the ``.dockerignore`` applied, the Dockerfile and ``.dockerignore`` always sent (the daemon
  drops them itself when they are excluded), symbolic links stored as links, never followed.

The patterns are turned into regular expressions the way the CLI turns them (into Go regular
expressions, then translated here to Python's), quirks included: ``[*]`` is not "a star".
Unicode classes (``\\pL``) are the one piece of Go syntax not supported; a pattern using one
raises `DockerignoreError` when it is first matched.

Only `DockerIgnore.from_context()`, `resolve_dockerfile()` and `build_context()` touch the
filesystem; nothing here touches a socket.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from engineapi.archive.tarball import _gzipped, _members, _tar_chunks, tar_stream
from engineapi.errors import BuildContextError, DockerignoreError

__all__ = [
    "DOCKERIGNORE",
    "BuildContextError",
    "DockerIgnore",
    "DockerignoreError",
    "build_context",
    "build_context_adding_dockerfile",
    "dockerfile_context",
    "locate_dockerfile",
    "read_patterns",
    "resolve_dockerfile",
]

DOCKERIGNORE: Final = ".dockerignore"
_DEFAULT_DOCKERFILE: Final = "Dockerfile"


# ---------------------------------------------------------------------------------------------
# Reading a .dockerignore

_BOM: Final = b"\xef\xbb\xbf"
_MAX_LINE: Final = 64 * 1024  # Go's bufio.Scanner token limit, newline included
# What Go's strings.TrimSpace removes: unicode.IsSpace (not Python's wider str.isspace).
_GO_SPACE: Final = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def read_patterns(data: bytes | str) -> list[str]:
    """The patterns of a ``.dockerignore`` file's contents, normalized as the CLI does.

    An exception keeps its ``!`` prefix (``"!keep.txt"``). Raises `DockerignoreError` for a
    line longer than the CLI reads (64 KiB).
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    lines = raw.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    patterns: list[str] = []
    for number, line in enumerate(lines, 1):
        # A line must fit the CLI's 64 KiB buffer with its newline; an unterminated last
        # line fails at the same length, as the buffer fills before the end is seen.
        if len(line) >= _MAX_LINE:
            raise DockerignoreError(f"{DOCKERIGNORE} line {number} is longer than 64 KiB")
        if line.endswith(b"\r"):
            line = line[:-1]
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        text = line.decode("utf-8", "surrogateescape")
        if text.startswith("#"):  # only in the first column: " #x" is a pattern
            continue
        text = text.strip(_GO_SPACE)
        if not text:
            continue
        invert = text[0] == "!"
        if invert:
            text = text[1:].strip(_GO_SPACE)
        if text:
            text = _clean(text)
            if len(text) > 1 and text[0] == "/":
                text = text[1:]
        patterns.append("!" + text if invert else text)
    return patterns


def _clean(path: str) -> str:
    """Go's ``filepath.Clean`` (Unix): the shortest equivalent path, purely lexically."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
        else:
            parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def _dirname(path: str) -> str:
    """Go's ``filepath.Dir`` for a clean relative path: ``"."`` when there is no parent."""
    head = path.rpartition("/")[0]
    return head if head else "."


# ---------------------------------------------------------------------------------------------
# One pattern

_UNKNOWN: Final = 0
_EXACT: Final = 1
_PREFIX: Final = 2
_SUFFIX: Final = 3
_REGEXP: Final = 4

_ESCAPED: Final = frozenset(".+()|{}$")  # regexp metacharacters with no glob meaning


class _Pattern:
    """One cleaned pattern; compiled on first use, as the CLI compiles it."""

    __slots__ = ("_error", "_kind", "_nfa", "_regex", "dirs", "exclusion", "text")

    def __init__(self, text: str, exclusion: bool) -> None:
        self.text = text
        self.exclusion = exclusion
        self.dirs = len(text.split("/"))
        self._kind = _UNKNOWN
        self._regex: re.Pattern[str] | None = None
        self._nfa: _Glob | None = None
        self._error: str | None = None

    def match(self, path: str) -> bool:
        if self._kind == _UNKNOWN:
            self._compile()
        if self._error is not None:
            raise DockerignoreError(f"syntax error in pattern {self.text!r}: {self._error}")
        kind = self._kind
        if kind == _EXACT:
            return path == self.text
        if kind == _PREFIX:
            return path.startswith(self.text[:-2])
        if kind == _SUFFIX:
            if self.text.startswith("\ufeff"):  # Go slices bytes: the suffix is mangled
                return False
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix[0] == "/" and path == suffix[1:])
        if self._nfa is not None:
            return self._nfa.match(path)
        assert self._regex is not None
        return self._regex.search(path) is not None

    def _compile(self) -> None:
        """The Go regular expression the CLI builds for this pattern (and its shortcut kinds:
        exact, ``prefix**``, ``**suffix``), then its Python translation."""
        text = self.text
        pos = 1 if text.startswith("\ufeff") else 0  # Go's text/scanner skips a leading BOM
        end = len(text)
        kind = _EXACT
        out = ["^"]
        first = True
        while pos < end:
            ch = text[pos]
            pos += 1
            if ch == "*":
                if pos < end and text[pos] == "*":
                    pos += 1
                    if pos < end and text[pos] == "/":
                        pos += 1
                    if pos >= end:
                        if kind == _EXACT:
                            kind = _PREFIX
                        else:
                            out.append(".*")
                            kind = _REGEXP
                    else:
                        if out[-1] != "(.*/)?":  # two in a row mean one (and backtrack less)
                            out.append("(.*/)?")
                        kind = _REGEXP
                    if first:
                        kind = _SUFFIX
                else:
                    out.append("[^/]*")
                    kind = _REGEXP
            elif ch == "?":
                out.append("[^/]")
                kind = _REGEXP
            elif ch in _ESCAPED:
                out.append("\\" + ch)
            elif ch == "\\":
                if pos < end:
                    out.append("\\" + text[pos])
                    pos += 1
                    kind = _REGEXP
                else:
                    out.append("\\")
            elif ch in "[]":
                out.append(ch)
                kind = _REGEXP
            else:
                out.append(ch)
            first = False
        self._kind = kind
        if kind != _REGEXP:
            return
        out.append("$")
        source = "".join(out)
        try:
            translated = _translate(source)  # also the syntax check
        except _RegexpError as exc:
            self._error = str(exc)
            return
        # Several unbounded pieces make a backtracking matcher exponential (``*a*a*a*b`` on a
        # long name): match those in linear time, as the CLI's RE2 does.
        if sum(out.count(piece) for piece in ("[^/]*", "(.*/)?", ".*")) >= _BACKTRACK_RISK:
            self._nfa = _Glob.parse(source)
        if self._nfa is None:
            self._regex = re.compile(translated, re.ASCII)


# ---------------------------------------------------------------------------------------------
# Linear-time matching of the compiled patterns

#: From this many unbounded pieces on, a pattern is matched by `_Glob`.
_BACKTRACK_RISK: Final = 3

_SET, _STAR, _ANY_STAR, _DIRS = 0, 1, 2, 3  # one char of a set; set*; .*; (.*/)?


class _Glob:
    """A compiled pattern as a list of steps, matched by simulating every position at once
    (a Thompson NFA): time linear in the path times the steps, never exponential.

    Steps: one character of a set (`_SET`), any run of a set (`_STAR`, ``[^/]*``), any run of
    characters but a newline (`_ANY_STAR`, ``.*``), and optionally such a run ending with
    ``/`` (`_DIRS`, ``(.*/)?``). Only what the pattern compiler emits is understood; `parse`
    returns None for anything else (an assertion such as ``\\b``), kept on the regex.
    """

    __slots__ = ("_steps",)

    def __init__(self, steps: list[tuple[int, _Ranges | None]]) -> None:
        self._steps = steps

    @classmethod
    def parse(cls, src: str) -> _Glob | None:
        steps: list[tuple[int, _Ranges | None]] = []
        pos, end = 0, len(src)
        if src.startswith("^"):
            pos = 1
        if src.endswith("$") and not src.endswith("\\$"):
            end -= 1
        while pos < end:
            if src.startswith("(.*/)?", pos):
                steps.append((_DIRS, None))
                pos += 6
                continue
            if src.startswith(".*", pos):
                steps.append((_ANY_STAR, None))
                pos += 2
                continue
            ch = src[pos]
            ranges: _Ranges
            if ch == "[":
                ranges, pos = _parse_class(src, pos + 1)
            elif ch == "\\":
                if pos + 1 >= end:
                    return None
                letter = src[pos + 1]
                if letter == "Q":  # literal text up to \E
                    stop = src.find("\\E", pos + 2)
                    text = src[pos + 2 : stop if stop >= 0 else end]
                    steps += [(_SET, [(ord(c), ord(c))]) for c in text]
                    pos = stop + 2 if stop >= 0 else end
                    continue
                if letter in _ASSERTIONS or letter in "pP":
                    return None
                if letter.lower() in _PERL:
                    ranges, pos = _perl(letter), pos + 2
                else:
                    char, pos = _escape_char(src, pos + 1)
                    ranges = [(ord(char), ord(char))]
            elif ch in "^$.*?()|":
                return None  # not something the compiler emits on its own
            else:
                ranges, pos = [(ord(ch), ord(ch))], pos + 1
            if pos < end and src[pos] == "*":
                steps.append((_STAR, _merge(ranges)))
                pos += 1
            else:
                steps.append((_SET, _merge(ranges)))
        return cls(steps)

    def match(self, path: str) -> bool:
        steps = self._steps
        final = len(steps)
        # A state is a step index; -(i + 1) is "inside step i's (.*/)? run".
        states = self._closure({0})
        for char in path:
            code = ord(char)
            moved: set[int] = set()
            for state in states:
                if state < 0:  # inside (.*/)?: any char stays, a slash may leave
                    index = -state - 1
                    if char != "\n":
                        moved.add(state)
                    if char == "/":
                        moved.add(index + 1)
                    continue
                if state == final:
                    continue
                kind, ranges = steps[state]
                if kind == _SET:
                    if _in(ranges, code):
                        moved.add(state + 1)
                elif kind == _STAR:
                    if _in(ranges, code):
                        moved.add(state)
                elif kind == _ANY_STAR and char != "\n":
                    moved.add(state)
            if not moved:
                return False
            states = self._closure(moved)
        return final in states

    def _closure(self, states: set[int]) -> set[int]:
        """`states` with every state reachable without consuming a character."""
        steps = self._steps
        todo = list(states)
        seen = set(states)
        while todo:
            state = todo.pop()
            if state < 0 or state == len(steps):
                continue
            kind = steps[state][0]
            if kind == _SET:
                continue
            following = [state + 1]
            if kind == _DIRS:
                following.append(-state - 1)
            for other in following:
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen


def _in(ranges: _Ranges | None, code: int) -> bool:
    assert ranges is not None
    return any(lo <= code <= hi for lo, hi in ranges)


# ---------------------------------------------------------------------------------------------
# Go regular expressions (RE2 syntax, Perl flags) → Python regular expressions
#
# Only what the pattern compiler above can produce needs to work: literals, escapes, classes
# (ranges, negation, POSIX [:name:], Perl \d \s \w), `^`, `$` and the fixed pieces `[^/]`,
# `[^/]*`, `(.*/)?` and `.*`. Classes become explicit code point ranges, so Python never sees
# Go's class syntax.


class _RegexpError(Exception):
    pass


_MAX_RUNE: Final = 0x10FFFF
_Ranges = list[tuple[int, int]]


def _r(spec: str) -> _Ranges:
    """Ranges from a compact spec: ``"09AZ__"`` → [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F)]."""
    return [(ord(spec[i]), ord(spec[i + 1])) for i in range(0, len(spec), 2)]


def _negate(ranges: _Ranges) -> _Ranges:
    out: _Ranges = []
    next_lo = 0
    for lo, hi in _merge(ranges):
        if lo > next_lo:
            out.append((next_lo, lo - 1))
        next_lo = hi + 1
    if next_lo <= _MAX_RUNE:
        out.append((next_lo, _MAX_RUNE))
    return out


def _merge(ranges: _Ranges) -> _Ranges:
    out: _Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


_PERL: Final[dict[str, _Ranges]] = {
    "d": _r("09"),
    "s": _r("\t\n\f\r  "),
    "w": _r("09AZ__az"),
}
_POSIX_BASE: Final[dict[str, _Ranges]] = {
    "alnum": _r("09AZaz"),
    "alpha": _r("AZaz"),
    "ascii": _r("\x00\x7f"),
    "blank": _r("\t\t  "),
    "cntrl": _r("\x00\x1f\x7f\x7f"),
    "digit": _r("09"),
    "graph": _r("!~"),
    "lower": _r("az"),
    "print": _r(" ~"),
    "punct": _r("!/:@[`{~"),
    "space": _r("\t\r  "),
    "upper": _r("AZ"),
    "word": _r("09AZ__az"),
    "xdigit": _r("09AFaf"),
}
_POSIX: Final[dict[str, _Ranges]] = {
    **{f"[:{name}:]": ranges for name, ranges in _POSIX_BASE.items()},
    **{f"[:^{name}:]": _negate(ranges) for name, ranges in _POSIX_BASE.items()},
}
_SIMPLE_ESCAPES: Final = {"a": "\a", "f": "\f", "t": "\t", "n": "\n", "r": "\r", "v": "\v"}
_ASSERTIONS: Final = {"A": r"\A", "z": r"\Z", "b": r"\b", "B": r"\B"}
_OCTAL: Final = "01234567"
_HEX: Final = "0123456789abcdefABCDEF"


def _class_regex(ranges: _Ranges) -> str:
    merged = _merge(ranges)
    if not merged:
        return "(?!)"
    parts = [f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in merged]
    return "[" + "".join(parts) + "]"


def _translate(src: str) -> str:
    out: list[str] = []
    pos, end = 0, len(src)
    while pos < end:
        ch = src[pos]
        if ch == "\\":
            piece, pos = _escape_outside(src, pos + 1)
            out.append(piece)
        elif ch == "[":
            ranges, pos = _parse_class(src, pos + 1)
            out.append(_class_regex(ranges))
        elif ch == "$":  # Go's $ (no multi-line flag) is the end of the text
            out.append(r"\Z")
            pos += 1
        elif ch in "^.*?()|":  # the anchor, and the pieces the compiler emits
            out.append(ch)
            pos += 1
        else:
            out.append(re.escape(ch))
            pos += 1
    return "".join(out)


def _escape_outside(src: str, pos: int) -> tuple[str, int]:
    if pos >= len(src):
        raise _RegexpError("trailing backslash at end of expression")
    ch = src[pos]
    if ch == "Q":  # literal text up to \E
        stop = src.find("\\E", pos + 1)
        if stop < 0:
            return re.escape(src[pos + 1 :]), len(src)
        return re.escape(src[pos + 1 : stop]), stop + 2
    if ch in _ASSERTIONS:
        return _ASSERTIONS[ch], pos + 1
    if ch.lower() in _PERL:
        return _class_regex(_perl(ch)), pos + 1
    if ch in "pP":
        raise _RegexpError("Unicode classes (\\p, \\P) are not supported by engineapi")
    char, pos = _escape_char(src, pos)
    return re.escape(char), pos


def _perl(letter: str) -> _Ranges:
    ranges = _PERL[letter.lower()]
    return _negate(ranges) if letter.isupper() else list(ranges)


def _escape_char(src: str, pos: int) -> tuple[str, int]:
    """The character a backslash escape (after the backslash, at `pos`) stands for."""
    end = len(src)
    ch = src[pos]
    pos += 1
    if ord(ch) < 0x80 and not ch.isalnum():
        return ch, pos
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch], pos
    if ch in _OCTAL and (ch == "0" or (pos < end and src[pos] in _OCTAL)):
        value = int(ch)
        for _ in range(2):
            if pos < end and src[pos] in _OCTAL:
                value = value * 8 + int(src[pos])
                pos += 1
        return chr(value), pos
    if ch == "x" and pos < end:
        if src[pos] == "{":
            stop = src.find("}", pos + 1)
            digits = src[pos + 1 : stop] if stop > 0 else ""
            if digits and all(d in _HEX for d in digits) and int(digits, 16) <= _MAX_RUNE:
                return chr(int(digits, 16)), stop + 1
        elif pos + 1 < end and src[pos] in _HEX and src[pos + 1] in _HEX:
            return chr(int(src[pos : pos + 2], 16)), pos + 2
    raise _RegexpError(f"invalid escape sequence \\{ch}")


def _parse_class(src: str, pos: int) -> tuple[_Ranges, int]:
    """A ``[…]`` class whose ``[`` is just before `pos`: its ranges and the position after
    its ``]``. A ``]`` first in the class is a literal, as in Go."""
    end = len(src)
    negate = pos < end and src[pos] == "^"
    if negate:
        pos += 1
    ranges: _Ranges = []
    first = True
    while first or pos >= end or src[pos] != "]":
        if pos >= end:
            raise _RegexpError("missing closing ]")
        first = False
        if end - pos > 2 and src.startswith("[:", pos):
            stop = src.find(":]", pos + 2)
            if stop >= 0:
                name = src[pos : stop + 2]
                if name not in _POSIX:
                    raise _RegexpError(f"invalid character class range {name}")
                ranges += _POSIX[name]
                pos = stop + 2
                continue
        if src.startswith(("\\p", "\\P"), pos):
            raise _RegexpError("Unicode classes (\\p, \\P) are not supported by engineapi")
        if src[pos] == "\\" and pos + 1 < end and src[pos + 1].lower() in _PERL:
            ranges += _perl(src[pos + 1])
            pos += 2
            continue
        lo, pos = _class_char(src, pos)
        hi = lo
        if end - pos >= 2 and src[pos] == "-" and src[pos + 1] != "]":
            hi, pos = _class_char(src, pos + 1)
            if hi < lo:
                raise _RegexpError(f"invalid character class range {lo}-{hi}")
        ranges.append((ord(lo), ord(hi)))
    return (_negate(ranges) if negate else ranges), pos + 1


def _class_char(src: str, pos: int) -> tuple[str, int]:
    if pos >= len(src):
        raise _RegexpError("missing closing ]")
    if src[pos] == "\\":
        if pos + 1 >= len(src):
            raise _RegexpError("trailing backslash at end of expression")
        return _escape_char(src, pos + 1)
    return src[pos], pos + 1


def _check_glob(pattern: str) -> None:
    """Raise unless Go's ``filepath.Match`` accepts `pattern`'s syntax (the CLI checks every
    pattern with it before using it)."""
    pos, end = 0, len(pattern)

    def escaped_char(at: int) -> int:
        # One class member: not empty, not starting with - or ], something after it.
        if at >= end or pattern[at] in "-]":
            raise DockerignoreError(f"syntax error in pattern {pattern!r}")
        if pattern[at] == "\\":
            at += 1
            if at >= end:
                raise DockerignoreError(f"syntax error in pattern {pattern!r}")
        if "\udc80" <= pattern[at] <= "\udcff":  # a byte that is not UTF-8
            raise DockerignoreError(f"syntax error in pattern {pattern!r}")
        at += 1
        if at >= end:
            raise DockerignoreError(f"syntax error in pattern {pattern!r}")
        return at

    while pos < end:
        ch = pattern[pos]
        if ch == "\\":
            if pos + 1 >= end:
                raise DockerignoreError(f"syntax error in pattern {pattern!r}")
            pos += 2
        elif ch == "[":
            pos += 1
            if pos < end and pattern[pos] == "^":
                pos += 1
            members = 0
            while True:
                if pos < end and pattern[pos] == "]" and members:
                    pos += 1
                    break
                pos = escaped_char(pos)
                if pattern[pos] == "-":
                    pos = escaped_char(pos + 1)
                members += 1
        else:
            pos += 1


# ---------------------------------------------------------------------------------------------
# A pattern list

_ParentInfo = tuple[bool, ...]


class DockerIgnore:
    """A list of ``.dockerignore`` patterns, matched as the docker CLI matches them.

    `patterns` are ``.dockerignore`` lines as `read_patterns()` returns them (an exception
    starts with ``!``); each is trimmed and cleaned again, empty ones are dropped. Raises
    `DockerignoreError` for ``!`` alone or a pattern with malformed syntax, as the CLI refuses
    them before it sends anything.
    """

    __slots__ = ("_exclusions", "_patterns", "patterns")

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        kept: list[str] = []
        compiled: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip(_GO_SPACE)
            if not text:
                continue
            text = _clean(text)
            exclusion = text[0] == "!"
            if exclusion:
                if len(text) == 1:
                    raise DockerignoreError('illegal exclusion pattern: "!"')
                text = text[1:]
            _check_glob(text)
            kept.append(raw)
            compiled.append(_Pattern(text, exclusion))
        #: The patterns as given (empty ones left out).
        self.patterns: tuple[str, ...] = tuple(kept)
        self._patterns = tuple(compiled)
        self._exclusions = tuple(p for p in compiled if p.exclusion)

    @classmethod
    def parse(cls, data: bytes | str) -> DockerIgnore:
        """The patterns of a ``.dockerignore`` file's contents."""
        return cls(read_patterns(data))

    @classmethod
    def from_context(cls, context: str | os.PathLike[str]) -> DockerIgnore:
        """The ``.dockerignore`` at the root of the directory `context` (none: no patterns)."""
        try:
            with open(os.path.join(context, DOCKERIGNORE), "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return cls()
        return cls.parse(data)

    def __repr__(self) -> str:
        return f"DockerIgnore({list(self.patterns)!r})"

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def matches(self, path: str) -> bool:
        """Whether the CLI leaves the context-relative `path` (``/``-separated, e.g.
        ``"src/app.log"``) out of a build context.

        The last pattern matching the path or one of its parent directories decides; and a
        path under an excluded directory stays out, whatever the exceptions say, unless an
        exception pattern begins with that directory's path (the CLI does not look inside
        the directory otherwise). ``""`` and ``"."``, the context itself, are never excluded.
        """
        path = _clean(path.replace(os.sep, "/")).lstrip("/")
        if path in ("", "."):
            return False
        return _ContextWalk(self).excluded(path)

    def matches_or_parent(self, path: str) -> bool:
        """Whether the last pattern matching `path` or one of its parent directories is an
        exclusion, without the walk's directory skipping: the rule the daemon uses to drop an
        excluded Dockerfile or ``.dockerignore`` from the context it received."""
        path = _clean(path.replace(os.sep, "/")).lstrip("/")
        if path in ("", "."):
            return False
        return self._evaluate(path, None)[0]

    def keeping(self, dockerfile: str | None) -> DockerIgnore:
        """These patterns plus the exceptions the CLI adds so that ``.dockerignore`` and
        `dockerfile` (context-relative; None for one given as content) are sent even when
        excluded: ``!.dockerignore`` and ``!<dockerfile>``, each only if the file would
        otherwise be excluded."""
        extra: list[str] = []
        if self._legacy_matches(DOCKERIGNORE):
            extra.append("!" + DOCKERIGNORE)
        if dockerfile is not None:
            dockerfile = dockerfile.replace(os.sep, "/")
            if self._legacy_matches(dockerfile):
                extra.append("!" + dockerfile)
        if not extra:
            return self
        return DockerIgnore([*self.patterns, *extra])

    def context_filter(self) -> Callable[[str], bool]:
        """An ``include`` callback for `tar_stream()`: true for the paths the CLI puts in the
        context. It keeps the chain of the current path's parent directories, so it is
        cheapest when called in walk order (each directory before its contents)."""
        walk = _ContextWalk(self)
        return lambda path: not walk.excluded(path)

    # The CLI's matching functions, each kept for the caller that uses it.

    def _evaluate(self, path: str, parent: _ParentInfo | None) -> tuple[bool, _ParentInfo]:
        """Is `path` excluded, and which patterns matched it — given which patterns matched
        its parent directory (None: not known, so the parent directories are tried)."""
        matched = False
        info: list[bool] = []
        for index, pattern in enumerate(self._patterns):
            match = parent[index] if parent else False
            if not match:
                if pattern.exclusion != matched:
                    info.append(False)
                    continue
                match = pattern.match(path)
                if not match and not parent:
                    directory = _dirname(path)
                    if directory != ".":
                        parts = directory.split("/")
                        for depth in range(1, len(parts) + 1):
                            if pattern.match("/".join(parts[:depth])):
                                match = True
                                break
            info.append(match)
            if match:
                matched = not pattern.exclusion
        return matched, tuple(info)

    def _legacy_matches(self, path: str) -> bool:
        """The older rule the CLI still uses to decide whether to keep the Dockerfile and
        ``.dockerignore``: a pattern is tried on the path, then on the one parent directory
        with as many components as the pattern has."""
        path = _clean(path)
        if path == ".":
            return False
        directory = _dirname(path)
        parents = directory.split("/")
        matched = False
        try:
            for pattern in self._patterns:
                if pattern.exclusion != matched:
                    continue
                match = pattern.match(path)
                if not match and directory != "." and pattern.dirs <= len(parents):
                    match = pattern.match("/".join(parents[: pattern.dirs]))
                if match:
                    matched = not pattern.exclusion
        except DockerignoreError:  # the CLI ignores the error here (and fails later)
            return False
        return matched

    def _may_enter(self, directory: str) -> bool:
        """Whether the CLI looks inside the excluded `directory`: only when an exception
        pattern starts with its path."""
        prefix = directory + "/"
        return any((p.text + "/").startswith(prefix) for p in self._exclusions)


class _ContextWalk:
    """The CLI's verdicts along a walk: the match results of the current path's parent
    directories are kept (and reused), as the CLI passes them from directory to contents."""

    __slots__ = ("_ignore", "_last", "_stack")

    def __init__(self, ignore: DockerIgnore) -> None:
        self._ignore = ignore
        # (name, match info, skipped) for each parent directory of the current path.
        self._stack: list[tuple[str, _ParentInfo, bool]] = []
        # The last path asked about, if it may become a parent: (path, excluded, info).
        self._last: tuple[str, bool, _ParentInfo] | None = None

    def excluded(self, path: str) -> bool:
        ignore = self._ignore
        if not ignore._patterns:
            return False
        parts = path.split("/")
        stack = self._stack
        depth = 0
        limit = min(len(stack), len(parts) - 1)
        while depth < limit and stack[depth][0] == parts[depth]:
            depth += 1
        del stack[depth:]
        while len(stack) < len(parts) - 1:
            level = len(stack)
            name = parts[level]
            if stack and stack[-1][2]:
                stack.append((name, (), True))
                continue
            directory = "/".join(parts[: level + 1])
            last = self._last
            if last is not None and last[0] == directory:
                excluded, info = last[1], last[2]
            else:
                excluded, info = ignore._evaluate(directory, stack[-1][1] if stack else None)
            skipped = excluded and not ignore._may_enter(directory)
            stack.append((name, info, skipped))
        if stack and stack[-1][2]:
            return True
        excluded, info = ignore._evaluate(path, stack[-1][1] if stack else None)
        self._last = (path, excluded, info)
        return excluded


# ---------------------------------------------------------------------------------------------
# Build contexts


def _context_root(context: str | os.PathLike[str]) -> str:
    """The context directory with symbolic links resolved, as the CLI resolves it."""
    try:
        root = os.path.realpath(os.fspath(context), strict=True)
    except OSError as exc:
        raise BuildContextError(f"unable to prepare context {os.fspath(context)!r}: {exc}") from exc
    if not stat.S_ISDIR(os.stat(root).st_mode):
        raise BuildContextError(f"context must be a directory: {root}")
    return root


def locate_dockerfile(
    context: str | os.PathLike[str], dockerfile: str | os.PathLike[str] | None = None
) -> tuple[str, str]:
    """The Dockerfile of a build from the directory `context`: its real path and its path
    relative to `context` (``/``-separated; it starts with ``../`` when the Dockerfile lies
    outside the context). `dockerfile` is relative to `context` (or absolute; default
    ``Dockerfile``, or ``dockerfile`` when only that exists); symbolic links are resolved, as
    the CLI resolves them.

    Raises `BuildContextError` when the context or the Dockerfile does not exist.
    """
    root = _context_root(context)
    if dockerfile is None:
        candidate = os.path.join(root, _DEFAULT_DOCKERFILE)
        lower = os.path.join(root, _DEFAULT_DOCKERFILE.lower())
        if not os.path.lexists(candidate) and os.path.lexists(lower):
            candidate = lower
    else:
        candidate = os.path.join(root, os.fspath(dockerfile))
    try:
        real = os.path.realpath(candidate, strict=True)
    except OSError:
        raise BuildContextError(f"cannot locate Dockerfile: {candidate!r}") from None
    return real, os.path.relpath(real, root).replace(os.sep, "/")


def _outside(relative: str) -> bool:
    return relative == ".." or relative.startswith("../")


def resolve_dockerfile(context: str | os.PathLike[str], dockerfile: str | None = None) -> str:
    """The Dockerfile's path relative to the directory `context` (``/``-separated), as the CLI
    sends it when the Dockerfile is inside the context (see `locate_dockerfile`), so a
    ``Dockerfile`` linking to ``docker/prod.Dockerfile`` gives ``"docker/prod.Dockerfile"``.

    Raises `BuildContextError` when it does not exist or lies outside the context (the CLI
    then adds it to the context under a generated name: `build_context_adding_dockerfile`).
    """
    real, rel = locate_dockerfile(context, dockerfile)
    if _outside(rel):
        raise BuildContextError(
            f"the Dockerfile {real!r} is outside the build context {os.fspath(context)!r}: "
            f"send it with build_context_adding_dockerfile() (images.build does)"
        )
    return rel


def generated_dockerfile_name(content: bytes) -> str:
    """The name a Dockerfile added to a context gets: ``.dockerfile.`` and 20 hex digits. The
    CLI's digits are random; these are the start of the content's SHA-256, so the same build
    sends the same request (a recorded cassette replays it)."""
    return ".dockerfile." + hashlib.sha256(content).hexdigest()[:20]


def _generated_entry(name: str, content: bytes, mtime: int) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(content), 0o600, mtime
    return info, content


def build_context_adding_dockerfile(
    path: str | os.PathLike[str],
    content: bytes,
    *,
    gzip: bool = False,
    name: str | None = None,
) -> tuple[Iterator[bytes], str]:
    """The build context of the directory `path` with the Dockerfile `content` added, as
    ``docker build -f OUTSIDE PATH`` and ``docker build -f - PATH`` send it; and the name to
    send as ``dockerfile``.

    The context is `build_context`'s, plus the Dockerfile as a file named `name` (default
    `generated_dockerfile_name()`: ``.dockerfile.<20 hex digits>``, mode 0600) and with that
    name appended to ``.dockerignore`` (created, listing itself, when there is none), so the
    daemon drops both from the context once it has read them: ``COPY . /dst`` does not see
    them. The context and its ``.dockerignore`` are checked now.
    """
    root = _context_root(path)
    ignore_path = os.path.join(root, DOCKERIGNORE)
    try:
        with open(ignore_path, "rb") as file:
            ignore_text: bytes | None = file.read()
    except FileNotFoundError:
        ignore_text = None
    ignore = (DockerIgnore() if ignore_text is None else DockerIgnore.parse(ignore_text)).keeping(
        None
    )
    if name is None:
        name = generated_dockerfile_name(content)
    listed = (DOCKERIGNORE.encode() if ignore_text is None else ignore_text) + (
        f"\n{name}\n".encode()
    )
    now = int(time.time())

    def members() -> Iterator[tuple[tarfile.TarInfo, str | bytes | None]]:
        replaced = False
        for info, source in _members(root, "", ignore.context_filter(), (0, 0), True):
            if info.name == DOCKERIGNORE and info.isreg():
                # Replaced in place, its header kept (the CLI rewrites the tar so).
                info.size, replaced = len(listed), True
                yield info, listed
            else:
                yield info, source
        if not replaced:
            yield _generated_entry(DOCKERIGNORE, listed, now)
        yield _generated_entry(name, content, now)

    chunks = _tar_chunks(members(), 256 * 1024)
    return (_gzipped(chunks) if gzip else chunks), name


def dockerfile_context(content: bytes, *, gzip: bool = False) -> Iterator[bytes]:
    """A build context holding only the Dockerfile `content`, named ``Dockerfile`` — what
    ``docker build - < Dockerfile`` sends."""
    info = tarfile.TarInfo(_DEFAULT_DOCKERFILE)
    info.size, info.mode, info.mtime = len(content), 0o644, int(time.time())
    chunks = _tar_chunks(iter([(info, content)]), 256 * 1024)
    return _gzipped(chunks) if gzip else chunks


def build_context(
    path: str | os.PathLike[str],
    *,
    dockerfile: str = _DEFAULT_DOCKERFILE,
    gzip: bool = False,
) -> Iterator[bytes]:
    """The build context of the directory `path` as a tar, in pieces read from disk as they
    are sent (memory stays flat however large the context).

    Exactly what ``DOCKER_BUILDKIT=0 docker build`` sends: the entries its ``.dockerignore``
    leaves in, plus `dockerfile` (relative to `path`) and ``.dockerignore`` themselves even when
    excluded; symbolic links are stored as links, also those pointing outside the context; a
    file's second path is a hard link to its first; every entry is owned by uid/gid 0.
    With `gzip` the tar is gzip-compressed (send ``Content-Encoding: gzip``).

    The context, the Dockerfile and the ``.dockerignore`` are checked now: a missing
    directory or Dockerfile or an invalid ``.dockerignore`` raises `BuildContextError` (or
    `DockerignoreError`) before the first piece.
    """
    root = _context_root(path)
    relative = resolve_dockerfile(root, dockerfile)
    ignore = DockerIgnore.from_context(root).keeping(relative)
    return tar_stream(
        root,
        arcname="",
        gzip=gzip,
        include=ignore.context_filter(),
        owner=(0, 0),
        hardlinks=True,
    )
