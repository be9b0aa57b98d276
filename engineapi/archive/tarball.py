"""Tar archives as streams: write one from disk piece by piece, read one piece by piece.

The archive endpoints move whole trees as tar bodies: ``PUT /containers/{id}/archive`` takes one
and ``GET /containers/{id}/archive`` returns one, and either may be far larger than memory.

- `tar_stream()` yields a POSIX (pax) tar of a file or directory, reading file contents in
  chunks; `tar_size()` is its exact length, for a ``Content-Length`` body.
- `TarReader` is a sans-IO tar parser: fed bytes, it returns `Member`, `Content` and
  `EndOfMember` events, never holding more than one header in memory.
- `extract_stream()` / `extract_async_stream()` write a tar body into a directory through a
  `TarReader`, refusing (`UnsafeArchiveError`) any member that would land outside it.

Only the two extract functions and `tar_stream()` touch the filesystem; nothing here touches a
socket. Importing this module is for callers that use archives (`engineapi` does not import it).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
import zlib
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from typing import Final

import attrs

from engineapi.errors import ArchiveError, UnsafeArchiveError

__all__ = [
    "ArchiveError",
    "Content",
    "EndOfMember",
    "Member",
    "TarEvent",
    "TarReader",
    "UnsafeArchiveError",
    "extract_async_stream",
    "extract_stream",
    "tar_size",
    "tar_stream",
]

BLOCK: Final = 512
_ZERO_BLOCK: Final = bytes(BLOCK)
_END_OF_ARCHIVE: Final = bytes(2 * BLOCK)
_ENCODING: Final = "utf-8"
_ERRORS: Final = "surrogateescape"  # names that are not UTF-8 keep their bytes (os.fsencode)


# ---------------------------------------------------------------------------------------------
# Writing


def tar_stream(
    path: str | os.PathLike[str],
    *,
    arcname: str | None = None,
    chunk_size: int = 256 * 1024,
    gzip: bool = False,
    include: Callable[[str], bool] | None = None,
    owner: tuple[int, int] | None = None,
    hardlinks: bool = False,
) -> Iterator[bytes]:
    """A pax tar of the file or directory at `path`, as pieces of about `chunk_size` bytes.

    The member for `path` itself is named `arcname` (default: the last component of `path`);
    for a directory, ``arcname=""`` puts its contents at the root of the archive with no entry
    for the directory itself (the shape of a build context). Entries come in sorted order, each
    directory before its contents. Symbolic links are stored as links, never followed (also
    when `path` itself is one); regular files, directories, fifos and device nodes keep their
    mode bits, owner ids and mtime (whole seconds); sockets are skipped.

    `include`, if given, is called with each entry's path relative to `path` (``/``-separated,
    e.g. ``"src/main.py"``) and leaves out the entries it rejects. A rejected directory is still
    walked so that an include rule may take back some of its contents (as ``.dockerignore``
    exceptions do); its own entry is left out.

    `owner` (uid, gid) replaces every entry's owner ids; with `hardlinks`, a second path to a
    file already archived is stored as a hard link to the first (both as the docker CLI
    writes build contexts: ``owner=(0, 0), hardlinks=True``).

    Memory stays flat whatever the sizes: file contents are read `chunk_size` at a time. With
    `gzip` the pieces are gzip-compressed (the length is then not `tar_size()`). A regular file
    whose size changes while it is read raises `ArchiveError` (a grown file is cut at the size
    it had when its header was written, so the stream stays consistent).
    """
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    root, name = _root_and_name(path, arcname)
    chunks = _tar_chunks(_members(root, name, include, owner, hardlinks), chunk_size)
    return _gzipped(chunks) if gzip else chunks


def tar_size(
    path: str | os.PathLike[str],
    *,
    arcname: str | None = None,
    include: Callable[[str], bool] | None = None,
    owner: tuple[int, int] | None = None,
    hardlinks: bool = False,
) -> int:
    """The exact length of ``tar_stream()`` with the same arguments (uncompressed), as long as
    the tree does not change in between."""
    root, name = _root_and_name(path, arcname)
    total = len(_END_OF_ARCHIVE)
    for info, _source in _members(root, name, include, owner, hardlinks):
        total += len(_header(info)) + info.size + (-info.size % BLOCK)
    return total


def _root_and_name(path: str | os.PathLike[str], arcname: str | None) -> tuple[str, str]:
    root = os.fspath(path)
    os.lstat(root)  # a missing path fails here, not at the first piece
    if arcname is None:
        arcname = os.path.basename(os.path.normpath(os.path.abspath(root)))
    name = "/".join(
        part for part in arcname.replace(os.sep, "/").split("/") if part not in ("", ".")
    )
    if ".." in name.split("/"):
        raise ValueError(f"arcname must not contain '..': {arcname!r}")
    return root, name


def _members(
    root: str,
    name: str,
    include: Callable[[str], bool] | None,
    owner: tuple[int, int] | None = None,
    hardlinks: bool = False,
) -> Iterator[tuple[tarfile.TarInfo, str | None]]:
    """(header, file to copy the content from) for each entry, in archive order."""
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode):
        if not name:
            raise ValueError("a file needs a non-empty arcname")
        info = _info(root, name, st)
        if info is not None:
            if owner is not None:
                info.uid, info.gid = owner
            yield info, root if info.isreg() else None
        return
    if name:
        info = _info(root, name, st)
        assert info is not None
        if owner is not None:
            info.uid, info.gid = owner
        yield info, None
    seen: dict[int, str] = {}  # inode → first archived name, for `hardlinks`
    # Depth first without recursion: one sorted listing per open directory.
    stack: list[tuple[str, str, Iterator[str]]] = [(root, "", iter(sorted(os.listdir(root))))]
    while stack:
        directory, rel_dir, names = stack[-1]
        entry = next(names, None)
        if entry is None:
            stack.pop()
            continue
        source = os.path.join(directory, entry)
        rel = f"{rel_dir}/{entry}" if rel_dir else entry
        st = os.lstat(source)
        if include is None or include(rel):
            info = _info(source, f"{name}/{rel}" if name else rel, st)
            if info is not None:
                if owner is not None:
                    info.uid, info.gid = owner
                if hardlinks and st.st_nlink > 1 and not info.isdir():
                    first = seen.setdefault(st.st_ino, info.name)
                    if first != info.name:
                        info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
                yield info, source if info.isreg() else None
        if stat.S_ISDIR(st.st_mode):
            stack.append((source, rel, iter(sorted(os.listdir(source)))))


def _info(source: str, name: str, st: os.stat_result) -> tarfile.TarInfo | None:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid = st.st_uid
    info.gid = st.st_gid
    info.mtime = int(st.st_mtime)
    kind = stat.S_IFMT(st.st_mode)
    if kind == stat.S_IFREG:
        info.type = tarfile.REGTYPE
        info.size = st.st_size
    elif kind == stat.S_IFDIR:
        info.type = tarfile.DIRTYPE
    elif kind == stat.S_IFLNK:
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(source)
    elif kind == stat.S_IFIFO:
        info.type = tarfile.FIFOTYPE
    elif kind in (stat.S_IFCHR, stat.S_IFBLK):
        info.type = tarfile.CHRTYPE if kind == stat.S_IFCHR else tarfile.BLKTYPE
        info.devmajor = os.major(st.st_rdev)
        info.devminor = os.minor(st.st_rdev)
    else:  # a socket (or something stranger): tar has no type for it
        return None
    return info


def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, _ENCODING, _ERRORS)


def _tar_chunks(
    members: Iterator[tuple[tarfile.TarInfo, str | bytes | None]], chunk_size: int
) -> Iterator[bytes]:
    """The archive of `members`: (header, the file to copy the content from, or the content
    itself as bytes)."""
    out = bytearray()
    for info, source in members:
        out += _header(info)
        if isinstance(source, bytes):
            out += source
            out += bytes(-len(source) % BLOCK)
        elif source is not None and info.size:
            with open(source, "rb") as file:
                remaining = info.size
                while remaining:
                    if len(out) >= chunk_size:
                        yield bytes(out)
                        out.clear()
                    if not out and remaining >= chunk_size:
                        piece = file.read(chunk_size)  # a whole piece: hand it over as is
                        if len(piece) == chunk_size:
                            remaining -= chunk_size
                            yield piece
                            continue
                    else:
                        piece = file.read(min(chunk_size - len(out), remaining))
                    if not piece:
                        raise ArchiveError(
                            f"{source} shrank while it was being archived "
                            f"({info.size} bytes announced, {info.size - remaining} found)"
                        )
                    out += piece
                    remaining -= len(piece)
                    if len(out) >= chunk_size:
                        yield bytes(out)
                        out.clear()
            out += bytes(-info.size % BLOCK)
        if len(out) >= chunk_size:
            yield bytes(out)
            out.clear()
    out += _END_OF_ARCHIVE
    yield bytes(out)


def _gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container, mtime 0
    for chunk in chunks:
        packed = compressor.compress(chunk)
        if packed:
            yield packed
    yield compressor.flush()


# ---------------------------------------------------------------------------------------------
# Reading


@attrs.frozen
class Member:
    """The header of one archive member, long names and pax records already applied.

    `name` is as stored (``/``-separated, trailing slash of a directory removed, not checked for
    safety); `type` is the tar type flag (`tarfile.REGTYPE`, `tarfile.DIRTYPE`, …); `linkname`
    the target of a symbolic link, or the archive path a hard link points to.
    """

    name: str
    type: bytes
    size: int = 0
    mode: int = 0o644
    mtime: float = 0
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    devmajor: int = 0
    devminor: int = 0
    pax_headers: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    @property
    def is_file(self) -> bool:
        return self.type in _FILE_TYPES

    @property
    def is_dir(self) -> bool:
        return self.type == tarfile.DIRTYPE

    @property
    def is_symlink(self) -> bool:
        return self.type == tarfile.SYMTYPE

    @property
    def is_hardlink(self) -> bool:
        return self.type == tarfile.LNKTYPE


@attrs.frozen
class Content:
    """A piece of the current member's content (regular files only)."""

    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")


