"""Plain-mapping request bodies are checked against the models; docker run keywords."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engineapi import models
from engineapi.api import Raw, configs, containers, exec, networks, secrets, services, swarm
from engineapi.api._call import Call
from engineapi.errors import InvalidArgument


def sent(call: Any) -> Any:
    assert isinstance(call, Call)
    assert isinstance(call.body, bytes)
    return json.loads(call.body)


def test_a_misspelled_key_says_what_was_meant() -> None:
    with pytest.raises(InvalidArgument) as info:
        containers.create({"Image": "busybox", "Comand": ["echo"]})
    assert str(info.value).startswith(
        "'Comand' is not a field of ContainerCreateRequest; did you mean 'Cmd'?"
    )
    assert info.value.argument == "Comand"
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_nested_models_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="'Bind' is not a field of HostConfig.*'Binds'"):
        containers.create({"Image": "b", "HostConfig": {"Bind": ["/a:/b"]}})
    with pytest.raises(InvalidArgument, match="'Src' is not a field of Mount.*'Source'") as info:
        containers.create({"Image": "b", "HostConfig": {"Mounts": [{"Type": "bind", "Src": "/"}]}})
    assert info.value.argument == "HostConfig.Mounts[0].Src"
    with pytest.raises(InvalidArgument, match="not a field of PortBinding"):
        containers.create(
            {"Image": "b", "HostConfig": {"PortBindings": {"80/tcp": [{"HostPrt": "1"}]}}}
        )
    with pytest.raises(InvalidArgument, match="not a field of EndpointSettings"):
        containers.create(
            {"Image": "b", "NetworkingConfig": {"EndpointsConfig": {"n": {"Alias": ["x"]}}}}
        )
    with pytest.raises(InvalidArgument, match="not a field of TaskSpecContainerSpec"):
        services.create({"Name": "s", "TaskTemplate": {"ContainerSpec": {"Imag": "busybox"}}})


def test_wrong_shapes_are_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"HostConfig\.Binds must be a list"):
        containers.create({"Image": "b", "HostConfig": {"Binds": "/a:/b"}})
    with pytest.raises(InvalidArgument, match="HostConfig must be a HostConfig"):
        containers.create({"Image": "b", "HostConfig": ["x"]})


def test_snake_case_and_wire_names_are_both_accepted() -> None:
    body = sent(
        containers.create(
            {
                "image": "busybox",
                "cmd": ["true"],
                "host_config": {"auto_remove": True, "Binds": ["/a:/b"]},
                "networking_config": {"endpoints_config": {"n": {"aliases": ["x"]}}},
            }
        )
    )
    assert body == {
        "Image": "busybox",
        "Cmd": ["true"],
        "HostConfig": {"AutoRemove": True, "Binds": ["/a:/b"]},
        "NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": ["x"]}}},
    }
    # The daemon's decoder ignores case; so does the check (sent under the wire name).
    assert sent(containers.create({"IMAGE": "b"})) == {"Image": "b"}
    with pytest.raises(InvalidArgument, match="both set 'HostConfig'"):
        containers.create({"HostConfig": {}, "host_config": {}})


def test_env_mappings_become_lists() -> None:
    body = sent(containers.create({"Image": "b", "Env": {"A": "1", "N": 2, "U": None}}))
    assert body["Env"] == ["A=1", "N=2", "U"]
    assert sent(exec.create("c", {"Cmd": ["env"], "Env": {"A": "1"}}))["Env"] == ["A=1"]
    spec = {"Name": "s", "TaskTemplate": {"ContainerSpec": {"Image": "b", "Env": {"A": "1"}}}}
    assert sent(services.create(spec))["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=1"]
    with pytest.raises(InvalidArgument, match="not a variable name"):
        containers.create({"Image": "b", "Env": {"A=B": "1"}})
    with pytest.raises(InvalidArgument, match="string or a number"):
        containers.create({"Image": "b", "Env": {"A": True}})


def test_raw_is_sent_as_given() -> None:
    assert sent(containers.create(Raw({"Image": "b", "FromTheFuture": 1}))) == {
        "Image": "b",
        "FromTheFuture": 1,
    }
    body = sent(containers.create({"Image": "b", "HostConfig": Raw({"NewKnob": {"x": 1}})}))
    assert body == {"Image": "b", "HostConfig": {"NewKnob": {"x": 1}}}
    assert repr(Raw({"a": 1})) == "Raw({'a': 1})"


def test_models_are_sent_as_they_are() -> None:
    request = models.ContainerCreateRequest(image="b")
    request.extra["FromTheFuture"] = True
    assert sent(containers.create(request)) == {"Image": "b", "FromTheFuture": True}


def test_every_model_or_mapping_builder_checks() -> None:
    bad: list[Any] = [
        lambda: networks.create({"Name": "n", "Drivr": "bridge"}),
        lambda: networks.connect("n", "c", endpoint_config={"Alias": []}),
        lambda: swarm.init({"ListenAdr": "x"}),
        lambda: swarm.join({"RemoteAdrs": ["x"]}),
        lambda: swarm.update({"Nam": "x"}, version=1),
        lambda: secrets.create({"Nam": "x"}),
        lambda: configs.create({"Nam": "x"}),
        lambda: containers.update("c", {"Memmory": 1}),
        lambda: exec.create("c", {"Cmdd": ["x"]}),
        lambda: services.update("s", {"Nme": "x"}, version=1),
    ]
    for make in bad:
        with pytest.raises(InvalidArgument, match="did you mean"):
            make()


# -- docker run keywords ----------------------------------------------------------------------

CLI_LIKE: dict[str, Any] = {
    "env": {"A": "1", "B": None},
    "ports": {"80": 8080, "90/udp": ("127.0.0.1", 9090), 70: None},
    "volumes": ["/h:/c:ro", "named:/n", "/anon"],
    "mounts": ["type=bind,src=/m,dst=/mm,readonly"],
    "labels": {"k": "v"},
    "network": "net1",
    "user": "1000:1000",
    "workdir": "/wd",
    "entrypoint": "sh -c",
    "auto_remove": True,
}


def test_run_keywords_send_what_the_cli_sends() -> None:
    body = sent(containers.create(image="busybox", command="echo 'a b' c", **CLI_LIKE))
    assert body == {
        "Image": "busybox",
        "Cmd": ["echo", "a b", "c"],
        "Entrypoint": ["sh -c"],
        "Env": ["A=1", "B"],
        "ExposedPorts": {"80/tcp": {}, "90/udp": {}, "70/tcp": {}},
        "Volumes": {"/anon": {}},
        "Labels": {"k": "v"},
        "User": "1000:1000",
        "WorkingDir": "/wd",
        "HostConfig": {
            "PortBindings": {
                "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                "90/udp": [{"HostIp": "127.0.0.1", "HostPort": "9090"}],
                "70/tcp": [{"HostIp": "", "HostPort": ""}],
            },
            "Binds": ["/h:/c:ro", "named:/n"],
            "Mounts": [{"Type": "bind", "Source": "/m", "Target": "/mm", "ReadOnly": True}],
            "NetworkMode": "net1",
            "AutoRemove": True,
        },
    }
    run = containers.run("busybox", "echo hi", **CLI_LIKE)
    assert run.body["Cmd"] == ["echo", "hi"] and run.auto_remove
    stream = containers.run_stream("busybox", ["echo", "a b"], env=["X=1"])
    assert stream.body["Cmd"] == ["echo", "a b"] and stream.body["Env"] == ["X=1"]


def test_run_detached_takes_the_keywords() -> None:
    flow = containers.run_detached("busybox", "sleep 9", ports={"80": 8080}, name="x")
    call = next(flow)
    assert sent(call)["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}]
    }
    assert sent(call)["Cmd"] == ["sleep", "9"]


def test_mount_strings() -> None:
    mounts = [
        "type=volume,src=v,dst=/d,volume-nocopy,volume-driver=local,volume-opt=a=b,volume-label=x=y",
        "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
        "src=v2,target=/e,ro=true",
        "type=bind,source=/s,destination=/d2,bind-propagation=rshared,consistency=cached",
    ]
    body = sent(containers.create(image="b", mounts=mounts))
    assert body["HostConfig"]["Mounts"] == [
        {
            "Type": "volume",
            "Source": "v",
            "Target": "/d",
            "VolumeOptions": {
                "NoCopy": True,
                "Labels": {"x": "y"},
                "DriverConfig": {"Name": "local", "Options": {"a": "b"}},
            },
        },
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o1770}},
        {"Type": "volume", "Source": "v2", "Target": "/e", "ReadOnly": True},
        {
            "Type": "bind",
            "Source": "/s",
            "Target": "/d2",
            "Consistency": "cached",
            "BindOptions": {"Propagation": "rshared"},
        },
    ]
    with pytest.raises(InvalidArgument, match="not a field of Mount"):
        containers.create(image="b", mounts=[{"Type": "bind", "Src": "/"}])
    with pytest.raises(InvalidArgument, match="unknown --mount key"):
        containers.create(image="b", mounts=["type=bind,sauce=/,dst=/x"])


def test_bad_shortcut_values() -> None:
    with pytest.raises(InvalidArgument, match="absolute path"):
        containers.create(image="b", volumes=["./rel:/r"])
    with pytest.raises(InvalidArgument, match="not SOURCE"):
        containers.create(image="b", volumes=["/h:rel"])
    with pytest.raises(InvalidArgument, match="not a container port"):
        containers.create(image="b", ports={"http": 80})
    with pytest.raises(InvalidArgument, match="No closing quotation"):
        containers.run("b", "echo 'x")


def test_shortcuts_merge_with_the_config_and_conflicts_raise() -> None:
    config = {
        "Env": ["A=1"],
        "Labels": {"a": "1"},
        "HostConfig": {"Binds": ["/x:/x"], "Memory": 1 << 20},
    }
    body = sent(
        containers.create(
            config, image="b", env={"A": "1", "B": "2"}, labels={"b": "2"}, volumes="/y:/y"
        )
    )
    assert body["Env"] == ["A=1", "B=2"]
    assert body["Labels"] == {"a": "1", "b": "2"}
    assert body["HostConfig"] == {"Binds": ["/x:/x", "/y:/y"], "Memory": 1 << 20}
    for kwargs in (
        {"env": {"A": "2"}},
        {"labels": {"a": "2"}},
        {"user": "root"},
        {"image": "other"},
        {"command": "true"},
    ):
        with pytest.raises(InvalidArgument, match="conflicts|config"):
            containers.create({**config, "Image": "b", "User": "me", "Cmd": ["x"]}, **kwargs)
    with pytest.raises(InvalidArgument, match="ports"):
        containers.create(
            {"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "1"}]}}},
            image="b",
            ports={80: 2},
        )
