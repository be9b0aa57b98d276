"""Tar archives as streams: writing from disk, the incremental reader, and safe extraction.

Archives written here are read back with the standard library's `tarfile`, and archives
`tarfile` writes (pax, GNU, ustar, hostile ones) are read and extracted by ours.
"""

from __future__ import annotations

import gzip as gziplib
import io
import os
import resource
import stat
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engineapi.archive.tarball import (
    ArchiveError,
    Content,
    EndOfMember,
    Member,
    TarReader,
    UnsafeArchiveError,
    extract_async_stream,
    extract_stream,
    tar_size,
    tar_stream,
)
from engineapi.errors import EngineAPIError

MTIME = 1_600_000_000

# ---------------------------------------------------------------------------------------------
# Helpers


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """`data` cut after each of the `cuts` byte counts (the rest as the last piece)."""
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(data[start : start + cut])
        start += cut
    pieces.append(data[start:])
    return pieces


def read_events(pieces: Iterable[bytes]) -> list[tuple[Member, bytes]]:
    """The members of an archive and their contents, checking the event order."""
    reader = TarReader()
    members: list[tuple[Member, bytes]] = []
    current: Member | None = None
    content = bytearray()
    for piece in pieces:
        for event in reader.feed(piece):
            if isinstance(event, Member):
                assert current is None, "a member started inside another"
                current = event
            elif isinstance(event, Content):
                assert current is not None and current.is_file
                content += event.data
            else:
                assert isinstance(event, EndOfMember) and current is not None
                assert current.is_file
                members.append((current, bytes(content)))
                current = None
                content.clear()
            if isinstance(event, Member) and not event.is_file:
                members.append((event, b""))
                current = None
    assert reader.end() == []
    assert current is None
    return members


def build_tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for info, data in members:
            if info.isreg():
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def entry(
    name: str, kind: bytes = tarfile.REGTYPE, *, linkname: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    info.mtime = MTIME
    return info


def make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"hello\n")
    (root / "empty").write_bytes(b"")
    (root / "sub" / "big.bin").write_bytes(bytes(range(256)) * 40)
    (root / "sub" / "deeper" / ("n" * 150)).write_bytes(b"long name")
    (root / "sub" / "run.sh").write_bytes(b"#!/bin/sh\n")
    (root / "sub" / "run.sh").chmod(0o755)
    (root / "link").symlink_to("sub/big.bin")
    (root / "sub" / "up").symlink_to("../a.txt")
    (root / "dangling").symlink_to("nowhere")
    for path in [*sorted(root.rglob("*"), key=lambda p: -len(p.parts)), root]:
        os.utime(path, (MTIME, MTIME), follow_symlinks=False)


def snapshot(root: Path) -> dict[str, tuple[str, object, int, int]]:
    """Everything under `root` that an archive carries: kind, content/target, mode, mtime."""
    found: dict[str, tuple[str, object, int, int]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            mode, mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path), 0, mtime)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", None, mode, mtime)
            else:
                found[rel] = ("file", path.read_bytes(), mode, mtime)
    return found


# ---------------------------------------------------------------------------------------------
# tar_stream / tar_size