@attrs.frozen
class EndOfMember:
    """The current member is complete."""


TarEvent = Member | Content | EndOfMember

_FILE_TYPES: Final = frozenset((tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE))
_PAX_TYPES: Final = frozenset((tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.XGLTYPE))
_GNU_LONG_TYPES: Final = frozenset((tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK))

# Reader states.
_HEADER: Final = 0  # collecting a 512-byte header
_EXTENDED: Final = 1  # collecting a pax or GNU long-name record
_CONTENT: Final = 2  # passing member content through
_SKIP: Final = 3  # discarding padding
_DONE: Final = 4  # after the end-of-archive block


class TarReader:
    """An incremental tar parser: `feed()` bytes as they arrive, get events back.

    Each member is a `Member`, then (for regular files) `Content` pieces cut from the fed bytes
    as they come, then `EndOfMember`. Pax extended headers (local and global) and GNU long
    name/link records are applied to the member they precede; they are the only things
    buffered, up to `max_extended_size` bytes each. Old GNU sparse members are refused.
    Everything after the first zero block (the end-of-archive marker) is ignored.
    """

    __slots__ = (
        "_buffer",
        "_extended_type",
        "_global_pax",
        "_long_link",
        "_long_name",
        "_max_extended",
        "_need",
        "_offset",
        "_padding",
        "_pax",
        "_remaining",
        "_state",
    )

    def __init__(self, *, max_extended_size: int = 1024 * 1024) -> None:
        self._max_extended = max_extended_size
        self._state = _HEADER
        self._buffer = bytearray()
        self._need = BLOCK
        self._remaining = 0
        self._padding = 0
        self._offset = 0  # archive offset of the first byte not yet consumed
        self._extended_type = b""
        self._pax: dict[str, str] = {}
        self._global_pax: dict[str, str] = {}
        self._long_name: str | None = None
        self._long_link: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the end-of-archive marker was read."""
        return self._state == _DONE

    def feed(self, data: bytes) -> list[TarEvent]:
        """The events completed by `data` (possibly none)."""
        events: list[TarEvent] = []
        view = memoryview(data)
        pos, size = 0, len(view)
        while pos < size:
            state = self._state
            if state == _CONTENT:
                take = min(self._remaining, size - pos)
                events.append(Content(bytes(view[pos : pos + take])))
                pos += take
                self._remaining -= take
                if not self._remaining:
                    events.append(EndOfMember())
                    self._skip(self._padding)
            elif state == _SKIP:
                take = min(self._remaining, size - pos)
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._state = _HEADER
            elif state == _DONE:
                pos = size
            else:
                take = min(self._need - len(self._buffer), size - pos)
                self._buffer += view[pos : pos + take]
                pos += take
                if len(self._buffer) == self._need:
                    block = bytes(self._buffer)
                    self._buffer.clear()
                    self._need = BLOCK
                    at = self._offset + pos - len(block)
                    if state == _HEADER:
                        self._on_header(block, at, events)
                    else:
                        self._on_extended(block, at)
        self._offset += size
        return events

    def end(self) -> list[TarEvent]:
        """At the end of the input. An archive cut inside a header or a member is an
        `ArchiveError`; one that merely lacks the end-of-archive marker is accepted."""
        if self._state == _DONE or (self._state == _HEADER and not self._buffer):
            return []
        raise ArchiveError(
            f"the tar stream ended in the middle of a member (at byte {self._offset})"
        )

    def _skip(self, count: int) -> None:
        self._remaining = count
        self._state = _SKIP if count else _HEADER

    def _on_header(self, block: bytes, at: int, events: list[TarEvent]) -> None:
        if block == _ZERO_BLOCK:
            self._state = _DONE
            return
        try:
            info = tarfile.TarInfo.frombuf(block, _ENCODING, _ERRORS)
        except tarfile.HeaderError as exc:
            raise ArchiveError(f"malformed tar header at byte {at}: {exc}") from None
        kind = info.type
        if kind in _PAX_TYPES or kind in _GNU_LONG_TYPES:
            if info.size > self._max_extended:
                raise ArchiveError(
                    f"extended tar header of {info.size} bytes at byte {at} "
                    f"(more than {self._max_extended})"
                )
            self._extended_type = kind
            self._padding = -info.size % BLOCK
            if info.size:
                self._need = info.size
                self._state = _EXTENDED
            else:
                self._on_extended(b"", at)
            return
        if kind == tarfile.GNUTYPE_SPARSE:
            raise ArchiveError(f"GNU sparse member {info.name!r} at byte {at} is not supported")
        member = self._member(info, at)
        events.append(member)
        if member.is_file and member.size:
            self._remaining = member.size
            self._padding = -member.size % BLOCK
            self._state = _CONTENT
        else:
            if member.is_file:
                events.append(EndOfMember())
            # Other types carry no content that we use (a hard link's size should be 0); skip it.
            size = 0 if member.is_file else member.size
            self._skip(size + (-size % BLOCK))

    def _on_extended(self, data: bytes, at: int) -> None:
        kind = self._extended_type
        if kind in _GNU_LONG_TYPES:
            value = data.split(b"\0", 1)[0].decode(_ENCODING, _ERRORS)
            if kind == tarfile.GNUTYPE_LONGNAME:
                self._long_name = value
            else:
                self._long_link = value
        else:
            records = _parse_pax(data, at)
            if kind == tarfile.XGLTYPE:
                self._global_pax.update(records)
            else:
                self._pax.update(records)
            # Many headers in a row (or global ones piling up) are bounded together.
            kept = sum(len(k) + len(v) for k, v in self._pax.items())
            kept += sum(len(k) + len(v) for k, v in self._global_pax.items())
            if kept > self._max_extended:
                raise ArchiveError(
                    f"pax headers at byte {at} hold more than {self._max_extended} bytes "
                    "together: refused, not kept"
                )
        self._skip(self._padding)

    def _member(self, info: tarfile.TarInfo, at: int) -> Member:
        pax = {**self._global_pax, **self._pax} if self._global_pax else self._pax
        name = pax.get("path", self._long_name if self._long_name is not None else info.name)
        linkname = pax.get(
            "linkpath", self._long_link if self._long_link is not None else info.linkname
        )
        self._pax, self._long_name, self._long_link = {}, None, None
        kind = info.type
        if name.endswith("/") and kind in (tarfile.REGTYPE, tarfile.AREGTYPE):
            kind = tarfile.DIRTYPE
        if kind == tarfile.DIRTYPE and name.rstrip("/"):
            name = name.rstrip("/")
        try:
            size = int(pax["size"]) if "size" in pax else info.size
            mtime = float(pax["mtime"]) if "mtime" in pax else float(info.mtime)
            uid = int(pax["uid"]) if "uid" in pax else info.uid
            gid = int(pax["gid"]) if "gid" in pax else info.gid
        except ValueError:
            raise ArchiveError(f"malformed pax number for {name!r} at byte {at}") from None
        if size < 0:
            raise ArchiveError(f"negative size for {name!r} at byte {at}")
        return Member(
            name=name,
            type=kind,
            size=size,
            mode=info.mode,
            mtime=mtime,
            linkname=linkname,
            uid=uid,
            gid=gid,
            uname=pax.get("uname", info.uname),
            gname=pax.get("gname", info.gname),
            devmajor=info.devmajor,
            devminor=info.devminor,
            pax_headers=pax,
        )


def _parse_pax(data: bytes, at: int) -> dict[str, str]:
    """The records of a pax extended header: ``"<length> <key>=<value>\\n"`` each."""
    records: dict[str, str] = {}
    pos, size = 0, len(data)
    while pos < size and data[pos] != 0:
        space = data.find(b" ", pos, pos + 20)
        digits = data[pos:space] if space > 0 else b""
        length = int(digits) if digits.isdigit() else 0
        end = pos + length
        if length <= space - pos + 1 or end > size or data[end - 1] != 0x0A:
            raise ArchiveError(f"malformed pax extended header at byte {at}")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals:
            raise ArchiveError(f"malformed pax record {data[pos:end][:80]!r} at byte {at}")
        records[key.decode(_ENCODING, _ERRORS)] = value.decode(_ENCODING, _ERRORS)
        pos = end
    return records


# ---------------------------------------------------------------------------------------------
# Extracting


def extract_stream(chunks: Iterable[bytes], dest: str | os.PathLike[str]) -> list[str]:
    """Extract the tar arriving as `chunks` into the directory `dest` (created if missing),
    one piece at a time; the extracted members' paths relative to `dest`, in archive order.

    Regular files, directories, symbolic and hard links are written with their mode bits
    (setuid, setgid and sticky dropped) and mtimes; owners are not changed. Raises
    `UnsafeArchiveError` — leaving what was extracted so far — for a member whose name is
    absolute or climbs out of `dest` with ``..``, a link whose target is absolute or resolves
    outside `dest`, a member that would be written through a symbolic link leading outside
    `dest` (one from the archive or one already there), and device nodes and fifos. The input is
    read to its end even after the end-of-archive marker.
    """
    reader = TarReader()
    extractor = _Extractor(dest)
    try:
        for chunk in chunks:
            for event in reader.feed(chunk):
                extractor.handle(event)
        reader.end()
        return extractor.finish()
    finally:
        extractor.close()


async def extract_async_stream(
    chunks: AsyncIterable[bytes], dest: str | os.PathLike[str]
) -> list[str]:
    """`extract_stream()` for an async body. Only the reading awaits: the file writes are
    plain blocking calls, like the chunk-sized local disk writes they are."""
    reader = TarReader()
    extractor = _Extractor(dest)
    try:
        async for chunk in chunks:
            for event in reader.feed(chunk):
                extractor.handle(event)
        reader.end()
        return extractor.finish()
    finally:
        extractor.close()


_O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_BINARY: Final = getattr(os, "O_BINARY", 0)
_O_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
_NEW_FILE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
_DEVICE_TYPES: Final = {
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a fifo",
}


def _normalize(path: str) -> str | None:
    """`path` with ``.``, empty and ``..`` components folded (``None`` if it climbs above its
    start); ``""`` for the start itself."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/".join(parts)


