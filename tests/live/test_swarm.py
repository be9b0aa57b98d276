"""Swarm mode, live: a single-node swarm on Docker 20.10 and on Docker 28.x, and a two-node
swarm of the two.

Where: swarm mode runs on docker20 (host network namespace) and on docker28w, the Docker 28.x
swarm worker that ``tests/engines/engines.sh`` starts in a network namespace of its own
(``/run/engineapi/swarm.json``; same binaries as docker28). The main docker28 engine is never
put in swarm mode: it shares the host's network namespace with docker20, and two swarm-mode
daemons in one namespace clash — both create their ingress VXLAN with VNI 4096 on UDP 4789
("error creating vxlan interface: file exists"), both want a bridge device named
docker_gwbridge and the gossip port 7946 — leaving each other's state broken.

Single node (each engine on its own): init, inspect, update, autolock and unlock keys; a
replicated busybox service scaled, updated (image, env) and rolled back, its tasks and logs;
secrets and configs created, updated and mounted into a service; an overlay network; the node
drained and made active again; leave.

Two nodes: docker28w joins the swarm of docker20 (the manager advertises the host end of the
veth pair, 10.231.28.1); a service with 4 replicas gets tasks on both, the worker is drained
and its tasks move, the worker leaves and is removed.

Podman has no swarm: `test_podman_has_no_swarm` checks how it says so, and its own secrets
(which need no swarm) are tested apart. Every test leaves the swarm it made (and the
docker_gwbridge network the swarm created); a lock file keeps two test runs from making
swarms on the same engines at once.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engineapi import (
    APIVersionError,
    AsyncClient,
    Client,
    Conflict,
    DaemonError,
    NotFound,
    ServiceUnavailable,
)
from engineapi.models import (
    NetworkCreateRequest,
    NetworkInspect,
    NodeSpec,
    Service,
    ServiceSpec,
    ServiceSpecMode,
    ServiceSpecModeReplicated,
    ServiceSpecRollbackConfig,
    ServiceSpecUpdateConfig,
    Swarm,
    SwarmInitRequest,
    SwarmJoinRequest,
    Task,
    TaskSpec,
    TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigsItem,
    TaskSpecContainerSpecConfigsItemFile,
    TaskSpecContainerSpecSecretsItem,
    TaskSpecContainerSpecSecretsItemFile,
    VolumeUpdateRequest,
)
from engineapi.streams.stdcopy import STDERR
from tests.conftest import OPT_OUT, Engine, live_engines

T = TypeVar("T")

SWARM_JSON = Path(os.environ.get("ENGINEAPI_SWARM_FILE", "/run/engineapi/swarm.json"))
LOCK_FILE = Path("/run/engineapi/swarm-tests.lock")
#: Swarm-scoped networks come from here, away from anything the machine or engines use.
ADDR_POOL = ["10.233.0.0/16"]
SECOND = 1_000_000_000  # the API's durations are nanoseconds

DOCKER_ENGINES = [e for e in live_engines() if not e.is_podman]
PODMAN_ENGINES = [e for e in live_engines() if e.is_podman]


def _topology() -> dict[str, Any] | None:
    """The swarm set-up engines.sh describes: manager engine, worker engine, addresses."""
    if os.environ.get(OPT_OUT):
        return None
    try:
        return json.loads(SWARM_JSON.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


TOPOLOGY = _topology()


def _swarm_engines() -> list[Engine]:
    """docker20 and docker28w: one swarm-mode engine per network namespace."""
    if TOPOLOGY is None:
        return []
    worker = TOPOLOGY["worker"]
    managers = [e for e in DOCKER_ENGINES if e.name == TOPOLOGY["manager"]["engine"]]
    docker28w = Engine(
        name=worker["name"], host=worker["host"], api_version=worker["api_version"], kind="docker"
    )
    return [*managers, docker28w]


SWARM_ENGINES = _swarm_engines()


def _no_engine(what: str) -> None:
    if os.environ.get(OPT_OUT):
        pytest.skip(f"{OPT_OUT}=1: live engine tests skipped on request")
    pytest.fail(f"no {what} is running: run 'make engines'", pytrace=False)


@pytest.fixture(params=DOCKER_ENGINES or [None], ids=[e.name for e in DOCKER_ENGINES] or ["none"])
def docker_engine(request: pytest.FixtureRequest) -> Engine:
    """Each Docker engine of engines.json in turn (Podman is tested apart)."""
    if request.param is None:
        _no_engine("Docker engine")
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=SWARM_ENGINES or [None], ids=[e.name for e in SWARM_ENGINES] or ["none"])
def swarm_engine(request: pytest.FixtureRequest) -> Engine:
    """docker20 and docker28w in turn: the engines swarm mode runs on here."""
    if request.param is None:
        _no_engine(f"swarm engine ({SWARM_JSON} is missing)")
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=PODMAN_ENGINES or [None], ids=[e.name for e in PODMAN_ENGINES] or ["none"])
def podman_engine(request: pytest.FixtureRequest) -> Engine:
    if request.param is None:
        _no_engine("Podman engine")
    return request.param  # type: ignore[no-any-return]


@contextmanager
def swarm_lock() -> Iterator[None]:
    """One swarm test at a time across processes: they share engines and ports."""
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def in_swarm(client: Client) -> bool:
    info = client.system.info()
    return bool(info.swarm and info.swarm.local_node_state not in (None, "", "inactive"))


def has_network(client: Client, name: str) -> bool:
    return any(n.name == name for n in client.networks.list(filters={"name": [name]}))


def leave_and_clean(client: Client, gwbridge_before: bool) -> None:
    """Leave the swarm (forced), after removing its services; then remove what the swarm
    left on the engine: task containers, and the docker_gwbridge network it created."""
    info = client.system.info()
    if info.swarm and info.swarm.control_available:
        for service in client.services.list():
            client.services.delete(service.id or "")
    if in_swarm(client):
        force_leave(client)
    for c in client.containers.list(all=True, filters={"label": ["com.docker.swarm.task.id"]}):
        try:
            client.containers.delete(c.id, force=True)
        except (NotFound, Conflict):  # already going away
            pass
    if gwbridge_before:
        return
    deadline = time.monotonic() + 30
    while has_network(client, "docker_gwbridge"):
        try:
            client.networks.delete("docker_gwbridge")
        except NotFound:
            break
        except DaemonError:  # endpoints still going away, or stale ones: force them off
            if time.monotonic() > deadline:
                raise
            endpoints = client.networks.inspect("docker_gwbridge").containers or {}
            for endpoint_id, endpoint in endpoints.items():
                try:
                    client.networks.disconnect(
                        "docker_gwbridge", endpoint.name or endpoint_id, force=True
                    )
                except DaemonError:
                    pass
            time.sleep(0.5)


def init_single_node(client: Client) -> str:
    return client.swarm.init(
        SwarmInitRequest(
            listen_addr="127.0.0.1:2377",
            advertise_addr="127.0.0.1",
            default_addr_pool=ADDR_POOL,
            subnet_size=24,
        )
    )


def force_leave(client: Client) -> None:
    """`swarm leave --force`, retried past a Docker 20.10 race: its leave removes the swarm
    directory while the node still rewrites its TLS key there ("unlinkat …/certificates:
    directory not empty"). The node is then out of the swarm with its state half removed;
    joining that state again (init loads it) and leaving once more clears it."""
    for attempt in range(5):
        try:
            client.swarm.leave(force=True)
            return
        except DaemonError as error:
            if "directory not empty" not in str(error) or attempt == 4:
                raise
        time.sleep(1)
        if not in_swarm(client):
            init_single_node(client)


@contextmanager
def single_node_swarm(client: Client) -> Iterator[str]:
    """A fresh one-node swarm on the engine; left (and cleaned) afterwards. Yields its ID."""
    if in_swarm(client):  # a run that crashed before leaving
        force_leave(client)
    gwbridge_before = has_network(client, "docker_gwbridge")
    node_id = init_single_node(client)
    try:
        yield node_id
    finally:
        leave_and_clean(client, gwbridge_before)
        assert not in_swarm(client)


@pytest.fixture
def manager(swarm_engine: Engine) -> Iterator[Client]:
    """A client of an engine that is the single manager of a new swarm."""
    with swarm_lock(), Client(swarm_engine.host) as client, single_node_swarm(client):
        yield client


@pytest.fixture
def label() -> str:
    return uuid.uuid4().hex[:12]


def busybox_service(
    name: str,
    label: str,
    *,
    replicas: int,
    command: str = "echo out-$FOO; echo err-$FOO >&2; exec sleep 300",
    env: list[str] | None = None,
    image: str = "busybox:latest",
    **container: Any,
) -> ServiceSpec:
    """A replicated busybox service that updates and rolls back all tasks at once."""
    return ServiceSpec(
        name=name,
        labels={"engineapi.test": label},
        task_template=TaskSpec(
            container_spec=TaskSpecContainerSpec(
                image=image,
                command=["sh", "-c", command],
                env=env if env is not None else ["FOO=1"],
                stop_signal="SIGKILL",  # sleep as PID 1 ignores SIGTERM
                **container,
            )
        ),
        mode=ServiceSpecMode(replicated=ServiceSpecModeReplicated(replicas=replicas)),
        update_config=ServiceSpecUpdateConfig(parallelism=0, monitor=SECOND),
        rollback_config=ServiceSpecRollbackConfig(parallelism=0, monitor=SECOND),
    )


def running_tasks(client: Client, service: str) -> list[Task]:
    try:
        tasks = client.tasks.list(filters={"service": [service], "desired-state": ["running"]})
    except NotFound:  # Docker 20.10, once the service is gone
        return []
    return [t for t in tasks if t.status is not None and t.status.state == "running"]


def wait_running(client: Client, service: str, count: int, timeout: float = 90) -> list[Task]:
    return wait_for(
        f"{count} running tasks of {service}",
        lambda: tasks if len(tasks := running_tasks(client, service)) == count else None,
        timeout,
    )


def wait_update_done(client: Client, service: str, states: tuple[str, ...]) -> Service:
    def done() -> Service | None:
        s = client.services.inspect(service)
        state = s.update_status.state if s.update_status else None
        return s if state in states else None

    return wait_for(f"the update of {service} to end ({' or '.join(states)})", done, 90)


def service_output(client: Client, service: str, needle: bytes) -> tuple[bytes, bytes]:
    def read() -> tuple[bytes, bytes] | None:
        out, err = client.services.logs(service).read_split()
        return (out, err) if needle in out else None

    return wait_for(f"{needle!r} in the logs of {service}", read, 30)


# --------------------------------------------------------------------------- the swarm


def test_not_in_a_swarm_is_service_unavailable(docker_engine: Engine) -> None:
    with swarm_lock(), Client(docker_engine.host) as client:
        if in_swarm(client):
            client.swarm.leave(force=True)
        with pytest.raises(ServiceUnavailable) as info:
            client.swarm.inspect()
        assert "not" in info.value.message and info.value.status == 503
        with pytest.raises(ServiceUnavailable):
            client.services.list()
        with pytest.raises(ServiceUnavailable):
            client.swarm.unlock("SWMKEY-1-not-a-key")


def test_swarm_init_inspect_update_lock_and_leave(manager: Client, label: str) -> None:
    info = manager.system.info()
    assert info.swarm is not None and info.swarm.local_node_state == "active"
    assert info.swarm.control_available is True
    swarm = manager.swarm.inspect()
    assert isinstance(swarm, Swarm)
    assert swarm.id and swarm.version is not None and swarm.version.index
    tokens = swarm.join_tokens
    assert tokens is not None and tokens.worker and tokens.manager
    assert tokens.worker.startswith("SWMTKN-1-") and tokens.worker != tokens.manager
    assert swarm.default_addr_pool == ADDR_POOL and swarm.subnet_size == 24

    # Update the spec (labels, a shorter task history) and rotate the worker token.
    spec = swarm.spec.to_wire() if swarm.spec else {}
    spec["Labels"] = {"engineapi.test": label}
    spec.setdefault("Orchestration", {})["TaskHistoryRetentionLimit"] = 2
    manager.swarm.update(spec, version=swarm.version.index, rotate_worker_token=True)
    updated = manager.swarm.inspect()
    assert updated.spec is not None and updated.spec.labels == {"engineapi.test": label}
    assert updated.spec.orchestration is not None
    assert updated.spec.orchestration.task_history_retention_limit == 2
    assert updated.join_tokens is not None and updated.join_tokens.worker != tokens.worker
    assert updated.join_tokens.manager == tokens.manager
    with pytest.raises(DaemonError, match="out of sequence"):  # a stale version is refused
        manager.swarm.update(spec, version=swarm.version.index)

    # Autolock: the unlock key exists and rotates; an unlocked manager refuses `unlock`.
    assert updated.version is not None and updated.version.index
    spec["EncryptionConfig"] = {"AutoLockManagers": True}
    manager.swarm.update(spec, version=updated.version.index)
    key = manager.swarm.unlock_key().unlock_key
    assert key and key.startswith("SWMKEY-1-")
    locked = manager.swarm.inspect()
    assert locked.version is not None and locked.version.index
    manager.swarm.update(spec, version=locked.version.index, rotate_manager_unlock_key=True)
    rotated = manager.swarm.unlock_key().unlock_key
    assert rotated and rotated != key
    with pytest.raises(DaemonError, match="(?i)not locked"):
        manager.swarm.unlock(rotated)
    with pytest.raises(DaemonError, match="(?i)not locked"):
        manager.swarm.unlock({"UnlockKey": rotated})
    # Autolock off again: state a leave leaves behind must not need a key to clear.
    relocked = manager.swarm.inspect()
    assert relocked.version is not None and relocked.version.index
    spec["EncryptionConfig"] = {"AutoLockManagers": False}
    manager.swarm.update(spec, version=relocked.version.index)
    assert not manager.swarm.unlock_key().unlock_key

    # A manager cannot just leave (it would take the swarm's state with it).
    with pytest.raises(ServiceUnavailable, match="(?i)force"):
        manager.swarm.leave()


def test_service_scale_update_rollback_tasks_and_logs(
    manager: Client, swarm_engine: Engine, label: str
) -> None:
    name = f"engineapi-svc-{label}"
    v2 = f"engineapi-test/busybox:v2-{label}"
    swarm_engine.docker("tag", "busybox:latest", v2)
    try:
        created = manager.services.create(busybox_service(name, label, replicas=2))
        assert created.id
        tasks = wait_running(manager, name, 2)
        assert {t.slot for t in tasks} == {1, 2}
        assert all(t.service_id == created.id for t in tasks)
        task = manager.tasks.inspect(tasks[0].id or "")
        assert task.spec and task.spec.container_spec
        assert task.spec.container_spec.env == ["FOO=1"]
        assert task.status and task.status.container_status
        assert task.status.container_status.container_id

        listed = manager.services.list(filters={"label": [f"engineapi.test={label}"]}, status=True)
        assert [s.id for s in listed] == [created.id]
        status = listed[0].service_status
        assert status is not None and status.desired_tasks == 2
        assert manager.services.list(filters={"name": [f"{name}-none"]}) == []
        full = manager.services.inspect(name, insert_defaults=True)
        assert full.spec and full.spec.task_template and full.spec.task_template.restart_policy

        # Logs of the service (both tasks) and of one task, demultiplexed.
        out, err = service_output(manager, name, b"out-1")
        assert out.count(b"out-1\n") == 2 and err.count(b"err-1\n") == 2
        frames = list(manager.services.logs(name, stdout=False, timestamps=True))
        assert frames and all(stream == STDERR for stream, _ in frames)
        assert b"err-1" in b"".join(data for _, data in frames)
        detailed = manager.services.logs(name, details=True, tail=1).read()
        assert b"com.docker.swarm.node.id=" in detailed
        out, err = manager.tasks.logs(tasks[0].id or "").read_split()
        assert (out, err) == (b"out-1\n", b"err-1\n")
        assert manager.tasks.logs(tasks[0].id or "", stderr=False).read() == b"out-1\n"

        # Scale up with the flow, and down with a plain update.
        manager.services.scale(name, 3)
        wait_running(manager, name, 3)
        service = manager.services.inspect(name)
        assert service.spec and service.spec.mode and service.spec.mode.replicated
        assert service.version is not None and service.version.index
        spec = service.spec.to_wire()
        spec["Mode"] = {"Replicated": {"Replicas": 2}}
        manager.services.update(name, spec, version=service.version.index)
        wait_running(manager, name, 2)
        with pytest.raises(DaemonError, match="out of sequence"):
            manager.services.update(name, spec, version=service.version.index)

        # Update image and env; then roll back to the previous spec.
        service = manager.services.inspect(name)
        assert service.spec is not None and service.version is not None
        spec = service.spec.to_wire()
        spec["TaskTemplate"]["ContainerSpec"]["Image"] = v2
        spec["TaskTemplate"]["ContainerSpec"]["Env"] = ["FOO=2"]
        answer = manager.services.update(name, spec, version=service.version.index or 0)
        assert answer.warnings is None or isinstance(answer.warnings, list)
        wait_update_done(manager, name, ("completed",))
        new_tasks = wait_running(manager, name, 2)
        assert all(
            t.spec and t.spec.container_spec and t.spec.container_spec.image == v2
            for t in new_tasks
        )
        service_output(manager, name, b"out-2")
        updated = manager.services.inspect(name)
        assert updated.spec and updated.spec.task_template
        assert updated.spec.task_template.container_spec
        assert updated.spec.task_template.container_spec.env == ["FOO=2"]
        assert updated.extra["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Env"] == ["FOO=1"]

        manager.services.rollback(name)
        rolled = wait_update_done(manager, name, ("rollback_completed",))
        assert rolled.spec and rolled.spec.task_template
        container_spec = rolled.spec.task_template.container_spec
        assert container_spec is not None and container_spec.env == ["FOO=1"]
        assert container_spec.image == "busybox:latest"
        wait_for(
            "tasks of the rolled-back spec",
            lambda: (
                all(
                    t.spec and t.spec.container_spec and t.spec.container_spec.env == ["FOO=1"]
                    for t in running_tasks(manager, name)
                )
                and len(running_tasks(manager, name)) == 2
            ),
        )
        # The same, spelled out: rollback=previous with the current spec.
        current = manager.services.inspect(name)
        assert current.spec and current.version and current.version.index
        manager.services.update(
            name, current.spec, version=current.version.index, rollback="previous"
        )
        back = wait_update_done(manager, name, ("rollback_completed",))
        assert back.spec and back.spec.task_template and back.spec.task_template.container_spec
        assert back.spec.task_template.container_spec.env == ["FOO=2"]

        manager.services.delete(name)
        with pytest.raises(NotFound):
            manager.services.inspect(name)
        wait_for("the tasks to go", lambda: not running_tasks(manager, name))
    finally:
        try:
            manager.services.delete(name)
        except NotFound:
            pass
        wait_for("the tasks to go", lambda: not running_tasks(manager, name))
        swarm_engine.docker("rmi", v2, check=False)


def test_secrets_and_configs_mounted_into_a_service(manager: Client, label: str) -> None:
    secret_data = f"s3cret-{label}".encode()
    secret = manager.secrets.create(
        name=f"engineapi-secret-{label}", data=secret_data, labels={"engineapi.test": label}
    )
    config = manager.configs.create(
        name=f"engineapi-config-{label}",
        data=f"port = 80 # {label}\n",
        labels={"engineapi.test": label},
    )
    assert secret.id and config.id
    service = f"engineapi-mount-{label}"
    try:
        inspected = manager.secrets.inspect(secret.id)
        assert inspected.spec and inspected.spec.name == f"engineapi-secret-{label}"
        assert inspected.spec.data is None  # the daemon never gives a secret's data back
        conf = manager.configs.inspect(config.id)
        assert conf.spec and conf.spec.data
        assert base64.b64decode(conf.spec.data) == f"port = 80 # {label}\n".encode()

        # Labels are all that can change.
        assert inspected.version and inspected.version.index
        spec = inspected.spec.to_wire()
        spec["Labels"] = {"engineapi.test": label, "rotated": "yes"}
        manager.secrets.update(secret.id, spec, version=inspected.version.index)
        relabeled = manager.secrets.inspect(secret.id)
        assert relabeled.spec and relabeled.spec.labels == spec["Labels"]
        assert conf.version and conf.version.index
        conf_spec = conf.spec.to_wire()
        conf_spec["Labels"] = {"engineapi.test": label, "rotated": "yes"}
        manager.configs.update(config.id, conf_spec, version=conf.version.index)
        assert (manager.configs.inspect(config.id).spec or conf.spec).labels == conf_spec["Labels"]
        conf_spec["Data"] = base64.b64encode(b"changed").decode()
        with pytest.raises(DaemonError, match="(?i)only updates to Labels"):
            manager.configs.update(config.id, conf_spec, version=conf.version.index + 1)

        secrets = manager.secrets.list(filters={"label": [f"engineapi.test={label}"]})
        assert [s.id for s in secrets] == [secret.id]
        configs = manager.configs.list(filters={"name": [f"engineapi-config-{label}"]})
        assert [c.id for c in configs] == [config.id]

        manager.services.create(
            busybox_service(
                service,
                label,
                replicas=1,
                command="cat /run/secrets/db-password; echo; cat /etc/app.conf; exec sleep 300",
                secrets=[
                    TaskSpecContainerSpecSecretsItem(
                        secret_id=secret.id,
                        secret_name=f"engineapi-secret-{label}",
                        file=TaskSpecContainerSpecSecretsItemFile(
                            name="db-password", uid="0", gid="0", mode=0o400
                        ),
                    )
                ],
                configs=[
                    TaskSpecContainerSpecConfigsItem(
                        config_id=config.id,
                        config_name=f"engineapi-config-{label}",
                        file=TaskSpecContainerSpecConfigsItemFile(
                            name="/etc/app.conf", uid="0", gid="0", mode=0o444
                        ),
                    )
                ],
            )
        )
        wait_running(manager, service, 1)
        out, _ = service_output(manager, service, secret_data)
        assert out == secret_data + f"\nport = 80 # {label}\n".encode()
        with pytest.raises(DaemonError, match="(?i)in use"):
            manager.secrets.delete(secret.id)
        with pytest.raises(DaemonError, match="(?i)in use"):
            manager.configs.delete(config.id)
        manager.services.delete(service)
    finally:
        try:
            manager.services.delete(service)
        except NotFound:
            pass
    manager.secrets.delete(secret.id)
    manager.configs.delete(config.id)
    with pytest.raises(NotFound):
        manager.secrets.inspect(secret.id)
    with pytest.raises(NotFound):
        manager.configs.delete(config.id)


def test_drain_and_reactivate_the_node(manager: Client, label: str) -> None:
    name = f"engineapi-drain-{label}"
    manager.services.create(busybox_service(name, label, replicas=2))
    wait_running(manager, name, 2)
    nodes = manager.nodes.list()
    assert len(nodes) == 1
    node = manager.nodes.inspect(nodes[0].id or "")
    assert node.status and node.status.state == "ready"
    assert node.spec and node.spec.availability == "active" and node.spec.role == "manager"
    assert node.description and node.description.engine
    assert manager.nodes.list(filters={"role": ["worker"]}) == []

    def set_availability(availability: str) -> None:
        current = manager.nodes.inspect(node.id or "")
        assert current.spec and current.version and current.version.index
        spec = current.spec.to_wire()
        spec["Availability"] = availability
        spec["Labels"] = {"engineapi.test": label}
        manager.nodes.update(current.id or "", spec, version=current.version.index)

    set_availability("drain")
    drained = manager.nodes.inspect(node.id or "")
    assert drained.spec and drained.spec.availability == "drain"
    assert drained.spec.labels == {"engineapi.test": label}
    wait_for("the tasks to leave the drained node", lambda: not running_tasks(manager, name))
    set_availability("active")
    wait_running(manager, name, 2)
    assert manager.nodes.list(filters={"node.label": [f"engineapi.test={label}"]})[0].id == node.id

    # The only manager cannot be removed.
    with pytest.raises(DaemonError, match="(?i)manager"):
        manager.nodes.delete(node.id or "", force=True)
    manager.services.delete(name)


def test_partial_updates_merge_into_the_current_spec(manager: Client, label: str) -> None:
    """Issue #16: ``update(id, image=…, env=…, labels=…)`` reads, merges and sends with the
    version; the rest of the spec is kept. A stale version is refused with the words the
    retry looks for ("update out of sequence")."""
    name = f"engineapi-partial-{label}"
    manager.services.create(busybox_service(name, label, replicas=1, env=["FOO=1", "BAR=2"]))
    before = manager.services.inspect(name)
    assert before.spec and before.version and before.version.index
    result = manager.services.update(
        name,
        env={"FOO": "2", "BAR": None, "NEW": "x"},
        labels={"extra": "y"},
        container_labels={"c": "1"},
        replicas=2,
        force=True,
    )
    assert result.warnings in (None, [])
    after = manager.services.inspect(name)
    assert after.spec and after.spec.task_template and after.spec.mode
    container = after.spec.task_template.container_spec
    assert container and container.env == ["FOO=2", "NEW=x"] and container.labels == {"c": "1"}
    assert after.spec.labels == {"engineapi.test": label, "extra": "y"}
    assert after.spec.mode.replicated and after.spec.mode.replicated.replicas == 2
    assert after.spec.task_template.force_update == 1
    old = before.spec.task_template
    assert old and old.container_spec
    assert container.command == old.container_spec.command  # untouched
    assert after.spec.update_config == before.spec.update_config
    with pytest.raises(DaemonError, match="update out of sequence"):
        manager.services.update(name, before.spec, version=before.version.index)
    manager.services.update(name, image="busybox:latest", labels={"extra": None})
    latest = manager.services.inspect(name)
    assert latest.spec and latest.spec.labels == {"engineapi.test": label}
    manager.services.delete(name)

    secret = manager.secrets.create(
        name=f"{name}-s", data=b"x", labels={"engineapi.test": label, "a": "1"}
    ).id
    config = manager.configs.create(
        name=f"{name}-c", data="x", labels={"engineapi.test": label, "a": "1"}
    ).id
    assert secret and config
    manager.secrets.update(secret, labels={"a": None, "b": "2"})
    manager.configs.update(config, labels={"a": "3"})
    relabeled = manager.secrets.inspect(secret).spec
    assert relabeled and relabeled.labels == {"engineapi.test": label, "b": "2"}
    reconfigured = manager.configs.inspect(config).spec
    assert reconfigured and reconfigured.labels == {"engineapi.test": label, "a": "3"}
    manager.secrets.delete(secret)
    manager.configs.delete(config)

    node = manager.nodes.list()[0].id or ""
    manager.nodes.update(node, availability="pause", labels={"zone": "a"})
    paused = manager.nodes.inspect(node).spec
    assert paused and (paused.availability, paused.role) == ("pause", "manager")
    assert paused.labels == {"zone": "a"}
    manager.nodes.update(node, availability="active", labels={"zone": None})
    active = manager.nodes.inspect(node).spec
    assert active and active.availability == "active" and not active.labels

    swarm = manager.swarm.inspect()
    assert swarm.join_tokens and swarm.spec and swarm.spec.orchestration
    manager.swarm.update(labels={"engineapi.test": label}, task_history_limit=3)
    manager.swarm.update(rotate_worker_token=True)
    changed = manager.swarm.inspect()
    assert changed.spec and changed.spec.labels == {"engineapi.test": label}
    assert changed.spec.orchestration
    assert changed.spec.orchestration.task_history_retention_limit == 3
    assert changed.join_tokens and changed.join_tokens.worker != swarm.join_tokens.worker
    assert changed.join_tokens.manager == swarm.join_tokens.manager
    assert changed.spec.raft == swarm.spec.raft  # the rest kept


async def test_partial_service_update_as_docker_service_update(
    manager: Client, swarm_engine: Engine, label: str
) -> None:
    """The same changes by ``docker service update`` and by ``services.update`` (async
    client) leave the same spec."""
    cli, ours = f"engineapi-cli-{label}", f"engineapi-ours-{label}"
    for name in (cli, ours):
        manager.services.create(
            busybox_service(name, label, replicas=1, env=["FOO=1", "BAR=2"], labels={"k": "v"})
        )
    swarm_engine.docker(
        "service", "update", "--detach", "--env-add", "FOO=2", "--env-rm", "BAR",
        "--env-add", "NEW=x", "--label-add", "extra=y", "--container-label-add", "c=1",
        "--container-label-rm", "k", "--replicas", "2", "--force", cli,
    )  # fmt: skip
    async with AsyncClient(swarm_engine.host) as client:
        await client.services.update(
            ours,
            env={"FOO": "2", "BAR": None, "NEW": "x"},
            labels={"extra": "y"},
            container_labels={"c": "1", "k": None},
            replicas=2,
            force=True,
        )

    def facts(name: str) -> tuple[Any, ...]:
        spec = manager.services.inspect(name).spec
        assert spec and spec.task_template and spec.task_template.container_spec and spec.mode
        container = spec.task_template.container_spec
        assert spec.mode.replicated
        return (
            sorted(container.env or []),  # the CLI sorts them; the order means nothing
            spec.labels,
            container.labels,
            container.command,
            spec.mode.replicated.replicas,
            spec.task_template.force_update,
        )

    assert facts(cli) == facts(ours)
    assert facts(ours)[:2] == (["FOO=2", "NEW=x"], {"engineapi.test": label, "extra": "y"})
    for name in (cli, ours):
        manager.services.delete(name)


def test_overlay_network_and_cluster_volume_update(manager: Client, label: str) -> None:
    created = manager.networks.create(
        NetworkCreateRequest(
            name=f"engineapi-overlay-{label}",
            driver="overlay",
            attachable=True,
            labels={"engineapi.test": label},
        )
    )
    try:

        def allocated() -> NetworkInspect | None:
            # The driver is reported once the swarm's allocator has handled the network.
            found = manager.networks.inspect(created.id, verbose=True, scope="swarm")
            return found if found.driver else None

        net = wait_for("the overlay network to be allocated", allocated, timeout=20)
        assert net.driver == "overlay" and net.scope == "swarm" and net.attachable is True
        assert (
            net.ipam and net.ipam.config and (net.ipam.config[0].subnet or "").startswith("10.233.")
        )
    finally:
        manager.networks.delete(created.id)

    request = VolumeUpdateRequest.from_wire({"Spec": {"Availability": "drain"}})
    if manager.api_version() < "1.42":
        with pytest.raises(APIVersionError):
            manager.volumes.update("engineapi-no-such-cluster-volume", request, version=1)
    else:  # a swarm manager without CSI plugins has no cluster volume of that name
        with pytest.raises(NotFound):
            manager.volumes.update("engineapi-no-such-cluster-volume", request, version=1)


async def test_async_service_and_logs(manager: Client, swarm_engine: Engine, label: str) -> None:
    name = f"engineapi-async-{label}"
    async with AsyncClient(swarm_engine.host) as client:
        created = await client.services.create(busybox_service(name, label, replicas=1))
        try:
            assert created.id
            wait_running(manager, name, 1)
            tasks = await client.tasks.list(filters={"service": [name]})
            assert [t.service_id for t in tasks] == [created.id]
            task = await client.tasks.inspect(tasks[0].id or "")
            assert task.id == tasks[0].id
            out = b""
            deadline = time.monotonic() + 30
            while b"out-1" not in out and time.monotonic() < deadline:
                out, err = await client.services.logs(name).read_split()
            assert out == b"out-1\n"
            out, err = await client.tasks.logs(task.id or "").read_split()
            assert (out, err) == (b"out-1\n", b"err-1\n")
            swarm = await client.swarm.inspect()
            assert swarm.join_tokens and swarm.join_tokens.worker
            info = manager.system.info()
            assert info.swarm is not None
            assert [n.id for n in await client.nodes.list()] == [info.swarm.node_id]
        finally:
            await client.services.delete(name)


def test_autolocked_manager_is_locked_after_a_restart_and_unlocks(label: str) -> None:
    """docker28w, the swarm worker engine, is ours to restart: an autolocked manager comes
    back locked, refuses a wrong key and opens with the right one."""
    if TOPOLOGY is None:
        _no_engine(f"swarm worker ({SWARM_JSON} is missing)")
    engine = _engine((TOPOLOGY or {})["worker"]["name"])
    if os.geteuid() != 0:
        pytest.fail("restarting docker28w (tests/engines/engines.sh up) needs root")
    pidfile = Path("/run/engineapi") / f"{engine.name}.pid"
    with swarm_lock(), Client(engine.host) as client:
        if in_swarm(client):
            client.swarm.leave(force=True)
        gwbridge_before = has_network(client, "docker_gwbridge")
        try:
            client.swarm.init(
                SwarmInitRequest.from_wire(
                    {
                        "ListenAddr": "127.0.0.1:2377",
                        "AdvertiseAddr": "127.0.0.1",
                        "DefaultAddrPool": ADDR_POOL,
                        "Spec": {
                            "Labels": {"engineapi.test": label},
                            "EncryptionConfig": {"AutoLockManagers": True},
                        },
                    }
                )
            )
            key = client.swarm.unlock_key().unlock_key
            assert key

            pid = int(pidfile.read_text())
            os.kill(pid, 15)
            wait_for("docker28w to stop", lambda: not Path(f"/proc/{pid}").exists(), 60)
            engines_sh = Path(__file__).resolve().parents[1] / "engines" / "engines.sh"
            subprocess.run([str(engines_sh), "up"], check=True, capture_output=True, timeout=600)

            info = client.system.info()
            assert info.swarm is not None and info.swarm.local_node_state == "locked"
            with pytest.raises(ServiceUnavailable, match="(?i)unlock"):
                client.swarm.inspect()
            with pytest.raises(DaemonError, match="(?i)invalid key|unlock key"):
                client.swarm.unlock("SWMKEY-1-" + "A" * 43)
            client.swarm.unlock(key)
            wait_for(
                "the manager to be active", lambda: in_swarm(client) and client.swarm.inspect()
            )
            spec = client.swarm.inspect().spec
            assert spec and spec.labels == {"engineapi.test": label}
        finally:
            leave_and_clean(client, gwbridge_before)


def test_podman_has_no_swarm(podman_engine: Engine) -> None:
    """Podman's compat API has none of the swarm endpoints: a clear NotFound for each, and
    ``swarm/init`` answers 503 "Podman does not support service"."""
    with Client(podman_engine.host) as client:
        calls: list[Callable[[], object]] = [
            client.swarm.inspect,
            client.nodes.list,
            client.services.list,
            client.tasks.list,
            client.configs.list,
        ]
        for call in calls:
            with pytest.raises(NotFound):
                call()
        with pytest.raises(ServiceUnavailable, match="does not support"):
            client.swarm.init(SwarmInitRequest(advertise_addr="127.0.0.1"))


def test_podman_secrets_without_a_swarm(podman_engine: Engine, label: str) -> None:
    """Podman keeps secrets of its own, through the same endpoints."""
    with Client(podman_engine.host) as client:
        name = f"engineapi-secret-{label}"
        created = client.secrets.create(name=name, data=b"s3cret")
        assert created.id
        try:
            secret = client.secrets.inspect(created.id)
            assert secret.spec and secret.spec.name == name
            assert name in [s.spec.name for s in client.secrets.list() if s.spec]
        finally:
            client.secrets.delete(created.id)
        with pytest.raises(NotFound):
            client.secrets.inspect(created.id)


# --------------------------------------------------------------------------- two nodes


def _engine(name: str) -> Engine:
    for e in SWARM_ENGINES:
        if e.name == name:
            return e
    _no_engine(f"{name} ({SWARM_JSON} is missing?)")
    raise AssertionError  # unreachable


def test_two_node_swarm_spreads_drains_and_loses_a_worker(label: str) -> None:
    if TOPOLOGY is None:
        _no_engine(f"swarm worker ({SWARM_JSON} is missing)")
    topology: dict[str, Any] = TOPOLOGY or {}
    manager_engine = _engine(topology["manager"]["engine"])
    manager_addr = topology["manager"]["address"]
    worker_addr = topology["worker"]["address"]
    name = f"engineapi-spread-{label}"
    with (
        swarm_lock(),
        Client(manager_engine.host) as manager,
        Client(_engine(topology["worker"]["name"]).host) as worker,
    ):
        for client in (manager, worker):
            if in_swarm(client):
                client.swarm.leave(force=True)
        gw_manager = has_network(manager, "docker_gwbridge")
        gw_worker = has_network(worker, "docker_gwbridge")
        try:
            manager.swarm.init(
                SwarmInitRequest(
                    listen_addr=f"{manager_addr}:2377",
                    advertise_addr=manager_addr,
                    default_addr_pool=ADDR_POOL,
                )
            )
            tokens = manager.swarm.inspect().join_tokens
            assert tokens and tokens.worker
            worker.swarm.join(
                SwarmJoinRequest(
                    remote_addrs=[f"{manager_addr}:2377"],
                    join_token=tokens.worker,
                    listen_addr=f"{worker_addr}:2377",
                    advertise_addr=worker_addr,
                )
            )
            with pytest.raises(ServiceUnavailable):
                worker.swarm.inspect()  # a worker is not a manager
            nodes = wait_for(
                "two ready nodes",
                lambda: (
                    n
                    if len(n := manager.nodes.list()) == 2
                    and all(x.status and x.status.state == "ready" for x in n)
                    else None
                ),
            )
            workers = [n for n in nodes if n.spec and n.spec.role == "worker"]
            assert len(workers) == 1
            worker_node = workers[0]
            assert worker_node.status and worker_node.status.addr == worker_addr
            assert worker_node.description and worker_node.description.engine
            versions = {
                (n.description.engine.engine_version or "")[:2]
                for n in nodes
                if n.description and n.description.engine
            }
            assert versions == {"20", "28"}

            manager.services.create(busybox_service(name, label, replicas=4))
            tasks = wait_running(manager, name, 4, timeout=120)
            assert {t.node_id for t in tasks} == {n.id for n in nodes}
            out, _ = service_output(manager, name, b"out-1")
            assert out.count(b"out-1\n") == 4  # the worker's task logs come through the manager
            on_worker = [t for t in tasks if t.node_id == worker_node.id]
            out, _ = manager.tasks.logs(on_worker[0].id or "").read_split()
            assert out == b"out-1\n"

            # Drain the worker: its tasks move to the manager.
            current = manager.nodes.inspect(worker_node.id or "")
            assert current.spec and current.version and current.version.index
            manager.nodes.update(
                current.id or "",
                NodeSpec.from_wire({**current.spec.to_wire(), "Availability": "drain"}),
                version=current.version.index,
            )
            moved = wait_for(
                "all 4 tasks on the manager",
                lambda: (
                    t
                    if len(t := running_tasks(manager, name)) == 4
                    and all(x.node_id != worker_node.id for x in t)
                    else None
                ),
                120,
            )
            assert len({t.node_id for t in moved}) == 1

            # The worker leaves; the manager sees it down and removes it.
            worker.swarm.leave()
            assert not in_swarm(worker)
            wait_for(
                "the worker to be down",
                lambda: (
                    (s := manager.nodes.inspect(worker_node.id or "").status) and s.state == "down"
                ),
            )
            manager.nodes.delete(worker_node.id or "")
            with pytest.raises(NotFound):
                manager.nodes.inspect(worker_node.id or "")
            assert len(manager.nodes.list()) == 1
            manager.services.delete(name)
        finally:
            leave_and_clean(worker, gw_worker)
            leave_and_clean(manager, gw_manager)
        assert not in_swarm(manager) and not in_swarm(worker)


def test_swarm_get_endpoints_round_trip_through_their_models(manager: Client, label: str) -> None:
    """The models issue's lossless rule for the swarm GET endpoints: raw JSON from the daemon,
    decoded with the model the operations table names, encoded again, is the same JSON."""
    import json as _json

    from engineapi import OPERATIONS, models
    from engineapi.api._call import Call

    name = f"rt-{label}"
    service = manager.services.create(busybox_service(name, label, replicas=1))
    secret = manager.secrets.create(name=f"rt-secret-{label}", data=b"s")
    config = manager.configs.create(name=f"rt-config-{label}", data=b"c")
    try:
        wait_running(manager, name, 1)
        node = manager.nodes.list()[0].id
        task = running_tasks(manager, name)[0].id
        paths = {
            "SwarmInspect": "/swarm",
            "NodeList": "/nodes",
            "NodeInspect": f"/nodes/{node}",
            "ServiceList": "/services",
            "ServiceInspect": f"/services/{service.id}",
            "TaskList": "/tasks",
            "TaskInspect": f"/tasks/{task}",
            "SecretList": "/secrets",
            "SecretInspect": f"/secrets/{secret.id}",
            "ConfigList": "/configs",
            "ConfigInspect": f"/configs/{config.id}",
        }
        for operation_id, path in paths.items():
            raw = manager.send(
                Call(operation_id, method="GET", path=path, decode=lambda r: _json.loads(r.body))
            )
            operation = OPERATIONS[operation_id]
            model = getattr(models, operation.response_model or "")
            items = raw if operation.response_is_list else [raw]
            assert items, operation_id
            for item in items:
                assert model.from_wire(item).to_wire() == item, operation_id
    finally:
        manager.services.delete(name)
        manager.secrets.delete(secret.id)
        manager.configs.delete(config.id)