def test_directory_reads_back_with_tarfile(tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    data = b"".join(tar_stream(tmp_path / "src"))
    assert len(data) == tar_size(tmp_path / "src")
    assert len(data) % 512 == 0 and data.endswith(bytes(1024))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        names = [m.name for m in members]
        assert names == [
            "src",
            "src/a.txt",
            "src/dangling",
            "src/empty",
            "src/link",
            "src/sub",
            "src/sub/big.bin",
            "src/sub/deeper",
            "src/sub/deeper/" + "n" * 150,
            "src/sub/run.sh",
            "src/sub/up",
        ]
        by_name = {m.name: m for m in members}
        assert by_name["src/link"].issym() and by_name["src/link"].linkname == "sub/big.bin"
        assert by_name["src/sub/up"].linkname == "../a.txt"
        assert by_name["src/sub"].isdir()
        assert by_name["src/sub/run.sh"].mode == 0o755
        assert all(m.mtime == MTIME for m in members)
        for member in members:
            if member.isreg():
                extracted = archive.extractfile(member)
                assert extracted is not None
                original = (tmp_path / member.name).read_bytes()
                assert extracted.read() == original


def test_single_file_default_and_explicit_arcname(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(b"x" * 1000)
    for arcname, expected in ((None, "file.txt"), ("renamed/inside.txt", "renamed/inside.txt")):
        data = b"".join(tar_stream(path, arcname=arcname))
        assert len(data) == tar_size(path, arcname=arcname)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            (member,) = archive.getmembers()
            assert member.name == expected and member.size == 1000


def test_empty_arcname_puts_directory_contents_at_the_root(tmp_path: Path) -> None:
    make_tree(tmp_path / "ctx")
    data = b"".join(tar_stream(tmp_path / "ctx", arcname=""))
    assert len(data) == tar_size(tmp_path / "ctx", arcname="")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getnames()[:3] == ["a.txt", "dangling", "empty"]
    with pytest.raises(ValueError):
        list(tar_stream(tmp_path / "ctx" / "a.txt", arcname=""))
    with pytest.raises(ValueError):
        tar_stream(tmp_path / "ctx", arcname="../up")


def test_include_filter_sees_relative_paths_and_keeps_walking_excluded_dirs(tmp_path: Path) -> None:
    make_tree(tmp_path / "ctx")
    seen: list[str] = []

    def include(rel: str) -> bool:
        seen.append(rel)
        return rel != "sub" and not rel.endswith(".bin")

    data = b"".join(tar_stream(tmp_path / "ctx", arcname="", include=include))
    assert len(data) == tar_size(tmp_path / "ctx", arcname="", include=include)
    assert "sub/deeper/" + "n" * 150 in seen and "sub" in seen
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
    assert "sub" not in names and "sub/big.bin" not in names
    assert "sub/run.sh" in names and "link" in names


def test_symlink_given_as_path_is_stored_as_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to("real")
    with tarfile.open(fileobj=io.BytesIO(b"".join(tar_stream(tmp_path / "alias")))) as archive:
        (member,) = archive.getmembers()
    assert member.issym() and member.name == "alias" and member.linkname == "real"


def test_fifo_is_archived_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "d" / "pipe")
    data = b"".join(tar_stream(tmp_path / "d"))
    assert len(data) == tar_size(tmp_path / "d")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getmember("d/pipe").isfifo()


def test_gzip_output_decompresses_to_the_plain_stream(tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    plain = b"".join(tar_stream(tmp_path / "src"))
    packed = b"".join(tar_stream(tmp_path / "src", gzip=True))
    assert gziplib.decompress(packed) == plain
    assert b"".join(tar_stream(tmp_path / "src", gzip=True)) == packed  # deterministic


@pytest.mark.parametrize("chunk_size", [1, 100, 512, 4096, 10_000])
def test_chunk_size_bounds_the_pieces(tmp_path: Path, chunk_size: int) -> None:
    make_tree(tmp_path / "src")
    pieces = list(tar_stream(tmp_path / "src", chunk_size=chunk_size))
    assert b"".join(pieces) == b"".join(tar_stream(tmp_path / "src"))
    # A piece is at most one chunk plus one header (and padding) appended to a partial one.
    assert max(len(p) for p in pieces) <= chunk_size + 4 * 512
    with pytest.raises(ValueError):
        tar_stream(tmp_path / "src", chunk_size=0)


def test_missing_path_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        tar_stream(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        tar_size(tmp_path / "nope")


def test_file_that_shrinks_while_archived_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"z" * 20_000)
    stream = tar_stream(path, chunk_size=1024)
    next(stream)
    os.truncate(path, 3000)
    with pytest.raises(ArchiveError, match="shrank"):
        list(stream)


def test_file_that_grows_while_archived_is_cut_at_its_announced_size(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"z" * 2000)
    stream = tar_stream(path, chunk_size=1024)
    first = next(stream)
    with path.open("ab") as file:
        file.write(b"more" * 1000)
    data = first + b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getmembers()[0].size == 2000


def test_memory_stays_flat_on_a_large_file(tmp_path: Path) -> None:
    """200 MB through tar_stream and TarReader: peak RSS may not grow by 50 MB.

    The file is sparse (``os.truncate``), so creating and reading it is quick."""
    path = tmp_path / "big.img"
    size = 200 * 1024 * 1024
    with path.open("wb"):
        pass
    os.truncate(path, size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    reader = TarReader()
    total = content = 0
    for piece in tar_stream(path):
        total += len(piece)
        for event in reader.feed(piece):
            if isinstance(event, Content):
                content += len(event.data)
    reader.end()
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert total == tar_size(path)
    assert content == size
    assert growth_mb < 50, f"peak RSS grew by {growth_mb:.0f} MB"


# ---------------------------------------------------------------------------------------------
# Random trees: tar_stream → tarfile, TarReader and extract_stream

NAME = st.text("abcxyzABC019_-.", min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))
LONG_NAME = st.integers(min_value=101, max_value=200).map(lambda n: ("L" * n)[:n])
ENTRY = st.tuples(
    st.lists(st.one_of(NAME, NAME, NAME, LONG_NAME), min_size=1, max_size=3),
    st.sampled_from(["file", "file", "dir", "link"]),
    st.binary(max_size=1500) | st.just(b""),
    st.sampled_from([0o644, 0o600, 0o755, 0o640]),
    st.integers(min_value=0, max_value=2**31),
    st.integers(min_value=0, max_value=1000),
)


def build_random_tree(
    root: Path, entries: list[tuple[list[str], str, bytes, int, int, int]]
) -> None:
    root.mkdir()
    made: list[Path] = []
    times: dict[Path, int] = {}
    for parts, kind, data, mode, mtime, pick in entries:
        path = root.joinpath(*parts)
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            continue
        if os.path.lexists(path) or not parent.resolve().is_relative_to(root.resolve()):
            continue
        if kind == "file":
            path.write_bytes(data)
            path.chmod(mode)
        elif kind == "dir":
            path.mkdir()
            path.chmod(0o755 if mode & 0o100 else 0o700)
        else:
            if not made:
                continue
            target = made[pick % len(made)]
            path.symlink_to(os.path.relpath(target, parent))
        made.append(path)
        times[path] = mtime
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        when = times.get(path, MTIME)
        os.utime(path, (when, when), follow_symlinks=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(ENTRY, max_size=12),
    st.lists(st.integers(min_value=1, max_value=3000), max_size=15),
    st.sampled_from([1, 700, 4096, 256 * 1024]),
)
def test_random_trees_round_trip(
    entries: list[tuple[list[str], str, bytes, int, int, int]], cuts: list[int], chunk_size: int
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch, "src")
        build_random_tree(source, entries)
        data = b"".join(tar_stream(source, arcname="", chunk_size=chunk_size))
        assert len(data) == tar_size(source, arcname="")

        # The standard library reads the same members we do.
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            expected = []
            for info in archive.getmembers():
                extracted = archive.extractfile(info) if info.isreg() else None
                body = extracted.read() if extracted is not None else b""
                expected.append((info.name, info.type, info.size, info.linkname, info.mode, body))
        ours = [
            (m.name, m.type, m.size, m.linkname, m.mode, body)
            for m, body in read_events(split(data, cuts))
        ]
        assert ours == expected

        # Extracted from randomly split pieces, the tree is the same.
        dest = Path(scratch, "dest")
        extracted_names = extract_stream(split(data, cuts), dest)
        assert extracted_names == [name for name, *_ in expected]
        assert snapshot(dest) == snapshot(source)


def test_fixed_tree_round_trip_and_attributes(tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    (tmp_path / "src" / "sub").chmod(0o750)
    os.utime(tmp_path / "src" / "sub", (MTIME, MTIME))
    names = extract_stream(tar_stream(tmp_path / "src", chunk_size=333), tmp_path / "out")
    assert names[0] == "src" and "src/sub/deeper/" + "n" * 150 in names
    assert snapshot(tmp_path / "out" / "src") == snapshot(tmp_path / "src")
    assert stat.S_IMODE((tmp_path / "out" / "src" / "sub").stat().st_mode) == 0o750


async def test_async_twin_extracts_the_same(tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    data = b"".join(tar_stream(tmp_path / "src"))

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    names = await extract_async_stream(pieces(), tmp_path / "out")
    assert names == extract_stream([data], tmp_path / "out2")
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "out2")
    assert snapshot(tmp_path / "out" / "src") == snapshot(tmp_path / "src")


async def test_async_twin_refuses_the_same(tmp_path: Path) -> None:
    data = build_tar([(entry("../evil"), b"x")])

    async def pieces() -> AsyncIterator[bytes]:
        yield data

    with pytest.raises(UnsafeArchiveError):
        await extract_async_stream(pieces(), tmp_path / "out")


# ---------------------------------------------------------------------------------------------
# TarReader on archives others write


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=700), max_size=20))
def test_reader_on_tarfile_archives_split_anywhere(fmt: int, cuts: list[int]) -> None:
    long_dir = "d" * 60 + "/" + "e" * 60  # fits ustar's prefix field
    members = [
        (entry("plain.txt"), b"plain"),
        (entry(long_dir, tarfile.DIRTYPE, mode=0o755), b""),
        (entry(long_dir + "/file"), b"in a long directory" * 50),
        (entry("empty"), b""),
        (entry("ln", tarfile.SYMTYPE, linkname="plain.txt"), b""),
        (entry("hard", tarfile.LNKTYPE, linkname="plain.txt"), b""),
    ]
    if fmt != tarfile.USTAR_FORMAT:  # ustar cannot hold these
        members += [
            (entry("x" * 180), b"long name"),
            (entry("sym", tarfile.SYMTYPE, linkname="t" * 150), b""),
            (entry("snowman-\u2603.txt"), b"unicode name"),
        ]
    data = build_tar(members, fmt)
    got = read_events(split(data, cuts))
    assert [(m.name, m.type, m.linkname, body) for m, body in got] == [
        (info.name, info.type, info.linkname, body) for info, body in members
    ]
    assert all(m.mtime == MTIME for m, _ in got)


