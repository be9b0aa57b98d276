"""Issue #16, peer parity: the natural call works, typed — on every live engine.

exec start without repeating ``tty``, one type for Dockerfile ``changes`` (commit and import),
``containers.port`` against ``docker port``, a ready ``ssl.SSLContext`` for TLS, and telling an
explicit null from an absent key.
"""

from __future__ import annotations

import asyncio
import io
import ssl
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engineapi import AsyncClient, Client, ConfigError, ConnectError, TLSConfig
from tests.conftest import Engine


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    with Client(engine.host) as c:
        yield c


SAY = ["sh", "-c", "echo out; echo err >&2"]


@pytest.mark.parametrize("tty", [True, False])
def test_exec_start_learns_the_tty_of_the_exec(
    client: Client, busybox_container: str, tty: bool
) -> None:
    # Only `create` is told about the TTY: start finds it out (an inspect of the exec).
    created = client.exec.create(
        busybox_container, {"Cmd": SAY, "AttachStdout": True, "AttachStderr": True, "Tty": tty}
    )
    with client.exec.start(created.id) as started:
        assert started.multiplexed is (not tty)
        out, err = started.read_split()
    if tty:  # one terminal: both streams in stdout, with the terminal's CRLF
        assert (out, err) == (b"out\r\nerr\r\n", b"")
    else:
        assert (out, err) == (b"out\n", b"err\n")


def test_exec_start_takes_the_inspected_exec(client: Client, busybox_container: str) -> None:
    created = client.exec.create(
        busybox_container, {"Cmd": SAY, "AttachStdout": True, "AttachStderr": True, "Tty": True}
    )
    inspected = client.exec.inspect(created.id)
    with client.exec.start(inspected) as started:  # its process_config.tty: no extra request
        assert started.multiplexed is False
        assert started.read_split() == (b"out\r\nerr\r\n", b"")


def test_async_exec_start_learns_the_tty(engine: Engine, busybox_container: str) -> None:
    async def main() -> tuple[bytes, bytes]:
        async with AsyncClient(engine.host) as client:
            created = await client.exec.create(
                busybox_container,
                {"Cmd": SAY, "AttachStdout": True, "AttachStderr": True, "Tty": True},
            )
            async with client.exec.start(created.id) as started:
                return await started.read_split()

    assert asyncio.run(main()) == (b"out\r\nerr\r\n", b"")


def test_port_gives_what_docker_port_prints(client: Client, engine: Engine) -> None:
    cid = client.containers.run_detached(
        "busybox",
        ["sleep", "300"],
        ports={"80/tcp": None, "81/udp": ("127.0.0.1", None), "82": None},
        config={"ExposedPorts": {"90/tcp": {}}},  # exposed, not published: no line
        labels={"engineapi.test": "1"},
    )
    try:
        everything = client.containers.port(cid)
        assert [str(m) for m in everything] == engine.docker("port", cid).splitlines()
        assert {m.private_port for m in everything} == {"80/tcp", "81/udp", "82/tcp"}
        for asked, cli in (("80", "80"), ("81/udp", "81/udp"), (82, "82/tcp")):
            mappings = client.containers.port(cid, asked)
            assert [m.host for m in mappings] == engine.docker("port", cid, cli).splitlines()
            assert mappings and all(m.host_port > 0 for m in mappings)
        assert [m.host_ip for m in client.containers.port(cid, "81/udp")] == ["127.0.0.1"]
        assert client.containers.port(cid, 90) == []  # the CLI: "No public port '90' published"
        assert engine.docker("port", cid, "90", check=False) == ""
    finally:
        client.containers.delete(cid, force=True)


def test_is_null_and_has_key_match_the_raw_reply(client: Client) -> None:
    from engineapi.api._call import Call
    from engineapi.models import field_info, has_key, is_null

    cid = client.containers.create({"Image": "busybox", "Labels": {"engineapi.test": "1"}}).id
    try:
        raw = client.send(Call("ContainerInspect", cid, decode=lambda r: r.json()))
        inspected = client.containers.inspect(cid)
        nulls = 0
        for model, sent in (
            (inspected.config, raw["Config"]),
            (inspected.host_config, raw["HostConfig"]),
        ):
            assert model is not None
            for attr, info in field_info(type(model)).items():
                assert has_key(model, attr) is (info.wire in sent), info.wire
                null = info.wire in sent and sent[info.wire] is None
                assert is_null(model, attr) is null, info.wire
                nulls += null
        assert nulls  # every engine sends some (Config.OnBuild, HostConfig.Links, …)
        assert raw["Config"]["OnBuild"] is None and is_null(inspected.config, "on_build")
    finally:
        client.containers.delete(cid, force=True)


