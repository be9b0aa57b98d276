"""The API coverage report (tests/tools/coverage_api.py): path matching and the live scan."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from engineapi import OPERATIONS

TOOL = Path(__file__).resolve().parents[1] / "tools" / "coverage_api.py"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_api", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_api"] = module
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def test_paths_match_their_operations() -> None:
    m = tool.Matcher(OPERATIONS)
    assert m.match("GET", "/containers/json") == "ContainerList"
    assert m.match("GET", "/containers/abc/json") == "ContainerInspect"
    assert m.match("DELETE", "/containers/abc") == "ContainerDelete"
    assert m.match("GET", "/v1.51/containers/abc/logs?stdout=1") == "ContainerLogs"
    assert m.match("HEAD", "/_ping") == "SystemPingHead"
    assert m.match("GET", "/_ping") == "SystemPing"
    assert m.match("GET", "/images/json") == "ImageList"
    assert m.match("GET", "/images/reg:5000/team/app/json") == "ImageInspect"
    assert m.match("POST", "/images/reg:5000/app/push") == "ImagePush"
    assert m.match("GET", "/plugins/privileges") == "GetPluginPrivileges"
    assert m.match("GET", "/plugins/127.0.0.1:15000/x/p:v1/json") == "PluginInspect"
    assert m.match("GET", "/distribution/reg%3A5000%2Fapp/json") == "DistributionInspect"
    assert m.match("POST", "/services/web/update") == "ServiceUpdate"
    assert m.match("GET", "/nope") is None


def test_live_scan_takes_any_receiver(tmp_path: Path) -> None:
    source = tmp_path / "test_x.py"
    source.write_text(
        "manager.swarm.init(x)\nclient.networks.create(\n    y)\ncalls = [client.nodes.list]\n"
        "client.containers.list_all\nsomething.unknown.method()\n"
    )
    found = tool.live_calls([source], {"swarm", "networks", "nodes", "containers"})
    assert found == {
        ("swarm", "init"),
        ("networks", "create"),
        ("nodes", "list"),
        ("containers", "list_all"),
    }


def test_replay_counts_cassettes_per_engine(tmp_path: Path) -> None:
    for engine in ("docker20", "podman"):
        (tmp_path / engine).mkdir()
        cassette = {
            "engineapi_cassette": 1,
            "exchanges": [
                {"request": {"method": "GET", "path": "/networks"}, "response": None},
                {"request": {"method": "POST", "path": "/swarm/init"}, "response": None},
            ],
        }
        (tmp_path / engine / "a.json").write_text(json.dumps(cassette))
    (tmp_path / "docker20" / "broken.json").write_text("{")
    found = tool.replayed(sorted(tmp_path.glob("*/*.json")), tool.Matcher(OPERATIONS))
    assert found == {"NetworkList": {"docker20", "podman"}, "SwarmInit": {"docker20", "podman"}}


def test_report_has_every_operation_and_both_clients() -> None:
    rows = tool.report(OPERATIONS)
    assert len(rows) == len(OPERATIONS)
    by_id = {r["operation"]: r for r in rows}
    for op_id, row in by_id.items():
        if op_id in tool.LEFT_OUT:
            assert not row["client"] and row["left_out"]
        else:
            assert row["client"] and row["async_client"], op_id
    totals = tool.totals(rows)
    assert totals["both"] == len(OPERATIONS) - len(tool.LEFT_OUT)
    assert "methods on Client" in tool.render(rows)
