"""Plugins, distribution and registry login, live, against the local registries.

``tests/engines/engines.sh`` runs two registries on 127.0.0.1 (``/run/engineapi/registry.json``):
an open one and one with basic auth. The Docker engines treat 127.0.0.0/8 as insecure, so both
are plain HTTP.

The test plugin is made here: a ``config.json`` and a ``rootfs/`` whose entrypoint is the host's
python3 (``/usr`` is bind-mounted read-only into the plugin, which makes "mount /usr" the
privilege it asks for) serving a log-driver socket. It is created on Docker 28, pushed to the
registries, and pulled, enabled, upgraded and removed on Docker 20.10. A log driver is only
used by containers that ask for it, so an enabled test plugin disturbs nothing else.

Podman has no plugins and no /distribution endpoint (checked in `test_podman_has_no_plugins`),
and is not configured for the plain-HTTP test registries, so it answers the login with an
error (`test_system_auth_on_podman_is_the_daemons_error`).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from engineapi import Client, DaemonError, NotFound, ServerError, StreamError
from engineapi.models import AuthConfig, AuthResponse, DistributionInspect, Plugin, PluginPrivilege
from tests.conftest import OPT_OUT, Engine, live_engines

REGISTRY_JSON = Path(os.environ.get("ENGINEAPI_REGISTRY_FILE", "/run/engineapi/registry.json"))

DOCKER_ENGINES = [e for e in live_engines() if not e.is_podman]
PODMAN_ENGINES = [e for e in live_engines() if e.is_podman]

#: The plugin's server: answers every call of the plugin protocol on its socket.
PLUGIN_SERVER = textwrap.dedent(
    """
    import http.server, json, os, signal, socketserver
    PATH = "/run/docker/plugins/engineapi.sock"
    # As PID 1 the server would ignore SIGTERM, and `disable` would wait for the kill.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"Implements": ["LogDriver"], "Err": ""}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

        def get_request(self):
            conn, _ = super().get_request()
            return conn, ("plugin", 0)

    if os.path.exists(PATH):
        os.unlink(PATH)
    Server(PATH, Handler).serve_forever()
    """
)


def _no_engine(what: str) -> None:
    if os.environ.get(OPT_OUT):
        pytest.skip(f"{OPT_OUT}=1: live engine tests skipped on request")
    pytest.fail(f"no {what}: run 'make engines'", pytrace=False)


@pytest.fixture(params=DOCKER_ENGINES or [None], ids=[e.name for e in DOCKER_ENGINES] or ["none"])
def docker_engine(request: pytest.FixtureRequest) -> Engine:
    """Each Docker engine in turn (plugins and distribution are Docker's)."""
    if request.param is None:
        _no_engine("Docker engine is running")
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=PODMAN_ENGINES or [None], ids=[e.name for e in PODMAN_ENGINES] or ["none"])
def podman_engine(request: pytest.FixtureRequest) -> Engine:
    if request.param is None:
        _no_engine("Podman engine is running")
    return request.param  # type: ignore[no-any-return]


def _docker(name: str) -> Engine:
    for e in DOCKER_ENGINES:
        if e.name == name:
            return e
    _no_engine(f"engine {name} is running")
    raise AssertionError  # unreachable


@pytest.fixture
def registry() -> dict[str, Any]:
    """Open and auth registry addresses, user and password."""
    if not REGISTRY_JSON.exists():
        _no_engine(f"local registry ({REGISTRY_JSON} is missing)")
    return json.loads(REGISTRY_JSON.read_text())  # type: ignore[no-any-return]


@pytest.fixture
def credentials(registry: dict[str, Any]) -> AuthConfig:
    return AuthConfig(
        username=registry["username"],
        password=registry["password"],
        serveraddress=registry["auth"],
    )


@pytest.fixture
def label() -> str:
    return uuid.uuid4().hex[:12]