CHANGES = ["ENV MODE=prod", "LABEL team=a", 'CMD ["sh", "-c", "echo hi"]']


def _image_facts(client: Client, image: str) -> tuple[list[str], dict[str, str], list[str]]:
    config = client.images.inspect(image).config
    assert config is not None
    env = [e for e in config.env or [] if e.startswith("MODE=")]
    labels = {k: v for k, v in (config.labels or {}).items() if k == "team"}
    return env, labels, list(config.cmd or [])


EXPECTED = (["MODE=prod"], {"team": "a"}, ["sh", "-c", "echo hi"])


def test_commit_changes_as_a_list_or_a_string_as_docker_commit_c(
    client: Client, engine: Engine
) -> None:
    cid = client.containers.create({"Image": "busybox", "Labels": {"engineapi.test": "1"}}).id
    made = []
    try:
        # Podman 4.3 refuses the docker CLI's commit (it sends no body: "Decode(): EOF").
        if not engine.is_podman:
            cli = engine.docker("commit", *(a for c in CHANGES for a in ("-c", c)), cid).strip()
            made.append(cli)
            assert _image_facts(client, cli) == EXPECTED
        for changes in (CHANGES, "\n".join(CHANGES), tuple(CHANGES)):
            image = client.images.commit(cid, changes=changes).id
            assert image
            made.append(image)
            assert _image_facts(client, image) == EXPECTED
        one = client.containers.commit(cid, changes="ENV MODE=prod").id  # the same call
        assert one
        made.append(one)
        assert _image_facts(client, one)[0] == ["MODE=prod"]
    finally:
        client.containers.delete(cid, force=True)
        for image in made:
            client.images.delete(image, force=True)


def _rootfs() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    return buffer.getvalue()


def test_import_changes_as_a_list_or_a_string_as_docker_import_c(
    client: Client, engine: Engine
) -> None:
    name = f"engineapi-changes-{uuid.uuid4().hex[:8]}"
    for index, changes in enumerate((CHANGES, "\n".join(CHANGES))):
        repo = f"{name}-{index}"
        client.images.import_image(_rootfs(), repo=repo, changes=changes).wait()
        try:
            assert _image_facts(client, f"{repo}:latest") == EXPECTED
        finally:
            client.images.delete(f"{repo}:latest", force=True)
    cli = f"{name}-cli"
    args = [a for c in CHANGES for a in ("-c", c)]
    engine.docker("import", *args, "-", f"{cli}:latest", input=_rootfs())
    try:
        assert _image_facts(client, f"{cli}:latest") == EXPECTED
    finally:
        client.images.delete(f"{cli}:latest", force=True)


def _context_of(engine: Engine) -> ssl.SSLContext:
    """A context of our own, CA loaded from memory: no path reaches engineapi."""
    assert engine.tls_cert_path
    certs = Path(engine.tls_cert_path)
    context = ssl.create_default_context(cadata=(certs / "ca.pem").read_text())
    context.load_cert_chain(certs / "cert.pem", certs / "key.pem")
    return context


@pytest.mark.parametrize("backend", ["builtin", "httpx"])
def test_tls_with_a_ready_ssl_context(tls_engine: Engine, backend: str) -> None:
    assert tls_engine.tls_host
    context = _context_of(tls_engine)
    for tls in (context, TLSConfig(context=context)):
        with Client(tls_engine.tls_host, tls=tls, backend=backend) as client:
            assert client.endpoint.tls is not None and client.endpoint.tls.context is context
            assert client.system.ping().api_version == tls_engine.api_version
            assert client.containers.list(all=True) is not None


def test_async_tls_with_a_ready_ssl_context(tls_engine: Engine) -> None:
    assert tls_engine.tls_host

    async def main() -> str:
        async with AsyncClient(tls_engine.tls_host, tls=_context_of(tls_engine)) as client:
            return (await client.system.version()).api_version or ""

    assert asyncio.run(main()) == tls_engine.api_version


def test_tls_context_is_used_as_given(tls_engine: Engine) -> None:
    assert tls_engine.tls_host
    # The system's trust store does not know the engine's throwaway CA: the context's own
    # verification refuses the daemon (nothing from DOCKER_CERT_PATH or the paths steps in).
    with Client(tls_engine.tls_host, tls=ssl.create_default_context()) as client:
        with pytest.raises(ConnectError, match="(?i)certificate"):
            client.system.ping()
    with pytest.raises(ConfigError, match="ready ssl.SSLContext"):
        Client(tls_engine.tls_host, tls=_context_of(tls_engine), backend="requests")