def test_reader_applies_pax_global_and_local_records() -> None:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"uname": "global"}
    ) as archive:
        info = entry("a")
        info.pax_headers = {"comment": "hi", "mtime": "1600000000.5"}
        info.size = 3
        archive.addfile(info, io.BytesIO(b"abc"))
        archive.addfile(entry("b", tarfile.DIRTYPE))
    (first, body), (second, _) = read_events([buffer.getvalue()])
    assert body == b"abc"
    assert first.pax_headers["comment"] == "hi" and first.mtime == 1600000000.5
    assert first.uname == second.uname == "global"
    assert "comment" not in second.pax_headers


def test_reader_takes_the_size_from_a_pax_record() -> None:
    # As tar writers do for files over 8 GiB: the header's size field is 0, pax has the size.
    info = entry("big")
    info.size = 5
    header = info.tobuf(tarfile.PAX_FORMAT)
    pax = entry("././@PaxHeader", tarfile.XHDTYPE)
    record = b"10 size=5\n"
    pax.size = len(record)
    zero_size = entry("big")
    archive = (
        pax.tobuf(tarfile.USTAR_FORMAT)
        + record.ljust(512, b"\0")
        + zero_size.tobuf(tarfile.USTAR_FORMAT)
        + b"hello".ljust(512, b"\0")
        + bytes(1024)
    )
    assert len(header) == 512
    [(member, body)] = read_events([archive])
    assert member.size == 5 and body == b"hello"


