"""Networks and volumes: the calls the builders make — no I/O."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engineapi import OPERATIONS
from engineapi.api import networks, volumes
from engineapi.api._call import Call, Reply
from engineapi.http import Headers
from engineapi.models import (
    IPAM,
    EndpointIPAMConfig,
    EndpointSettings,
    IPAMConfig,
    NetworkCreateRequest,
    VolumeCreateRequest,
    VolumeUpdateRequest,
)


def query_of(call: Call[Any]) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(call.target("1.51")).query))


def body_of(call: Call[Any]) -> Any:
    assert isinstance(call.body, bytes)
    assert ("Content-Type", "application/json") in call.headers
    return json.loads(call.body)


def reply(body: object, status: int = 200) -> Reply:
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return Reply(status, Headers([("Content-Type", "application/json")]), raw)


def test_network_create_sends_typed_ipam() -> None:
    call = networks.create(
        NetworkCreateRequest(
            name="app",
            driver="bridge",
            ipam=IPAM(config=[IPAMConfig(subnet="10.50.0.0/24", gateway="10.50.0.1")]),
            labels={"team": "a"},
        )
    )
    assert (call.operation_id, call.method, call.path) == (
        "NetworkCreate",
        "POST",
        "/networks/create",
    )
    assert body_of(call) == {
        "Name": "app",
        "Driver": "bridge",
        "IPAM": {"Config": [{"Subnet": "10.50.0.0/24", "Gateway": "10.50.0.1"}]},
        "Labels": {"team": "a"},
    }
    created = call.decode(reply({"Id": "abc", "Warning": ""}, 201))
    assert created.id == "abc"


def test_network_create_accepts_a_mapping() -> None:
    assert body_of(networks.create({"Name": "app", "Internal": True})) == {
        "Name": "app",
        "Internal": True,
    }
    with pytest.raises(TypeError):
        networks.create("app")  # type: ignore[arg-type]


def test_network_list_inspect_delete_prune() -> None:
    call = networks.list(filters={"label": ["a=b"], "driver": "bridge"})
    assert json.loads(query_of(call)["filters"]) == {"label": ["a=b"], "driver": ["bridge"]}
    assert call.decode(reply(None)) == []  # some daemons answer null for none
    listed = call.decode(reply([{"Name": "bridge", "Id": "1", "Driver": "bridge"}]))
    assert [n.name for n in listed] == ["bridge"]

    call = networks.inspect("my/net", verbose=True, scope="swarm")
    assert call.target("1.51") == "/v1.51/networks/my%2Fnet?verbose=1&scope=swarm"
    assert networks.inspect("n").target(None) == "/networks/n"

    call = networks.delete("n")
    assert (call.method, call.path, call.decode(reply(b"", 204))) == ("DELETE", "/networks/n", None)

    call = networks.prune(filters={"until": "24h"})
    assert call.path == "/networks/prune" and json.loads(query_of(call)["filters"]) == {
        "until": ["24h"]
    }
    assert call.decode(reply({"NetworksDeleted": ["a"]})).networks_deleted == ["a"]


def test_network_connect_and_disconnect_bodies() -> None:
    call = networks.connect(
        "net",
        "web",
        endpoint_config=EndpointSettings(
            aliases=["db"], ipam_config=EndpointIPAMConfig(ipv4_address="10.50.0.10")
        ),
    )
    assert (call.operation_id, call.path) == ("NetworkConnect", "/networks/net/connect")
    assert body_of(call) == {
        "Container": "web",
        "EndpointConfig": {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "10.50.0.10"}},
    }
    assert body_of(networks.connect("net", "web")) == {"Container": "web"}
    assert body_of(networks.disconnect("net", "web")) == {"Container": "web"}
    call = networks.disconnect("net", "web", force=True)
    assert call.path == "/networks/net/disconnect"
    assert body_of(call) == {"Container": "web", "Force": True}


#: A volume as Docker sends it: every key the spec requires (``Options`` may be null).
VOLUME = {
    "Name": "v",
    "Driver": "local",
    "Mountpoint": "/var/lib/docker/volumes/v/_data",
    "Labels": {},
    "Scope": "local",
    "Options": None,
}


def test_volume_create_config_and_keywords() -> None:
    call = volumes.create(VolumeCreateRequest(name="data", labels={"a": "1"}), driver="local")
    assert (call.operation_id, call.path) == ("VolumeCreate", "/volumes/create")
    assert body_of(call) == {"Name": "data", "Labels": {"a": "1"}, "Driver": "local"}
    assert body_of(volumes.create()) == {}  # an anonymous volume
    call = volumes.create(name="x", driver_opts={"type": "tmpfs"}, labels={"b": "2"})
    assert body_of(call) == {"Name": "x", "DriverOpts": {"type": "tmpfs"}, "Labels": {"b": "2"}}
    volume = call.decode(reply({**VOLUME, "Name": "x", "Mountpoint": "/m"}, 201))
    assert (volume.name, volume.mountpoint) == ("x", "/m")


def test_volume_list_inspect_delete_prune() -> None:
    call = volumes.list(filters={"dangling": ["true"]})
    assert call.path == "/volumes" and json.loads(query_of(call)["filters"]) == {
        "dangling": ["true"]
    }
    listed = call.decode(reply({"Volumes": [{**VOLUME, "Name": "a"}], "Warnings": None}))
    assert [v.name for v in listed.volumes or ()] == ["a"]
    assert volumes.inspect("a b").path == "/volumes/a%20b"
    call = volumes.delete("a", force=True)
    assert (call.method, query_of(call)) == ("DELETE", {"force": "1"})
    assert "force" not in query_of(volumes.delete("a"))
    call = volumes.prune(filters={"all": ["true"]})
    assert call.response_timeout is None  # removing many volumes can take long
    assert call.decode(reply({"VolumesDeleted": ["a"], "SpaceReclaimed": 5})).space_reclaimed == 5


def test_volume_update_is_a_cluster_volume_call_of_api_1_42() -> None:
    call = volumes.update(
        "csi-vol", VolumeUpdateRequest.from_wire({"Spec": {"Availability": "drain"}}), version=7
    )
    assert (call.operation_id, call.method, call.path) == (
        "VolumeUpdate",
        "PUT",
        "/volumes/csi-vol",
    )
    assert query_of(call) == {"version": "7"}
    assert body_of(call) == {"Spec": {"Availability": "drain"}}
    assert OPERATIONS["VolumeUpdate"].since == "1.42"
    # Docker answers a successful update with an empty 200.
    assert call.decode(reply(b"", 200)) is None
