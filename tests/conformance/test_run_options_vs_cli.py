"""The docker run keywords send what ``docker run`` sends for the same options.

The docker CLI is pointed at the recording daemon of ``test_build_context_vs_cli`` and runs
``docker run -d OPTIONS busybox CMD``; the keys its ``POST /containers/create`` body sets for
those options must be the ones engineapi's body sets for the matching keywords (the CLI also
sends every other key with its zero value, which are left out of the comparison).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engineapi.api import containers
from tests.conformance.test_build_context_vs_cli import FakeDaemon, clean_env, fake_daemon

__all__ = ["fake_daemon"]

#: (docker run options, engineapi keywords)
CASES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "env": (["-e", "A=1", "-e", "B", "-e", "C="], {"env": {"A": "1", "B": None, "C": ""}}),
    "env-list": (["-e", "A=1"], {"env": ["A=1"]}),
    "ports": (
        ["-p", "8080:80", "-p", "127.0.0.1:9090:90/udp", "-p", "70", "-p", "127.0.0.1::60"],
        {"ports": {"80": 8080, "90/udp": ("127.0.0.1", 9090), 70: None, "60": ("127.0.0.1",)}},
    ),
    "two-bindings": (["-p", "8080:80", "-p", "8081:80"], {"ports": {"80/tcp": [8080, 8081]}}),
    "volumes": (
        ["-v", "/h:/c:ro", "-v", "named:/n", "-v", "/anon"],
        {"volumes": ["/h:/c:ro", "named:/n", "/anon"]},
    ),
    "mounts": (
        [
            "--mount",
            "type=bind,src=/m,dst=/mm,readonly",
            "--mount",
            "type=volume,src=v,dst=/d,volume-nocopy,volume-driver=local,volume-opt=a=b",
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
        ],
        {
            "mounts": [
                "type=bind,src=/m,dst=/mm,readonly",
                "type=volume,src=v,dst=/d,volume-nocopy,volume-driver=local,volume-opt=a=b",
                {
                    "Type": "tmpfs",
                    "Target": "/t",
                    "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1770},
                },
            ]
        },
    ),
    "labels": (
        ["--label", "k=v", "-l", "a=b=c", "-l", "only"],
        {"labels": ["k=v", "a=b=c", "only"]},
    ),
    "network": (["--network", "net1"], {"network": "net1"}),
    "user-workdir": (["-u", "1000:1000", "-w", "/wd"], {"user": "1000:1000", "workdir": "/wd"}),
    "entrypoint": (["--entrypoint", "sh -c"], {"entrypoint": "sh -c"}),
    "entrypoint-cleared": (["--entrypoint="], {"entrypoint": ""}),
    "rm": (["--rm"], {"auto_remove": True}),
}

#: Where the CLI's zero values hide the keys that matter: compared only when ours sets them.
PATHS = [
    ("Env",),
    ("ExposedPorts",),
    ("Volumes",),
    ("Labels",),
    ("User",),
    ("WorkingDir",),
    ("Entrypoint",),
    ("Cmd",),
    ("HostConfig", "PortBindings"),
    ("HostConfig", "Binds"),
    ("HostConfig", "Mounts"),
    ("HostConfig", "NetworkMode"),
    ("HostConfig", "AutoRemove"),
]


def pick(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        body = body.get(key) or {} if isinstance(body, dict) else {}
    return body or None


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_keywords_send_what_the_cli_sends(
    case: str, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    options, keywords = CASES[case]
    command = ["echo", "a b", "c"]
    result, recorded = fake_daemon.run(
        ["run", "-d", *options, "busybox", *command], env=clean_env(tmp_path / "cfg")
    )
    creates = [r for r in recorded if r.path == "/containers/create"]
    assert creates, result.stderr
    cli = json.loads(creates[0].body)
    ours = json.loads(
        containers.create(image="busybox", command="echo 'a b' c", **keywords).body  # type: ignore[arg-type]
    )
    for path in PATHS:
        if pick(ours, path) is not None:
            # The CLI builds these from Go maps: any order (seen for Binds and Env).
            if path in {("HostConfig", "Binds"), ("Env",)}:
                assert sorted(pick(ours, path)) == sorted(pick(cli, path)), case
            else:
                assert pick(ours, path) == pick(cli, path), (case, path)
    # Nothing the options set on the CLI side is missing from ours ("default" is the CLI's
    # NetworkMode without --network: the daemon's default too).
    for path in PATHS:
        if pick(cli, path) not in (None, False, "default"):
            assert pick(ours, path) is not None, (case, path, pick(cli, path))
