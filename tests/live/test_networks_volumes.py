"""Networks and volumes on every live engine: typed IPAM and endpoint config, connect and
disconnect, filters, prune; volume update where the engine lacks cluster volumes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from engineapi import (
    APIVersionError,
    AsyncClient,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from engineapi.models import (
    IPAM,
    ContainerCreateRequest,
    EndpointIPAMConfig,
    EndpointSettings,
    HostConfig,
    IPAMConfig,
    NetworkCreateRequest,
    NetworkCreateResponse,
    NetworkInspect,
    NetworkSummary,
    Volume,
    VolumeCreateRequest,
    VolumeUpdateRequest,
)
from tests.conftest import Engine

#: One /24 per engine: the Docker engines and Podman all put their bridges in the host's
#: network namespace, so their subnets must not overlap.
SUBNET_BY_ENGINE = {"docker20": 20, "docker28": 28, "podman": 88}


def subnet_of(engine: Engine) -> str:
    return f"10.251.{SUBNET_BY_ENGINE.get(engine.name, 99)}"


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    with Client(engine.host) as c:
        yield c


@pytest.fixture
def label() -> str:
    """A label value of this test only, for filters and for the clean-up."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def cleanup(client: Client, label: str) -> Iterator[None]:
    yield
    for c in client.containers.list(all=True, filters={"label": [f"engineapi.test={label}"]}):
        client.containers.delete(c.id, force=True)
    for n in client.networks.list(filters={"label": [f"engineapi.test={label}"]}):
        try:
            client.networks.delete(n.id)
        except NotFound:
            pass
    volumes = client.volumes.list(filters={"label": [f"engineapi.test={label}"]}).volumes
    for v in volumes or ():
        try:
            client.volumes.delete(v.name, force=True)
        except NotFound:
            pass


@pytest.mark.usefixtures("cleanup")
def test_network_with_ipam_connect_disconnect(client: Client, engine: Engine, label: str) -> None:
    prefix = subnet_of(engine)
    name = f"engineapi-net-{label}"
    created = client.networks.create(
        NetworkCreateRequest(
            name=name,
            driver="bridge",
            ipam=IPAM(
                driver="default",
                config=[
                    IPAMConfig(
                        subnet=f"{prefix}.0/24",
                        gateway=f"{prefix}.1",
                        ip_range=f"{prefix}.128/25",
                    )
                ],
            ),
            labels={"engineapi.test": label, "role": "ipam"},
            options={"com.docker.network.bridge.name": f"eanet{SUBNET_BY_ENGINE[engine.name]}"},
        )
    )
    assert isinstance(created, NetworkCreateResponse) and created.id
    net = client.networks.inspect(created.id)
    assert isinstance(net, NetworkInspect)
    assert net.name == name and net.driver == "bridge"
    assert net.labels == {"engineapi.test": label, "role": "ipam"}
    assert net.ipam is not None and net.ipam.config
    assert net.ipam.config[0].subnet == f"{prefix}.0/24"
    assert net.ipam.config[0].gateway == f"{prefix}.1"
    by_name = client.networks.inspect(name, verbose=True)
    assert by_name.id == created.id

    listed = client.networks.list(filters={"label": [f"engineapi.test={label}"]})
    assert [n.name for n in listed] == [name]
    assert all(isinstance(n, NetworkSummary) for n in listed)
    assert client.networks.list(filters={"label": ["role=no-such-role"], "name": [name]}) == []

    # A stopped container, connected with an alias and a static address on the network.
    cid = client.containers.create(
        ContainerCreateRequest(
            image="busybox", cmd=["sleep", "300"], labels={"engineapi.test": label}
        )
    ).id
    assert cid
    client.networks.connect(
        created.id,
        cid,
        endpoint_config=EndpointSettings(
            aliases=["engineapi-db"],
            ipam_config=EndpointIPAMConfig(ipv4_address=f"{prefix}.200"),
        ),
    )
    client.containers.start(cid)
    settings = client.containers.inspect(cid).network_settings
    assert settings is not None and settings.networks is not None
    endpoint = settings.networks[name]
    assert endpoint.ip_address == f"{prefix}.200"
    assert "engineapi-db" in (endpoint.aliases or [])
    attached = client.networks.inspect(created.id).containers or {}
    if not engine.is_podman:  # Podman 4.3 lists no containers in a network's inspect
        assert cid in attached
        assert (attached[cid].ipv4_address or "").startswith(f"{prefix}.200/")

    if not engine.is_podman:
        # In use by a running container: refused with 403. (Podman 4.3 removes it from
        # under the container when it was attached with `connect`, leaving its bridge.)
        with pytest.raises(Forbidden, match="active endpoints"):
            client.networks.delete(created.id)
    client.networks.disconnect(created.id, cid, force=True)
    settings = client.containers.inspect(cid).network_settings
    assert name not in (settings.networks or {} if settings else {})
    client.networks.delete(created.id)
    with pytest.raises(NotFound):
        client.networks.inspect(created.id)