def test_reader_v7_directory_with_trailing_slash() -> None:
    info = entry("olddir/", tarfile.AREGTYPE)
    [(member, _)] = read_events([info.tobuf(tarfile.USTAR_FORMAT) + bytes(1024)])
    assert member.is_dir and member.name == "olddir"


def test_reader_ignores_everything_after_the_end_marker() -> None:
    data = build_tar([(entry("a"), b"1")]) + b"garbage that is not tar" * 100
    reader = TarReader()
    events = reader.feed(data)
    assert reader.finished
    assert [type(e) for e in events] == [Member, Content, EndOfMember]
    assert reader.feed(b"more garbage") == []
    assert reader.end() == []


def test_reader_accepts_a_missing_end_marker_but_not_a_cut_member() -> None:
    data = build_tar([(entry("a"), b"x" * 600)])
    without_marker = data[: 512 + 1024]
    assert [m.name for m, _ in read_events([without_marker])] == ["a"]
    for cut in (100, 512 + 10, 512 + 1023):
        reader = TarReader()
        reader.feed(data[:cut])
        with pytest.raises(ArchiveError, match="ended in the middle"):
            reader.end()
    assert TarReader().end() == []  # an empty body is an empty archive


def test_reader_refuses_a_bad_checksum() -> None:
    data = bytearray(build_tar([(entry("a"), b"x")]))
    data[0] ^= 0x01
    with pytest.raises(ArchiveError, match="malformed tar header at byte 0"):
        TarReader().feed(bytes(data))