class _Extractor:
    """Writes `TarReader` events under a root directory; shared by both extract functions."""

    __slots__ = ("_dirs", "_extracted", "_file", "_links", "_member", "_root", "_target")

    def __init__(self, dest: str | os.PathLike[str]) -> None:
        os.makedirs(dest, exist_ok=True)
        self._root = os.path.realpath(dest)
        self._extracted: dict[str, None] = {}
        self._dirs: list[tuple[str, Member]] = []
        self._links: list[tuple[str, str]] = []  # (relative path, link text)
        self._file: _FileWriter | None = None
        self._member: Member | None = None
        self._target = ""

    def handle(self, event: TarEvent) -> None:
        try:
            if isinstance(event, Content):
                if self._file is not None:
                    self._file.write(event.data)
            elif isinstance(event, Member):
                self._member = event
                self._start(event)
            elif self._file is not None:
                file, self._file = self._file, None
                assert self._member is not None
                file.finish(self._member)
        except (OSError, OverflowError, ValueError) as exc:
            # What the filesystem refused (a name too long, a loop of links, a time out of
            # range…): the member is named, the error typed.
            name = self._member.name if self._member is not None else "?"
            raise ArchiveError(f"cannot extract {name!r}: {exc}") from exc

    def finish(self) -> list[str]:
        removed = self._remove_escaping_links()
        if removed:
            rel, linkname = removed[0]
            raise UnsafeArchiveError(
                rel,
                f"its link target {linkname!r} leads outside the destination once later "
                f"members are in place ({len(removed)} such link(s) removed)",
            )
        for target, member in reversed(self._dirs):  # deepest last-made first
            _set_dir_attributes(target, member)
        return list(self._extracted)

    def close(self) -> None:
        """Always called, also after a refused member or a cut-off stream: no link the
        archive made may be left resolving outside the destination."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._remove_escaping_links()

    def _remove_escaping_links(self) -> list[tuple[str, str]]:
        """Remove every link of the archive that now resolves outside the destination. A link
        checked when made can be re-pointed by a later one (``x -> sub/y/..``, then
        ``sub/y -> ..``), and removing one changes where others lead: repeat until none does."""
        removed: list[tuple[str, str]] = []
        while True:
            escaping = [
                (rel, linkname)
                for rel, linkname in self._links
                if (target := os.path.join(self._root, *rel.split("/")))
                and os.path.islink(target)
                and not self._inside(os.path.realpath(target))
            ]
            if not escaping:
                return removed
            for rel, linkname in escaping:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self._root, *rel.split("/")))
                removed.append((rel, linkname))

    def _inside(self, real: str) -> bool:
        root = self._root
        return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)

    def _start(self, member: Member) -> None:
        name = member.name
        if "\0" in name or "\0" in member.linkname:
            raise UnsafeArchiveError(name, "its name or link target contains a NUL byte")
        if name.startswith("/"):
            raise UnsafeArchiveError(name, "its name is an absolute path")
        if member.type in _DEVICE_TYPES:
            raise UnsafeArchiveError(name, f"it is {_DEVICE_TYPES[member.type]}")
        rel = _normalize(name)
        if rel is None:
            raise UnsafeArchiveError(name, "its '..' components lead outside the destination")
        if not rel:  # the root itself ("./"): it is `dest`, which exists already
            return
        target = os.path.join(self._root, *rel.split("/"))
        parent = os.path.dirname(target)
        if not self._inside(os.path.realpath(parent)):
            raise UnsafeArchiveError(
                name,
                "it would be written through a symbolic link that leads outside the destination",
            )
        if member.is_file:
            os.makedirs(parent, exist_ok=True)
            _remove_non_dir(target)
            self._file = _FileWriter(target)
            self._member = member
        elif member.is_dir:
            if os.path.islink(target):
                os.unlink(target)
            if not os.path.isdir(target):
                _remove_non_dir(target)
                os.makedirs(target, 0o700, exist_ok=True)
            self._dirs.append((target, member))
        elif member.is_symlink:
            self._symlink(name, rel, target, member.linkname)
            _set_link_mtime(target, member.mtime)
        elif member.is_hardlink:
            self._hardlink(name, target, member.linkname)
        else:
            raise UnsafeArchiveError(name, f"its type {member.type!r} is not supported")
        self._extracted[rel] = None

    def _symlink(self, name: str, rel: str, target: str, linkname: str) -> None:
        if not linkname:
            raise UnsafeArchiveError(name, "it is a symbolic link with an empty target")
        if linkname.startswith("/"):
            raise UnsafeArchiveError(
                name, f"it is a symbolic link to the absolute path {linkname!r}"
            )
        parent_rel = rel.rpartition("/")[0]
        if _normalize(f"{parent_rel}/{linkname}") is None:
            raise UnsafeArchiveError(
                name, f"it is a symbolic link to {linkname!r}, which leads outside the destination"
            )
        parent = os.path.dirname(target)
        if not self._inside(os.path.realpath(os.path.join(parent, linkname))):
            raise UnsafeArchiveError(
                name,
                f"it is a symbolic link to {linkname!r}, which resolves outside the destination",
            )
        os.makedirs(parent, exist_ok=True)
        _remove_non_dir(target)
        os.symlink(linkname, target)
        self._links.append((rel, linkname))

    def _hardlink(self, name: str, target: str, linkname: str) -> None:
        if linkname.startswith("/"):
            raise UnsafeArchiveError(name, f"it is a hard link to the absolute path {linkname!r}")
        source_rel = _normalize(linkname)
        if not source_rel:
            raise UnsafeArchiveError(
                name, f"it is a hard link to {linkname!r}, which is not inside the destination"
            )
        source = os.path.join(self._root, *source_rel.split("/"))
        if not self._inside(os.path.realpath(source)):
            raise UnsafeArchiveError(
                name, f"it is a hard link to {linkname!r}, which resolves outside the destination"
            )
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(source):
            # A second name for a symbolic link: its text is relative to the new place, so
            # check it there rather than link the inode.
            rel = os.path.relpath(target, self._root).replace(os.sep, "/")
            self._symlink(name, rel, target, os.readlink(source))
            return
        _remove_non_dir(target)
        os.link(source, target, follow_symlinks=False)


class _FileWriter:
    """A new regular file being written (never through an existing file or link)."""

    __slots__ = ("_file", "_target")

    def __init__(self, target: str) -> None:
        self._target = target
        self._file = os.fdopen(os.open(target, _NEW_FILE, 0o600), "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def finish(self, member: Member) -> None:
        file = self._file
        try:
            file.flush()
            fd = file.fileno()
            os.chmod(fd, member.mode & 0o777)
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            file.close()

    def close(self) -> None:
        self._file.close()


def _remove_non_dir(target: str) -> None:
    """Make way for a new member: remove a file or link there (a directory stays)."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(target)


def _set_link_mtime(target: str, mtime: float) -> None:
    if os.utime in os.supports_follow_symlinks:
        os.utime(target, (mtime, mtime), follow_symlinks=False)


def _set_dir_attributes(target: str, member: Member) -> None:
    try:
        fd = os.open(target, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
    except OSError:  # replaced by a later member (a link): nothing of ours to adjust
        return
    try:
        os.chmod(fd, member.mode & 0o777)
        os.utime(fd, (member.mtime, member.mtime))
    finally:
        os.close(fd)
