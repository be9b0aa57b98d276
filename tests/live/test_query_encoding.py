"""List-valued and engine-specific query parameters, as each live engine really reads them:
build extra hosts (the key repeated on Docker, one JSON array on Podman), the new build
options, remote build contexts fetched by the daemon, JSON-encoded OCI platforms, repeated
``changes`` and ``type``, ``extra_query=`` and version gating before anything is sent."""

from __future__ import annotations

import functools
import http.server
import io
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import APIVersionError, Client, DaemonError, StreamError
from engineapi._apiversion import version_key
from engineapi.models import BuildInfo
from tests.conftest import Engine


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    with Client(engine.host) as c:
        yield c


def context_tar(dockerfile: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    return buffer.getvalue()


def output(messages: list[BuildInfo]) -> str:
    return "".join(m.stream or "" for m in messages)


def built_id(messages: list[BuildInfo]) -> str:
    ids = [m.aux.id for m in messages if m.aux is not None and m.aux.id]
    if ids:
        return ids[-1]
    return output(messages).strip().splitlines()[-1].strip()  # quiet: the ID alone


def test_build_with_two_extra_hosts_and_resource_options(client: Client, engine: Engine) -> None:
    ulimits = (  # not a keyword: passed with extra_query, in each engine's own form
        '["nofile=1024:2048"]'
        if engine.is_podman
        else json.dumps([{"Name": "nofile", "Soft": 1024, "Hard": 2048}])
    )
    dockerfile = (
        b"FROM busybox:latest\n"
        b"RUN grep -x '127.0.0.1\ta.test' /etc/hosts && grep -x '127.0.0.2\tb.test' /etc/hosts"
        b" && df -k /dev/shm | grep -q ' 131072 ' && test \"$(ulimit -n)\" = 1024"
        b" && echo all-checked\n"
    )
    messages = client.images.build(
        context_tar(dockerfile),
        extra_hosts=["a.test:127.0.0.1", "b.test:127.0.0.2"],
        shm_size=128 * 1024 * 1024,
        memory=256 * 1024 * 1024,
        memory_swap=512 * 1024 * 1024,
        cpu_shares=512,
        cpuset_cpus="0",
        cpu_period=100_000,
        cpu_quota=50_000,
        cache_from=["busybox:latest"],
        no_cache=True,
        force_rm=True,
        extra_query={"ulimits": ulimits},
    ).wait()
    assert "all-checked" in output(messages)
    client.images.delete(built_id(messages), force=True)


def test_quiet_build_streams_only_the_image_id(client: Client) -> None:
    messages = client.images.build(
        context_tar(b"FROM busybox:latest\nRUN echo not-shown\n"), quiet=True, no_cache=True
    ).wait()
    text = output(messages)
    assert "not-shown" not in text and "Step" not in text and "STEP" not in text
    client.images.delete(built_id(messages), force=True)


@pytest.fixture
def dockerfile_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server with a Dockerfile at /Dockerfile; the paths it was asked for."""
    (tmp_path / "Dockerfile").write_bytes(b"FROM busybox:latest\nRUN echo fetched-from-a-url\n")
    asked: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            asked.append(self.path)

    handler = functools.partial(Handler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/Dockerfile", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_build_from_a_dockerfile_url(
    client: Client, engine: Engine, dockerfile_server: tuple[str, list[str]]
) -> None:
    url, asked = dockerfile_server
    if engine.is_podman:
        # Podman 4.3's compat API ignores remote=: it builds the (empty) body instead.
        with pytest.raises(StreamError, match="Dockerfile"):
            client.images.build(remote=url).wait()
        return
    for build in (lambda: client.images.build(url), lambda: client.images.build(remote=url)):
        messages = build().wait()
        assert "fetched-from-a-url" in output(messages)
        client.images.delete(built_id(messages), force=True)
    assert asked == ["/Dockerfile", "/Dockerfile"]  # the daemon fetched it, twice


def test_remote_build_of_an_unreachable_url_shows_the_daemon_tried_it(
    client: Client, engine: Engine
) -> None:
    if engine.is_podman:
        pytest.skip("Podman 4.3's compat API ignores remote=")
    url = "http://127.0.0.1:9/engineapi-nothing-here.tar"  # the discard port: refused
    with pytest.raises((StreamError, DaemonError)) as raised:
        client.images.build(url).wait()
    assert "127.0.0.1:9" in str(raised.value)


def test_platforms_are_sent_as_json_oci_platforms(client: Client, engine: Engine) -> None:
    platform = client.images.inspect("busybox").architecture or "amd64"
    here = f"linux/{platform}"
    if version_key(client.api_version()) < (1, 49):  # both engines here are 1.41 or 1.51
        with pytest.raises(APIVersionError):
            client.images.inspect("busybox", platform=here)
        with pytest.raises(APIVersionError), client.images.get("busybox", platform=here) as tar:
            b"".join(tar)  # a stream: sent when read
        return
    assert client.images.inspect("busybox", platform=here).id
    assert client.images.history("busybox", platform={"os": "linux", "architecture": platform})
    with client.images.get("busybox", platform=here) as tar:
        assert b"".join(tar)
    name = f"engineapi-test/platforms-{time.time_ns()}"
    client.images.tag("busybox", repo=name, tag="x")
    deleted = client.images.delete(f"{name}:x", platforms=[here])
    assert any((d.untagged or "").endswith(f"{name}:x") for d in deleted)


def test_import_changes_are_repeated_not_joined(client: Client, engine: Engine) -> None:
    rootfs = context_tar(b"")  # any tar will do as a root filesystem
    name = f"engineapi-test/changes-{time.time_ns()}"
    client.images.import_image(
        rootfs, repo=name, tag="1", changes=["ENV A=1,2", 'LABEL b="x,y"']
    ).wait()
    reference = f"{name}:latest" if engine.is_podman else f"{name}:1"  # Podman ignores tag=
    config = client.images.inspect(reference).config
    assert "A=1,2" in (config.env or [])
    assert (config.labels or {}).get("b") == "x,y"
    client.images.delete(reference)


def test_data_usage_types_are_repeated(client: Client, engine: Engine) -> None:
    if engine.is_podman or version_key(client.api_version()) < (1, 42):
        with pytest.raises(APIVersionError):
            client.system.data_usage(type=["image", "volume"])
        return
    usage = client.system.data_usage(type=["image", "volume"])
    assert usage.images is not None and usage.volumes is not None
    assert usage.containers is None and usage.build_cache is None


def test_build_prune_space_options_need_api_1_48(client: Client) -> None:
    if version_key(client.api_version()) >= (1, 48):
        # All three at once; with a terabyte kept, nothing the other tests built goes.
        report = client.images.build_prune(
            reserved_space=1 << 40, max_used_space=1 << 41, min_free_space=1
        )
        assert report.space_reclaimed is not None and report.space_reclaimed >= 0
        return
    for option in ("reserved_space", "max_used_space", "min_free_space"):
        with pytest.raises(APIVersionError, match=option.replace("_", "-")):
            client.images.build_prune(**{option: 1 << 30})  # type: ignore[arg-type]


def test_extra_query_reaches_the_daemon(client: Client) -> None:
    # `limit` is ContainerList's own: extra_query refuses to send it twice.
    with pytest.raises(ValueError, match="limit"):
        client.containers.list(extra_query={"limit": 1})
    # One the specs do not know is sent: the build test above passes `ulimits` this way,
    # and the daemon applies it.