def test_reader_refuses_an_oversized_extended_header() -> None:
    data = build_tar([(entry("p" * 5000), b"x")])
    with pytest.raises(ArchiveError, match="extended tar header"):
        TarReader(max_extended_size=1000).feed(data)
    assert read_events([data])[0][0].name == "p" * 5000


def test_reader_refuses_malformed_pax_records() -> None:
    for record in (b"99 path=x\n", b"x path=y\n", b"8 pathx\n", b"5 a=bc"):
        pax = entry("././@PaxHeader", tarfile.XHDTYPE)
        pax.size = len(record)
        data = pax.tobuf(tarfile.USTAR_FORMAT) + record.ljust(512, b"\0") + bytes(1024)
        with pytest.raises(ArchiveError, match="pax"):
            TarReader().feed(data)


def test_reader_refuses_gnu_sparse_members() -> None:
    info = entry("sparse", tarfile.GNUTYPE_SPARSE)
    with pytest.raises(ArchiveError, match="sparse"):
        TarReader().feed(info.tobuf(tarfile.GNU_FORMAT))


# ---------------------------------------------------------------------------------------------
# extract_stream: what it writes


def test_extraction_keeps_modes_drops_setuid_and_sets_mtimes(tmp_path: Path) -> None:
    data = build_tar(
        [
            (entry("ro", tarfile.DIRTYPE, mode=0o555), b""),
            (entry("ro/f", mode=0o4755), b"suid"),
            (entry("plain", mode=0o600), b"p"),
        ]
    )
    assert extract_stream([data], tmp_path) == ["ro", "ro/f", "plain"]
    assert stat.S_IMODE((tmp_path / "ro").stat().st_mode) == 0o555
    assert stat.S_IMODE((tmp_path / "ro" / "f").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o600
    assert int((tmp_path / "ro" / "f").stat().st_mtime) == MTIME
    assert int((tmp_path / "ro").stat().st_mtime) == MTIME
    (tmp_path / "ro").chmod(0o755)


def test_extraction_creates_missing_parents_and_skips_the_root_entry(tmp_path: Path) -> None:
    data = build_tar([(entry("./", tarfile.DIRTYPE), b""), (entry("./a/b/c.txt"), b"deep")])
    assert extract_stream([data], tmp_path / "new") == ["a/b/c.txt"]
    assert (tmp_path / "new" / "a" / "b" / "c.txt").read_bytes() == b"deep"


def test_dot_dot_that_stays_inside_is_fine(tmp_path: Path) -> None:
    data = build_tar([(entry("a/../b"), b"ok")])
    assert extract_stream([data], tmp_path) == ["b"]
    assert (tmp_path / "b").read_bytes() == b"ok"


def test_hard_links_share_the_inode(tmp_path: Path) -> None:
    data = build_tar([(entry("f"), b"data"), (entry("g", tarfile.LNKTYPE, linkname="f"), b"")])
    extract_stream([data], tmp_path)
    assert (tmp_path / "g").read_bytes() == b"data"
    assert (tmp_path / "g").stat().st_ino == (tmp_path / "f").stat().st_ino


def test_later_members_replace_earlier_ones_without_writing_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "f").symlink_to(outside)  # already there, pointing out
    (dest / "g").symlink_to(outside)
    (dest / "h").symlink_to(outside)
    data = build_tar(
        [
            (entry("f"), b"new content"),
            (entry("g", tarfile.SYMTYPE, linkname="f"), b""),
            (entry("h", tarfile.DIRTYPE), b""),
            (entry("i"), b"first"),
            (entry("i"), b"second"),
        ]
    )
    assert extract_stream([data], dest) == ["f", "g", "h", "i"]
    assert outside.read_bytes() == b"precious"
    assert not (dest / "f").is_symlink() and (dest / "f").read_bytes() == b"new content"
    assert os.readlink(dest / "g") == "f"
    assert (dest / "h").is_dir() and not (dest / "h").is_symlink()
    assert (dest / "i").read_bytes() == b"second"


