"""The generated models: decoding, encoding, open enums, field facts, lazy imports.

These need only the generated code, not the specs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import engineapi.models as models
from engineapi.models import (
    ChangeType,
    ContainerCreateRequest,
    ContainerSummary,
    ContainerSummaryState,
    EndpointSettings,
    FieldInfo,
    LocalNodeState,
    Mount,
    MountType,
    OpenEnum,
    PortSummary,
    WireModel,
    field_info,
    lenient_decoding,
)

REPO = Path(__file__).resolve().parents[2]

SUMMARY = {
    "Id": "8dfafdbc3a40",
    "Names": ["/boring_feynman"],
    "Image": "ubuntu:latest",
    "Created": 1367854155,
    "State": "running",
    "Ports": [{"PrivatePort": 2222, "PublicPort": 3333, "Type": "tcp"}],
    "Labels": {"com.example.vendor": "Acme"},
    "HostConfig": {"NetworkMode": "default"},
    "NetworkSettings": {
        "Networks": {
            "bridge": {
                "IPAMConfig": None,
                "Links": None,
                "NetworkID": "7ea29fc14122",
                "IPAddress": "172.17.0.2",
                "IPPrefixLen": 16,
            }
        }
    },
    "Mounts": [],
}


def test_decoding_gives_typed_nested_objects() -> None:
    c = ContainerSummary.from_wire(SUMMARY)
    assert c.id == "8dfafdbc3a40" and c.names == ["/boring_feynman"]
    assert c.ports is not None and isinstance(c.ports[0], PortSummary)
    assert c.ports[0].public_port == 3333
    assert c.network_settings is not None and c.network_settings.networks is not None
    bridge = c.network_settings.networks["bridge"]
    assert isinstance(bridge, EndpointSettings)
    assert (bridge.ip_address, bridge.network_id, bridge.ipam_config) == (
        "172.17.0.2",
        "7ea29fc14122",
        None,
    )
    assert c.size_rw is None and c.extra == {}
    assert c.to_wire() == SUMMARY


def test_explicit_nulls_and_absent_keys_stay_apart() -> None:
    e = EndpointSettings.from_wire({"Links": None, "IPAddress": "10.0.0.2"})
    assert e.links is None and e.aliases is None  # null and absent read alike …
    assert e.to_wire() == {"Links": None, "IPAddress": "10.0.0.2"}  # … but encode apart
    e.links = ["db"]
    assert e.to_wire()["Links"] == ["db"]
    e.links = None
    assert e.to_wire() == {"Links": None, "IPAddress": "10.0.0.2"}
    assert e == EndpointSettings(ip_address="10.0.0.2")  # nulls do not affect equality


def test_unknown_keys_are_kept_in_extra_and_written_back() -> None:
    port = {"PrivatePort": 80, "Type": "tcp", "New": 1}
    data = {**SUMMARY, "FutureField": {"a": [1, None]}, "Ports": [port]}
    c = ContainerSummary.from_wire(data)
    assert c.extra == {"FutureField": {"a": [1, None]}}
    assert c.ports is not None and c.ports[0].extra == {"New": 1}
    assert c.to_wire() == data


PORT = {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": None, "Type": "tcp"}  # every key


def test_objects_with_exactly_the_known_keys_take_the_fast_path_losslessly() -> None:
    p = PortSummary.from_wire(PORT)
    assert (p.ip, p.private_port, p.public_port, p.type) == ("0.0.0.0", 80, None, "tcp")
    assert p.type is models.PortSummaryType.TCP and p.to_wire() == PORT
    # As many keys as the class knows, but one unknown in place of a known one.
    swapped = {"IP": "::", "PrivatePort": 80, "Type": "udp", "Zone": None}
    q = PortSummary.from_wire(swapped)
    assert q.public_port is None and q.extra == {"Zone": None} and q.to_wire() == swapped
    # Every key null; and a class with a single key (its map of models decoded).
    nulls = dict.fromkeys(PORT)
    with lenient_decoding():  # PrivatePort and Type are required: strict decoding refuses
        assert PortSummary.from_wire(nulls).to_wire() == nulls
    settings = models.ContainerSummaryNetworkSettings.from_wire({"Networks": {"n": {}}})
    assert settings.networks is not None and isinstance(settings.networks["n"], EndpointSettings)


def test_any_mapping_decodes_without_being_changed() -> None:
    from collections import Counter, defaultdict
    from types import MappingProxyType

    partial = {"PrivatePort": 80, "Type": "tcp", "Extra": 1, "Other": 2}  # len == 4 too
    for data in (
        MappingProxyType(partial),
        defaultdict(list, partial),
        Counter(partial),
    ):
        p = PortSummary.from_wire(data)
        assert (p.ip, p.public_port, p.private_port) == (None, None, 80)
        assert p.extra == {"Extra": 1, "Other": 2} and p.to_wire() == partial
        assert dict(data) == partial  # no key added by a default factory


def test_extra_is_a_dict_made_on_first_use() -> None:
    p = PortSummary.from_wire({"PrivatePort": 80, "Type": "tcp"})
    tcp = models.PortSummaryType.TCP
    assert (
        p
        == PortSummary(private_port=80, type=tcp)
        == PortSummary(private_port=80, type=tcp, extra={})
    )
    assert p.extra == {} and p.extra is p.extra
    p.extra["Zone"] = "eu"
    assert p.to_wire() == {"PrivatePort": 80, "Type": "tcp", "Zone": "eu"}
    assert p != PortSummary(private_port=80, type=tcp)
    p.extra = {"Other": 1}
    assert p.to_wire() == {"PrivatePort": 80, "Type": "tcp", "Other": 1}
    assert repr(p) == "PortSummary(private_port=80, type=PortSummaryType.TCP, extra={'Other': 1})"
    assert attrs.evolve(p, private_port=1).extra == {"Other": 1}


def test_unexpected_value_types_are_kept_as_is() -> None:
    odd = {
        "Id": "c",
        "Names": "/not-a-list",
        "Ports": {"not": "a list"},
        "Mounts": [1, "two", None, {"Type": "bind"}],
        "State": 3,
        "Created": "2024-01-01T00:00:00Z",
        "NetworkSettings": [],
        "HostConfig": "x",
    }
    c = ContainerSummary.from_wire(odd)
    loose: Any = c  # the values contradict the annotations on purpose
    assert (loose.names, loose.state, loose.host_config) == ("/not-a-list", 3, "x")
    assert c.mounts is not None and c.mounts[:3] == [1, "two", None]
    assert c.to_wire() == odd
    assert ContainerSummary.from_wire(c.to_wire()) == c


def test_loose_fields_accept_every_shape_daemons_send() -> None:
    for cmd in ("echo hi", ["echo", "hi"]):
        req = ContainerCreateRequest.from_wire({"Cmd": cmd, "Entrypoint": cmd})
        assert req.cmd == cmd and req.to_wire() == {"Cmd": cmd, "Entrypoint": cmd}
    for created in (1367854155, "2013-05-06T15:22:35Z"):
        assert ContainerSummary.from_wire({"Id": "c", "Created": created}).created == created


def test_models_are_built_by_keyword_and_encode_only_what_is_set() -> None:
    req = ContainerCreateRequest(
        image="alpine",
        cmd=["true"],
        host_config=models.HostConfig(auto_remove=True, memory=1 << 20),
        extra={"Custom": 1},
    )
    assert req.to_wire() == {
        "Image": "alpine",
        "Cmd": ["true"],
        "HostConfig": {"AutoRemove": True, "Memory": 1 << 20},
        "Custom": 1,
    }
    with pytest.raises(TypeError):
        ContainerCreateRequest("alpine")  # type: ignore[call-arg]  # keyword-only


def test_container_create_request_flattens_config_host_and_networking() -> None:
    attrs_of = set(field_info(ContainerCreateRequest))
    assert {"image", "cmd", "env", "labels", "host_config", "networking_config"} <= attrs_of
    assert set(field_info(models.ContainerConfig)) < attrs_of
    assert isinstance(
        ContainerCreateRequest.from_wire({"HostConfig": {"Binds": []}}).host_config,
        models.HostConfig,
    )


def test_allof_children_subclass_their_base() -> None:
    assert issubclass(models.HostConfig, models.Resources)
    assert issubclass(models.ContainerUpdateRequest, models.Resources)
    assert issubclass(ContainerCreateRequest, models.ContainerConfig)
    assert issubclass(models.NetworkSummary, models.Network)
    assert issubclass(models.Swarm, models.ClusterInfo)
    # NetworkInspect types the Containers that Network keeps loose for older daemons.
    assert not issubclass(models.NetworkInspect, models.Network)
    assert list(field_info(models.HostConfig))[: len(field_info(models.Resources))] == list(
        field_info(models.Resources)
    )


@pytest.mark.parametrize(
    ("cls", "inherited", "own"),
    [
        ("HostConfig", "Memory", "Binds"),
        ("ContainerUpdateRequest", "CpuShares", "RestartPolicy"),
        ("Swarm", "Version", "JoinTokens"),
    ],
)
def test_a_subclass_decodes_inherited_and_own_keys_on_both_paths(
    cls: str, inherited: str, own: str
) -> None:
    model: type[WireModel] = getattr(models, cls)
    keys = [info.wire for info in field_info(model).values()]
    # Every key present (the fast path): explicit nulls on both sides of the base line.
    everything = dict.fromkeys(keys)
    decoded = model.from_wire(everything)
    assert decoded.to_wire() == everything and not decoded.extra
    # Some keys, one unknown (the per-key path).
    some = {inherited: None, own: None, "FromTheFuture": 1}
    decoded = model.from_wire(some)
    assert decoded.extra == {"FromTheFuture": 1} and decoded.to_wire() == some
    # As many keys as the class knows, one of them unknown.
    swapped = dict.fromkeys(keys[1:]) | {"FromTheFuture": 2}
    assert model.from_wire(swapped).to_wire() == swapped


def test_a_subclass_instance_is_accepted_where_its_base_is() -> None:
    host = models.HostConfig.from_wire({"Memory": 64 * 1024 * 1024, "Binds": ["/a:/b"]})
    assert isinstance(host, models.Resources) and host.memory == 64 * 1024 * 1024
    assert models.Resources.from_wire(host.to_wire()).extra == {"Binds": ["/a:/b"]}


def test_open_enums() -> None:
    assert ContainerSummaryState.RUNNING == "running"
    assert isinstance(ContainerSummaryState.RUNNING, str | OpenEnum)
    state = ContainerSummary.from_wire({"Id": "c", "State": "running"}).state
    assert state is ContainerSummaryState.RUNNING and state.is_known
    odd = ContainerSummary.from_wire({"Id": "c", "State": "hibernating"}).state
    assert isinstance(odd, ContainerSummaryState) and odd == "hibernating"
    assert not odd.is_known
    assert repr(odd) == "ContainerSummaryState('hibernating')"
    assert repr(ContainerSummaryState.RUNNING) == "ContainerSummaryState.RUNNING"
    assert ContainerSummaryState.constants()["DEAD"] == "dead"
    assert {"running": 1}[ContainerSummaryState.RUNNING] == 1
    assert json.dumps(ContainerSummaryState.RUNNING) == '"running"'
    assert LocalNodeState.decode("") is LocalNodeState.EMPTY
    assert ContainerSummaryState.decode(None) is None
    assert Mount(type=MountType.BIND).to_wire() == {"Type": "bind"}
    # The integer enum of filesystem changes.
    assert ChangeType.decode(1) is ChangeType.ADDED and ChangeType.ADDED == 1
    assert models.FilesystemChange.from_wire({"Path": "/a", "Kind": 9}).kind == 9


def test_field_info() -> None:
    info = field_info(ContainerSummary)
    assert list(info)[:3] == ["id", "names", "image"]
    assert info["image_id"] == FieldInfo(
        attr="image_id", wire="ImageID", since="1.41", deprecated=False
    )
    assert info["health"].since == "1.52"
    assert "extra" not in info
    assert field_info(models.HostConfig)["cpu_shares"].wire == "CpuShares"
    assert field_info(models.SystemInfo)["ncpu"].wire == "NCPU"


def test_repr_shows_only_what_is_set() -> None:
    port = PortSummary(private_port=80, type=models.PortSummaryType.TCP)
    assert repr(port) == "PortSummary(private_port=80, type=PortSummaryType.TCP)"


def test_every_exported_name_resolves() -> None:
    for name in models.__all__:
        value = getattr(models, name)
        if isinstance(value, type) and issubclass(value, WireModel) and value is not WireModel:
            assert attrs.has(value), name
            assert "__slots__" in vars(value), name
    assert "ContainerSummary" in dir(models)
    with pytest.raises(AttributeError):
        models.NoSuchModel  # noqa: B018


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    return set(out.split())


def test_importing_the_package_imports_no_model() -> None:
    loaded = _imported_after("import engineapi.models")
    assert not {m for m in loaded if m.startswith("engineapi.models.")}


def test_importing_one_class_imports_only_what_it_needs() -> None:
    loaded = _imported_after("from engineapi.models import ContainerSummary")
    generated = {
        m.rsplit(".", 1)[1] for m in loaded if m.startswith("engineapi.models._generated.")
    }
    assert generated == {
        "container_summary",
        "endpoint_ipam_config",
        "endpoint_settings",
        "mount_point",
        "mount_type",
        "oci_descriptor",
        "oci_platform",
        "port_summary",
    }


def test_encoding_gives_plain_json_types() -> None:
    port = {"PrivatePort": 53, "Type": "udp"}
    out = ContainerSummary.from_wire({"Id": "c", "State": "running", "Ports": [port]}).to_wire()
    assert type(out["State"]) is str and type(out["Ports"][0]["Type"]) is str
    change = models.FilesystemChange(path="/a", kind=ChangeType.ADDED)
    assert type(change.to_wire()["Kind"]) is int


def test_models_pickle_and_copy_with_their_nulls() -> None:
    import copy
    import pickle

    c = ContainerSummary.from_wire({"Id": "x", "Names": None, "State": "running", "Zed": 1})
    for clone in (pickle.loads(pickle.dumps(c)), copy.deepcopy(c)):
        assert clone == c and clone.to_wire() == c.to_wire()
        assert clone.state is ContainerSummaryState.RUNNING


def test_repr_never_shows_credentials() -> None:
    from engineapi.models import AuthConfig, AuthResponse, SecretSpec

    auth = AuthConfig.from_wire(
        {"username": "u", "password": "hunter2", "serveraddress": "r", "identitytoken": "tok9"}
    )
    assert "hunter2" not in repr(auth) and "tok9" not in repr(auth) and "u" in repr(auth)
    assert "tok8" not in repr(AuthResponse.from_wire({"IdentityToken": "tok8", "Status": "ok"}))
    assert "c2VjcmV0" not in repr(SecretSpec(name="s", data="c2VjcmV0"))
    assert auth.to_wire()["password"] == "hunter2"  # the wire form is untouched