def plugin_context(
    directory: Path, *, description: str = "engineapi test plugin", greeting: str = "hello"
) -> Path:
    """config.json + rootfs/ of the test log-driver plugin, in `directory`."""
    rootfs = directory / "rootfs"
    for sub in ("usr", "etc", "tmp", "run/docker/plugins", "proc", "dev", "sys"):
        (rootfs / sub).mkdir(parents=True, exist_ok=True)
    for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        if not (rootfs / link).is_symlink():
            (rootfs / link).symlink_to(target)
    # Docker refuses to create a plugin whose rootfs layer it already holds ("content …
    # already exists"): make each one unique.
    (rootfs / "etc" / "engineapi-plugin").write_text(f"{uuid.uuid4()}\n")
    config = {
        "description": description,
        "documentation": "https://github.com/engineapi/engineapi/tree/main/tests/live",
        "entrypoint": ["/usr/bin/python3", "-c", PLUGIN_SERVER],
        "workdir": "/",
        "interface": {"types": ["docker.logdriver/1.0"], "socket": "engineapi.sock"},
        "network": {"type": "null"},
        "mounts": [
            {
                "name": "usr",
                "description": "the host's python3",
                "source": "/usr",
                "destination": "/usr",
                "type": "bind",
                "options": ["rbind", "ro"],
            }
        ],
        "env": [
            {
                "name": "GREETING",
                "description": "what the plugin says",
                "settable": ["value"],
                "value": greeting,
            }
        ],
        "linux": {"capabilities": []},
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    return directory


def tar_of(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return buffer.getvalue()


def remove_plugin(client: Client, name: str) -> None:
    try:
        client.plugins.delete(name, force=True)
    except NotFound:
        pass


USR_MOUNT = [{"Name": "mount", "Description": "host path to mount", "Value": ["/usr"]}]


def test_plugin_create_inspect_set_enable_disable_delete(
    docker_engine: Engine, tmp_path: Path, label: str
) -> None:
    name = f"engineapi/testplugin-{docker_engine.name}:{label}"
    with Client(docker_engine.host) as client:
        try:
            client.plugins.create(name, plugin_context(tmp_path))  # a directory: tarred here
            plugin = client.plugins.inspect(name)
            assert isinstance(plugin, Plugin)
            assert plugin.name == name and plugin.enabled is False
            assert plugin.config and plugin.config.interface
            assert plugin.config.interface.types == ["docker.logdriver/1.0"]
            assert plugin.settings and "GREETING=hello" in (plugin.settings.env or [])
            listed = client.plugins.list(filters={"capability": ["logdriver"]})
            assert name in [p.name for p in listed]
            assert name not in [p.name for p in client.plugins.list(filters={"enabled": ["true"]})]

            client.plugins.set(name, {"GREETING": "hi"})
            settings = client.plugins.inspect(name).settings
            assert settings and "GREETING=hi" in (settings.env or [])
            client.plugins.set(name, ["GREETING=hey"])
            settings = client.plugins.inspect(name).settings
            assert settings and "GREETING=hey" in (settings.env or [])

            client.plugins.enable(name, timeout=10)
            assert client.plugins.inspect(name).enabled is True
            assert name in [p.name for p in client.plugins.list(filters={"enabled": ["true"]})]
            with pytest.raises(DaemonError, match="(?i)active|enabled"):
                client.plugins.set(name, {"GREETING": "no"})  # only while disabled
            with pytest.raises(DaemonError, match="(?i)active|enabled"):
                client.plugins.delete(name)  # an enabled plugin needs `force`
            client.plugins.disable(name)
            assert client.plugins.inspect(name).enabled is False

            # The same from a tar given as bytes, under another name.
            client.plugins.create(f"{name}-bytes", tar_of(tmp_path))
            assert client.plugins.inspect(f"{name}-bytes").enabled is False
            client.plugins.delete(f"{name}-bytes")

            removed = client.plugins.delete(name)
            assert removed is None or removed.name == name
            with pytest.raises(NotFound):
                client.plugins.inspect(name)
        finally:
            remove_plugin(client, name)
            remove_plugin(client, f"{name}-bytes")


def test_plugin_push_privileges_pull_upgrade_across_engines(
    registry: dict[str, Any], credentials: AuthConfig, tmp_path: Path, label: str
) -> None:
    """Created on Docker 28, pushed to the open and the auth registry, installed on 20.10."""
    maker, installer = _docker("docker28"), _docker("docker20")
    repo = f"engineapi/logplugin-{label}"
    v1, v2 = f"{registry['open']}/{repo}:v1", f"{registry['open']}/{repo}:v2"
    private = f"{registry['auth']}/{repo}:v1"
    local = f"engineapi-installed-{label}:latest"
    with Client(maker.host) as make, Client(installer.host) as install:
        try:
            make.plugins.create(v1, plugin_context(tmp_path / "v1"))
            make.plugins.create(
                v2, plugin_context(tmp_path / "v2", description="engineapi test plugin v2")
            )
            make.plugins.create(private, plugin_context(tmp_path / "private"))
            pushed = make.plugins.push(v1).wait()
            assert any("digest" in (m.status or "") or m.progress_detail for m in pushed)
            make.plugins.push(v2).wait()
            # Without credentials: refused (Docker then retries over HTTPS, and reports that).
            with pytest.raises(StreamError, match="(?i)unauthorized|denied|HTTPS"):
                make.plugins.push(private).wait()
            make.plugins.push(private, auth=credentials).wait()

            # What it asks for: a mount of the host's /usr.
            privileges = install.plugins.privileges(v1)
            assert all(isinstance(p, PluginPrivilege) for p in privileges)
            assert [(p.name, p.value) for p in privileges] == [("mount", ["/usr"])]
            # Docker answers [] for a plugin it cannot read (here: no credentials), no error.
            assert install.plugins.privileges(private) == []
            assert install.plugins.privileges(private, auth=credentials) == privileges

            # Granting anything else is refused; exactly what it asks is accepted.
            with pytest.raises((DaemonError, StreamError), match="(?i)privilege"):
                install.plugins.pull(v1, name=local, privileges=[]).wait()
            install.plugins.pull(v1, name=local, privileges=privileges).wait()
            plugin = install.plugins.inspect(local)
            assert plugin.plugin_reference == v1 and plugin.enabled is False
            assert plugin.config and plugin.config.description == "engineapi test plugin"
            install.plugins.enable(local)
            assert install.plugins.inspect(local).enabled is True

            # Upgrade (disabled first) to v2, keeping the settings.
            install.plugins.disable(local)
            install.plugins.set(local, {"GREETING": "kept"})
            install.plugins.upgrade(local, remote=v2, privileges=USR_MOUNT).wait()
            upgraded = install.plugins.inspect(local)
            assert upgraded.plugin_reference == v2
            assert upgraded.config and upgraded.config.description == "engineapi test plugin v2"
            assert upgraded.settings and "GREETING=kept" in (upgraded.settings.env or [])
            install.plugins.delete(local)

            # From the auth registry, with credentials.
            install.plugins.pull(
                private, name=local, privileges=privileges, auth=credentials
            ).wait()
            assert install.plugins.inspect(local).plugin_reference == private
        finally:
            for name in (v1, v2, private):
                remove_plugin(make, name)
            remove_plugin(install, local)


def test_distribution_inspect_open_and_auth_registry(
    docker_engine: Engine, registry: dict[str, Any], credentials: AuthConfig, label: str
) -> None:
    open_ref = f"{registry['open']}/engineapi/busybox:{label}"
    auth_ref = f"{registry['auth']}/engineapi/busybox:{label}"
    with Client(docker_engine.host) as client:
        try:
            client.images.tag("busybox:latest", repo=open_ref.rsplit(":", 1)[0], tag=label)
            client.images.tag("busybox:latest", repo=auth_ref.rsplit(":", 1)[0], tag=label)
            client.images.push(open_ref.rsplit(":", 1)[0], tag=label).wait()
            client.images.push(auth_ref.rsplit(":", 1)[0], tag=label, auth=credentials).wait()

            found = client.distribution.inspect(open_ref)
            assert isinstance(found, DistributionInspect)
            assert found.descriptor and (found.descriptor.digest or "").startswith("sha256:")
            assert found.descriptor.size and found.descriptor.media_type
            pushed = client.images.inspect(open_ref).repo_digests or []
            assert any(d.endswith(found.descriptor.digest or "-") for d in pushed)

            with pytest.raises(DaemonError):
                client.distribution.inspect(auth_ref)  # no credentials
            private = client.distribution.inspect(auth_ref, auth=credentials)
            assert private.descriptor and private.descriptor.digest == found.descriptor.digest
            with pytest.raises(DaemonError):
                client.distribution.inspect(f"{registry['open']}/engineapi/none:{label}")
        finally:
            for ref in (open_ref, auth_ref):
                try:
                    client.images.delete(ref)
                except NotFound:
                    pass


def test_system_auth_against_the_auth_registry(
    docker_engine: Engine, registry: dict[str, Any], credentials: AuthConfig
) -> None:
    with Client(docker_engine.host) as client:
        answer = client.system.auth(credentials)
        assert isinstance(answer, AuthResponse) and answer.status == "Login Succeeded"
        as_mapping = client.system.auth(
            {
                "username": registry["username"],
                "password": registry["password"],
                "serveraddress": registry["auth"],
            }
        )
        assert as_mapping.status == "Login Succeeded"
        with pytest.raises(DaemonError, match="(?i)401|unauthorized"):
            client.system.auth(
                AuthConfig(
                    username=registry["username"], password="wrong", serveraddress=registry["auth"]
                )
            )


def test_system_auth_on_podman_is_the_daemons_error(
    podman_engine: Engine, credentials: AuthConfig
) -> None:
    """Podman tries HTTPS first and is not told the test registry is plain HTTP."""
    with Client(podman_engine.host) as client, pytest.raises(ServerError, match="HTTPS"):
        client.system.auth(credentials)


def test_podman_has_no_plugins(podman_engine: Engine) -> None:
    with Client(podman_engine.host) as client:
        with pytest.raises(NotFound, match="not supported"):
            client.plugins.list()
        with pytest.raises(NotFound):
            client.plugins.privileges("busybox")
        with pytest.raises(NotFound, match="not supported"):
            client.distribution.inspect("busybox")