def test_hard_link_to_a_symlink_is_rechecked_at_its_new_place(tmp_path: Path) -> None:
    ok = build_tar(
        [
            (entry("a", tarfile.DIRTYPE), b""),
            (entry("a/l", tarfile.SYMTYPE, linkname="../x"), b""),
            (entry("a/l2", tarfile.LNKTYPE, linkname="a/l"), b""),
        ]
    )
    extract_stream([ok], tmp_path / "ok")
    assert os.readlink(tmp_path / "ok" / "a" / "l2") == "../x"
    bad = build_tar(
        [
            (entry("a", tarfile.DIRTYPE), b""),
            (entry("a/l", tarfile.SYMTYPE, linkname="../x"), b""),
            (entry("l2", tarfile.LNKTYPE, linkname="a/l"), b""),
        ]
    )
    with pytest.raises(UnsafeArchiveError, match="'l2'"):
        extract_stream([bad], tmp_path / "bad")


# ---------------------------------------------------------------------------------------------
# extract_stream: what it refuses

REFUSED = {
    "absolute name": ([(entry("/etc/evil"), b"x")], "/etc/evil", "absolute path"),
    "dot-dot name": ([(entry("../evil"), b"x")], "../evil", "'..'"),
    "dot-dot deeper": ([(entry("a/b/../../../evil"), b"x")], "a/b/../../../evil", "'..'"),
    "symlink absolute": (
        [(entry("l", tarfile.SYMTYPE, linkname="/etc/passwd"), b"")],
        "l",
        "absolute path",
    ),
    "symlink dot-dot": (
        [(entry("a/l", tarfile.SYMTYPE, linkname="../../etc"), b"")],
        "a/l",
        "leads outside",
    ),
    "symlink empty": ([(entry("l", tarfile.SYMTYPE, linkname=""), b"")], "l", "empty"),
    "symlink through another": (
        [
            (entry("b", tarfile.SYMTYPE, linkname="."), b""),
            (entry("a", tarfile.SYMTYPE, linkname="b/../x"), b""),
        ],
        "a",
        "resolves outside",
    ),
    "hardlink absolute": (
        [(entry("h", tarfile.LNKTYPE, linkname="/etc/passwd"), b"")],
        "h",
        "absolute path",
    ),
    "hardlink dot-dot": (
        [(entry("h", tarfile.LNKTYPE, linkname="../outside"), b"")],
        "h",
        "not inside",
    ),
    "hardlink to the root": ([(entry("h", tarfile.LNKTYPE, linkname="."), b"")], "h", "not inside"),
    "character device": ([(entry("tty", tarfile.CHRTYPE), b"")], "tty", "character device"),
    "block device": ([(entry("sda", tarfile.BLKTYPE), b"")], "sda", "block device"),
    "fifo": ([(entry("pipe", tarfile.FIFOTYPE), b"")], "pipe", "fifo"),
    "write through a link made to point out later": (
        [
            (entry("a", tarfile.SYMTYPE, linkname="b/c/../.."), b""),
            (entry("b", tarfile.SYMTYPE, linkname="."), b""),
            (entry("a/evil"), b"x"),
        ],
        "a/evil",
        "through a symbolic link",
    ),
    "link made to point out later": (
        [
            (entry("a", tarfile.SYMTYPE, linkname="b/c/../.."), b""),
            (entry("b", tarfile.SYMTYPE, linkname="."), b""),
        ],
        "a",
        "leads outside",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals(tmp_path: Path, case: str) -> None:
    members, name, reason = REFUSED[case]
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(UnsafeArchiveError, match=reason) as caught:
        extract_stream([build_tar(members)], dest)
    assert caught.value.member == name
    assert repr(name) in str(caught.value)
    assert isinstance(caught.value, EngineAPIError)
    # Nothing was written above dest.
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["dest"]
    assert not (tmp_path / "x").exists() and not (tmp_path / "deep" / "x").exists()
    assert not (tmp_path / "deep" / "evil").exists()


def test_refuses_writing_through_an_existing_link_out_of_dest(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "out").symlink_to(outside)
    for members, name in (
        ([(entry("out/evil"), b"x")], "out/evil"),
        ([(entry("out/sub", tarfile.DIRTYPE), b"")], "out/sub"),
        ([(entry("out/l", tarfile.SYMTYPE, linkname="secret"), b"")], "out/l"),
        ([(entry("h", tarfile.LNKTYPE, linkname="out/secret"), b"")], "h"),
    ):
        with pytest.raises(UnsafeArchiveError) as caught:
            extract_stream([build_tar(members)], dest)
        assert caught.value.member == name
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]


def test_refuses_a_nul_in_a_pax_name(tmp_path: Path) -> None:
    info = entry("a")
    info.pax_headers = {"path": "a\0b"}
    with pytest.raises(UnsafeArchiveError, match="NUL"):
        extract_stream([build_tar([(info, b"x")])], tmp_path)


def test_malformed_stream_is_an_archive_error_and_closes_the_file(tmp_path: Path) -> None:
    data = build_tar([(entry("a"), b"x" * 5000)])
    with pytest.raises(ArchiveError, match="ended in the middle"):
        extract_stream([data[:3000]], tmp_path)
    assert (tmp_path / "a").stat().st_size == 3000 - 512


# -- links re-pointed by later members (found by the fuzzer) --------------------------------------


def escaping_links(root: Path) -> list[str]:
    """Every symbolic link under `root` that resolves outside it."""
    real_root = os.path.realpath(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                real = os.path.realpath(path)
                if real != real_root and not real.startswith(real_root + os.sep):
                    found.append(os.path.relpath(path, root))
    return found


REPOINTING = [
    (entry("sub", tarfile.DIRTYPE, mode=0o755), b""),
    (entry("sub/y", tarfile.SYMTYPE, linkname="."), b""),
    (entry("x", tarfile.SYMTYPE, linkname="sub/y/.."), b""),  # dest itself: fine so far
    (entry("sub/y", tarfile.SYMTYPE, linkname=".."), b""),  # dest too, but x now climbs out
]


def test_a_link_re_pointed_by_a_later_one_is_removed(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match="outside the destination once later"):
        extract_stream([build_tar(REPOINTING)], dest)
    assert escaping_links(dest) == []


@pytest.mark.parametrize("ending", ["refused member", "cut off"])
def test_no_escaping_link_is_left_when_extraction_fails(tmp_path: Path, ending: str) -> None:
    """Nothing was re-checked when a later member was refused or the stream was cut."""
    members = [*REPOINTING]
    if ending == "refused member":
        members.append((entry("../evil"), b"x"))
        data = build_tar(members)
    else:
        members.append((entry("big"), b"x" * 4096))
        data = build_tar(members)
        data = data[: data.index(b"x" * 4096) + 1000]  # inside the last member's content
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveError):
        extract_stream([data], dest)
    assert escaping_links(dest) == []


def test_every_escaping_link_is_removed_not_only_the_first(tmp_path: Path) -> None:
    members = [
        (entry("sub", tarfile.DIRTYPE, mode=0o755), b""),
        (entry("sub/y", tarfile.SYMTYPE, linkname="."), b""),
        (entry("a", tarfile.SYMTYPE, linkname="sub/y/.."), b""),
        (entry("b", tarfile.SYMTYPE, linkname="sub/y/.."), b""),
        (entry("c", tarfile.SYMTYPE, linkname="sub/y/../sub"), b""),
        (entry("sub/y", tarfile.SYMTYPE, linkname=".."), b""),
    ]
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match="link"):
        extract_stream([build_tar(members)], dest)
    assert escaping_links(dest) == []


