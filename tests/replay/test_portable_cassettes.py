"""A cassette recorded on one machine replays on another.

What differs between two machines' runs of the same test: the files' mtimes, owners and umask
(a fresh checkout), the docker configuration and credential helpers of the user. Tar request
bodies match by content; a replaying client reads no configuration of the machine.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest

import engineapi.replay
from engineapi.replay import ISOLATED_ENVIRON, ReplayMismatch
from engineapi.replay._cassette import Request
from engineapi.replay._match import bodies_match, describe_difference
from engineapi.replay._tarlisting import tar_listing
from tests.conftest import Engine


def tar_of(
    files: dict[str, bytes], *, mtime: int = 1_700_000_000, uid: int = 0, mode: int = 0o644
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uid, info.gid, info.mode = (
                len(content),
                mtime,
                uid,
                uid,
                mode,
            )
            info.uname = info.gname = f"user{uid}"
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


FILES = {"Dockerfile": b"FROM busybox\nCOPY a.txt /\n", "a.txt": b"a\n"}


def test_tars_from_another_checkout_match() -> None:
    here = tar_of(FILES)
    elsewhere = tar_of(FILES, mtime=1_800_000_000, uid=1000, mode=0o664)  # umask 002
    assert here != elsewhere
    assert bodies_match(here, elsewhere)


@pytest.mark.parametrize(
    "other",
    [
        tar_of({**FILES, "a.txt": b"b\n"}),  # content
        tar_of({"Dockerfile": FILES["Dockerfile"], "b.txt": b"a\n"}),  # a name
        tar_of(FILES, mode=0o755),  # the executable bit git keeps
        tar_of({"Dockerfile": FILES["Dockerfile"]}),  # a member less
    ],
)
def test_tars_that_say_something_else_do_not_match(other: bytes) -> None:
    assert not bodies_match(tar_of(FILES), other)


def test_a_tar_mismatch_lists_the_members() -> None:
    text = describe_difference(
        Request("POST", "/build", body=tar_of(FILES)),
        Request("POST", "/build", body=tar_of({**FILES, "a.txt": b"b\n"})),
    )
    assert '"name": "a.txt"' in text and '"content": "a\\n"' in text and '"content": "b\\n"' in text


@pytest.mark.parametrize("data", [b"", b"x" * 1024, bytes(1024) + b"x", b"{}" * 300])
def test_what_is_not_a_tar_is_not_listed(data: bytes) -> None:
    assert tar_listing(data) is None


def test_an_empty_archive_lists_nothing() -> None:
    assert tar_listing(bytes(1024)) == []


def test_a_replaying_session_uses_no_configuration_of_the_machine(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        '{"engineapi_cassette": 1, "meta": {"engine": "x", "api_version": "1.51"}, "exchanges": []}'
    )
    session = engineapi.replay.Session(path, "replay")
    with session.client() as client:
        assert client._environ == ISOLATED_ENVIRON


def test_a_build_recorded_here_replays_from_a_fresh_checkout(
    engine: Engine, tmp_path: Path
) -> None:
    """Recorded live, then replayed after the context was checked out anew: other mtimes, group
    write bits of another umask. A changed file is still a mismatch."""
    if engine.is_podman:
        pytest.skip("one Docker engine is enough: the context's bytes are the client's")
    context = tmp_path / "context"
    context.mkdir()
    for name, content in FILES.items():
        (context / name).write_bytes(content)
    cassette = tmp_path / "build.json"
    tag = f"engineapi-test/portable-{engine.name}-{time.time_ns()}:1"
    with engineapi.replay.client(
        cassette, "record", host=engine.host, environ=ISOLATED_ENVIRON
    ) as c:
        c.images.build(context, tag=tag).wait()
        c.images.delete(tag)
    for name in FILES:
        os.utime(context / name, (1_900_000_000, 1_900_000_000))
        os.chmod(context / name, 0o664)
    os.chmod(context, 0o775)
    with engineapi.replay.client(cassette) as c:
        c.images.build(context, tag=tag).wait()
        c.images.delete(tag)
    (context / "a.txt").write_bytes(b"changed\n")
    with pytest.raises(ReplayMismatch, match="a.txt"), engineapi.replay.client(cassette) as c:
        c.images.build(context, tag=tag).wait()