@pytest.mark.usefixtures("cleanup")
def test_network_prune_by_label(client: Client, label: str) -> None:
    doomed = client.networks.create(
        {"Name": f"engineapi-prune-{label}", "Labels": {"engineapi.test": label}}
    )
    kept = client.networks.create(
        {"Name": f"engineapi-keep-{label}", "Labels": {"engineapi.test": label, "keep": "1"}}
    )
    pruned = client.networks.prune(
        filters={"label": [f"engineapi.test={label}"], "label!": ["keep"]}
    )
    assert f"engineapi-prune-{label}" in (pruned.networks_deleted or [])
    assert f"engineapi-keep-{label}" not in (pruned.networks_deleted or [])
    assert client.networks.inspect(kept.id or "").name == f"engineapi-keep-{label}"
    with pytest.raises(NotFound):
        client.networks.inspect(doomed.id or "")


@pytest.mark.usefixtures("cleanup")
def test_volume_lifecycle(client: Client, engine: Engine, label: str) -> None:
    name = f"engineapi-vol-{label}"
    volume = client.volumes.create(
        VolumeCreateRequest(name=name, driver="local", labels={"engineapi.test": label})
    )
    assert isinstance(volume, Volume)
    assert volume.name == name and volume.driver == "local"
    assert volume.labels == {"engineapi.test": label}
    again = client.volumes.create(name=name, labels={"engineapi.test": label})
    assert again.name == name  # creating an existing name returns it
    inspected = client.volumes.inspect(name)
    assert inspected.mountpoint and inspected.labels == {"engineapi.test": label}

    anonymous = client.volumes.create(labels={"engineapi.test": label, "anonymous": "1"})
    assert anonymous.name and len(anonymous.name) >= 32

    listed = client.volumes.list(filters={"label": [f"engineapi.test={label}"]})
    assert sorted(v.name or "" for v in listed.volumes or ()) == sorted([name, anonymous.name])
    only_named = client.volumes.list(filters={"name": [name]})
    assert [v.name for v in only_named.volumes or ()] == [name]

    # In use by a container: removing it is refused.
    cid = client.containers.create(
        ContainerCreateRequest(
            image="busybox",
            cmd=["true"],
            labels={"engineapi.test": label},
            host_config=HostConfig(binds=[f"{name}:/data"]),
        )
    ).id
    with pytest.raises(Conflict):
        client.volumes.delete(name)
    client.containers.delete(cid or "")
    client.volumes.delete(name)
    with pytest.raises(NotFound):
        client.volumes.inspect(name)
    client.volumes.delete(anonymous.name)


@pytest.mark.usefixtures("cleanup")
def test_volume_prune_by_label(client: Client, label: str) -> None:
    doomed = f"engineapi-prune-{label}"
    kept = f"engineapi-keep-{label}"
    client.volumes.create(name=doomed, labels={"engineapi.test": label, "prune": label})
    client.volumes.create(name=kept, labels={"engineapi.test": label})
    filters: dict[str, list[str]] = {"label": [f"prune={label}"]}
    if client.api_version() >= "1.42":
        filters["all"] = ["true"]  # from 1.42 only anonymous volumes unless `all`
    pruned = client.volumes.prune(filters=filters)
    assert pruned.volumes_deleted == [doomed]
    assert client.volumes.inspect(kept).name == kept
    with pytest.raises(NotFound):
        client.volumes.inspect(doomed)


def test_volume_update_needs_a_cluster_volume(client: Client, engine: Engine) -> None:
    """Outside a swarm (and before API 1.42) there are no cluster volumes to update: the
    engine's answer is raised as it is, or the version gate stops the call."""
    request = VolumeUpdateRequest.from_wire({"Spec": {"Availability": "drain"}})
    if client.api_version() < "1.42":
        with pytest.raises(APIVersionError, match="VolumeUpdate"):
            client.volumes.update("engineapi-no-such-volume", request, version=1)
        return
    with pytest.raises(ServiceUnavailable) as info:
        client.volumes.update("engineapi-no-such-volume", request, version=1)
    assert "cluster volume" in info.value.message and info.value.status == 503


async def test_async_networks_and_volumes(engine: Engine, label: str) -> None:
    async with AsyncClient(engine.host) as client:
        try:
            created = await client.networks.create(
                {"Name": f"engineapi-async-{label}", "Labels": {"engineapi.test": label}}
            )
            volume = await client.volumes.create(
                name=f"engineapi-async-{label}", labels={"engineapi.test": label}
            )
            nets = await client.networks.list(filters={"label": [f"engineapi.test={label}"]})
            vols = await client.volumes.list(filters={"label": [f"engineapi.test={label}"]})
            assert [n.id for n in nets] == [created.id]
            assert [v.name for v in vols.volumes or ()] == [volume.name]
        finally:
            for n in await client.networks.list(filters={"label": [f"engineapi.test={label}"]}):
                await client.networks.delete(n.id or "")
            for v in (
                await client.volumes.list(filters={"label": [f"engineapi.test={label}"]})
            ).volumes or ():
                await client.volumes.delete(v.name or "")