def test_a_member_the_filesystem_refuses_is_an_archive_error(tmp_path: Path) -> None:
    """A name longer than the filesystem allows: not a bare OSError."""
    long_name = "n" * 300
    with pytest.raises(ArchiveError, match="cannot extract"):
        extract_stream([build_tar([(entry(long_name), b"x")])], tmp_path / "dest")


def test_many_pax_headers_in_a_row_are_bounded_together() -> None:
    """300 local headers of 1 MiB before one member were all kept (298 MiB)."""

    def pax_block(key: str, value_size: int) -> bytes:
        record_body = f" {key}=".encode() + b"c" * value_size + b"\n"
        length = len(record_body)
        length += len(str(length + len(str(length))))
        record = str(length).encode() + record_body
        header = tarfile.TarInfo("././@PaxHeader")
        header.type = tarfile.XHDTYPE
        header.size = len(record)
        return header.tobuf(tarfile.USTAR_FORMAT) + record + b"\0" * (-len(record) % 512)

    blocks = b"".join(pax_block(f"engineapi.k{i}", 400 * 1024) for i in range(4))
    data = blocks + build_tar([(entry("f"), b"x")])
    reader = TarReader(max_extended_size=1024 * 1024)
    with pytest.raises(ArchiveError, match="pax headers .* more than 1048576 bytes together"):
        reader.feed(data)
