"""Images on every live engine: save/load, tag, inspect, history, import, commit, build, prune,
and errors reported inside progress streams. (Pull/push against the local registry come with
the registry; Docker Hub is unreachable here.)"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator

import pytest

from engineapi import Client, DaemonError, NotFound, StreamError
from engineapi.models import BuildInfo, CreateImageInfo
from tests.conftest import Engine


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    with Client(engine.host) as c:
        yield c


def unique(prefix: str) -> str:
    return f"engineapi-test/{prefix}-{time.time_ns()}"


def context_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_save_and_load_round_trip(client: Client) -> None:
    with client.images.get("busybox") as stream:
        pieces = list(stream)
    data = b"".join(pieces)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert "manifest.json" in tar.getnames()
    messages = client.images.load(iter(pieces)).wait()  # streamed back up, chunked
    assert any("busybox" in (m.stream or "") for m in messages)
    assert all(isinstance(m, BuildInfo) for m in messages)


def test_tag_inspect_history_delete(client: Client) -> None:
    name = unique("tagged")
    client.images.tag("busybox", repo=name, tag="v1")
    inspect = client.images.inspect(f"{name}:v1")
    assert any(tag.endswith(f"{name}:v1") for tag in inspect.repo_tags or [])
    assert inspect.id == client.images.inspect("busybox").id
    history = client.images.history(f"{name}:v1")
    assert history and history[0].id
    deleted = client.images.delete(f"{name}:v1")
    assert any((d.untagged or "").endswith(f"{name}:v1") for d in deleted)
    with pytest.raises(NotFound):
        client.images.inspect(f"{name}:v1")


def test_import_from_a_streamed_tarball(client: Client, engine: Engine) -> None:
    rootfs = context_tar({"hello.txt": b"imported\n"})
    name = unique("imported")
    pieces = [rootfs[i : i + 4096] for i in range(0, len(rootfs), 4096)]
    messages = client.images.import_image(
        iter(pieces), repo=name, tag="1", changes=['LABEL source="engineapi"']
    ).wait()
    assert all(isinstance(m, CreateImageInfo) for m in messages)
    reference = f"{name}:latest" if engine.is_podman else f"{name}:1"  # Podman ignores tag=
    inspect = client.images.inspect(reference)
    assert (inspect.config.labels or {}).get("source") == "engineapi"
    client.images.delete(reference)


def test_commit_a_container(client: Client) -> None:
    cid = client.containers.create(
        {"Image": "busybox", "Cmd": ["sh", "-c", "echo committed > /marker"]}
    ).id
    assert cid
    try:
        client.containers.start(cid)
        client.containers.wait(cid)
        name = unique("committed")
        created = client.images.commit(cid, repo=name, tag="1", comment="by engineapi")
        assert created.id
        result = client.containers.create({"Image": f"{name}:1", "Cmd": ["cat", "/marker"]})
        assert result.id
        client.containers.start(result.id)
        client.containers.wait(result.id)
        assert client.containers.logs(result.id).read() == b"committed\n"
        client.containers.delete(result.id, force=True)
        client.images.delete(f"{name}:1")
    finally:
        client.containers.delete(cid, force=True)


def test_build_with_the_classic_builder(client: Client, engine: Engine) -> None:
    name = unique("built")
    dockerfile = b'FROM busybox\nARG WHO=nobody\nRUN echo "built for $WHO" > /built\nLABEL a=b\n'
    progress = client.images.build(
        context_tar({"Dockerfile": dockerfile}),
        tag=f"{name}:1",
        build_args={"WHO": "engineapi"},
        labels={"built.by": "engineapi"},
    )
    messages = progress.wait()
    text = "".join(m.stream or "" for m in messages)
    assert "Successfully" in text or "COMMIT" in text or messages
    inspect = client.images.inspect(f"{name}:1")
    labels = inspect.config.labels or {}
    assert labels.get("a") == "b" and labels.get("built.by") == "engineapi"
    cid = client.containers.create({"Image": f"{name}:1", "Cmd": ["cat", "/built"]}).id
    assert cid
    client.containers.start(cid)
    client.containers.wait(cid)
    assert client.containers.logs(cid).read() == b"built for engineapi\n"
    client.containers.delete(cid, force=True)
    client.images.delete(f"{name}:1", force=True)


def test_a_failing_build_raises_its_error(client: Client) -> None:
    context = context_tar({"Dockerfile": b"FROM busybox\nRUN exit 42\n"})
    before = {c.id for c in client.containers.list(all=True)}
    with pytest.raises((StreamError, DaemonError)) as info:
        # force_rm: the classic builder otherwise keeps the failed step's container
        client.images.build(context, tag=unique("broken"), force_rm=True).wait()
    assert "42" in str(info.value) or "non-zero" in str(info.value)
    assert {c.id for c in client.containers.list(all=True)} <= before


def test_a_failing_pull_is_a_typed_error(client: Client) -> None:
    # Docker answers 500 at once; Podman starts a progress stream and reports the error in it.
    with pytest.raises((StreamError, DaemonError)) as info:
        client.images.pull("127.0.0.1:1/engineapi/nothing:latest").wait()
    assert "127.0.0.1:1" in str(info.value)


def test_prune_dangling_images(client: Client) -> None:
    report = client.images.prune(filters={"label": ["engineapi.never=set"]})
    assert report.images_deleted in (None, [])


def test_save_delete_load_restores_the_image(client: Client) -> None:
    name = unique("saved")
    client.images.tag("busybox", repo=name, tag="1")
    image_id = client.images.inspect(f"{name}:1").id
    with client.images.get(f"{name}:1") as tar:
        saved = b"".join(tar)
    client.images.delete(f"{name}:1")
    with pytest.raises(NotFound):
        client.images.inspect(f"{name}:1")
    client.images.load(saved).wait()
    assert client.images.inspect(f"{name}:1").id == image_id
    client.images.delete(f"{name}:1")


def test_push_progress_is_aggregated_per_layer(client: Client, engine: Engine) -> None:
    import json
    from pathlib import Path

    from engineapi.streams.progress import ProgressTracker

    if engine.is_podman:
        pytest.skip("Podman is not configured for the plain-HTTP test registries")
    registry = json.loads(Path("/run/engineapi/registry.json").read_text())
    cid = client.containers.create(
        {
            "Image": "busybox",
            "Cmd": ["sh", "-c", f"head -c 300000 /dev/urandom > /layer-{time.time_ns()}"],
        }
    ).id
    assert cid
    try:
        client.containers.start(cid)
        client.containers.wait(cid)
        repo = f"{registry['open']}/engineapi/progress-{time.time_ns()}"
        client.images.commit(cid, repo=repo, tag="1")
        tracker = ProgressTracker()
        for message in client.images.push(repo, tag="1", auth={}):
            tracker.feed(message)
        assert tracker.complete
        assert len(tracker.layers) >= 2  # busybox's layer and the new one
        assert any("digest: sha256:" in m for m in tracker.messages)
        client.images.delete(f"{repo}:1")
    finally:
        client.containers.delete(cid, force=True)


def test_create_imports_with_a_message(client: Client, engine: Engine) -> None:
    # The raw ImageCreate: fromSrc=- with the tar as the body, as `docker import -m` sends it.
    name = unique("created")
    messages = client.images.create(
        from_src="-", body=context_tar({"a.txt": b"1"}), repo=name, tag="7", message="by create"
    ).wait()
    assert (messages[-1].status or "").startswith("sha256:")
    reference = f"{name}:latest" if engine.is_podman else f"{name}:7"  # Podman ignores tag=
    assert [entry.comment for entry in client.images.history(reference)] == ["by create"]
    client.images.delete(reference)


def test_get_all_saves_several_images_in_one_tarball(client: Client, engine: Engine) -> None:
    names = [unique("many-a"), unique("many-b")]
    ids = []
    for index, name in enumerate(names):
        client.images.import_image(context_tar({"which": str(index).encode()}), repo=name).wait()
        ids.append(client.images.inspect(name).id)
    assert ids[0] != ids[1]
    with client.images.get_all(names) as stream:
        saved = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(saved)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    tags = {tag for entry in manifest for tag in entry.get("RepoTags") or []}
    for name in names:
        assert any(tag.endswith(f"{name}:latest") for tag in tags), tags
    for name in names:
        client.images.delete(name)
    client.images.load(saved).wait()
    assert [client.images.inspect(name).id for name in names] == ids
    for name in names:
        client.images.delete(name)


def test_build_prune(client: Client, engine: Engine) -> None:
    if engine.is_podman:  # Podman 4.3's compat API has no /build/prune
        with pytest.raises(NotFound):
            client.images.build_prune()
        return
    # No BuildKit cache can be made here (BuildKit builds need a session), so nothing goes.
    report = client.images.build_prune(all=True, filters={"until": ["1h"]})
    assert report.space_reclaimed == 0
    assert not report.caches_deleted
