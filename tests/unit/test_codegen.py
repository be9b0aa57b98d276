"""The model/operations generator: output up to date, naming rules, the operations table.

The specs are vendored in ``engineapi/_codegen/engine-api/``; ``ENGINEAPI_SPECS`` points
elsewhere, and a directory without them fails, naming where it looked.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from engineapi._apiversion import MAX_API_VERSION, MIN_API_VERSION, version_key
from engineapi._codegen import models as codegen
from engineapi._codegen.naming import attribute_name, constant_name, pascal_case, snake_case
from engineapi._codegen.specs import (
    DEFAULT_SPECS_DIR,
    SPECS_ENV,
    Spec,
    SpecsNotFoundError,
    is_deprecated,
    load_specs,
    missing_specs_message,
    specs_dir,
)
from engineapi.api._operations import OPERATIONS
from engineapi.api._optypes import Operation


def require_specs() -> list[Spec]:
    """The parsed specs, oldest first; fails when they are missing."""
    directory = specs_dir()
    if not directory.is_dir():
        pytest.fail(missing_specs_message(directory))
    return load_specs(directory)


# -- the generated files ----------------------------------------------------------------------


def test_generated_files_are_up_to_date() -> None:
    require_specs()
    differing = codegen.check()
    assert not differing, (
        "generated files differ from a fresh generation; run "
        "`python -m engineapi._codegen.models`:\n  " + "\n  ".join(differing)
    )


def test_missing_specs_name_the_directory_and_the_escape_hatches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "no-such-specs"
    monkeypatch.setenv(SPECS_ENV, str(nowhere))
    with pytest.raises(SpecsNotFoundError) as raised:
        codegen.check()
    message = str(raised.value)
    assert str(nowhere) in message
    assert SPECS_ENV in message and str(DEFAULT_SPECS_DIR) in message
    assert codegen.main(["--check"]) == 2
    assert str(nowhere) in capsys.readouterr().err


def test_default_spec_directory_is_the_vendored_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPECS_ENV, raising=False)
    package = Path(codegen.__file__).resolve().parent
    assert specs_dir() == package / "engine-api"
    assert (specs_dir() / "v1.41.yaml").is_file()


# -- naming -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "attr"),
    [
        ("IPAddress", "ip_address"),
        ("NetworkID", "network_id"),
        ("HostConfig", "host_config"),
        ("CPUShares", "cpu_shares"),
        ("NanoCPUs", "nano_cpus"),
        ("GlobalIPv6PrefixLen", "global_ipv6_prefix_len"),
        ("IOMaximumIOps", "io_maximum_iops"),
        ("DeviceIDs", "device_ids"),
        ("InsecureRegistryCIDRs", "insecure_registry_cidrs"),
        ("SELinuxContext", "selinux_context"),
        ("NGoroutines", "n_goroutines"),
        ("os.version", "os_version"),
        ("rx_bytes", "rx_bytes"),
        ("from", "from_"),
        ("extra", "extra_"),
    ],
)
def test_attribute_names(wire: str, attr: str) -> None:
    assert attribute_name(wire) == attr


def test_other_names() -> None:
    assert snake_case("SystemDataUsage") == "system_data_usage"
    assert pascal_case("os.features") == "OsFeatures"
    assert pascal_case("cpu_stats") == "CpuStats"
    assert constant_name("running") == "RUNNING"
    assert constant_name("json-file") == "JSON_FILE"
    assert constant_name("bundle-v0.3") == "BUNDLE_V0_3"
    assert constant_name("TimestampAuthority") == "TIMESTAMP_AUTHORITY"
    assert constant_name("") == "EMPTY"
    assert constant_name("2") == "V2"


def test_deprecation_is_read_from_markers_not_passing_mentions() -> None:
    assert is_deprecated({"x-deprecated": True})
    assert is_deprecated({"description": "> **Deprecated**: This field is never set."})
    assert is_deprecated({"description": "MAC address.\n\nDeprecated: use EndpointSettings."})
    assert not is_deprecated({"description": "as set by MAINTAINER (deprecated) in a Dockerfile"})


# -- the operations table -------------------------------------------------------------------------


def test_operations_table_covers_the_newest_spec() -> None:
    specs = require_specs()
    newest = specs[-1]
    ids = [operation["operationId"] for _path, _method, operation in newest.operations()]
    assert list(OPERATIONS) == ids
    assert (specs[0].version, newest.version) == (MIN_API_VERSION, MAX_API_VERSION)
    for path, method, spec_op in newest.operations():
        op = OPERATIONS[spec_op["operationId"]]
        assert (op.path, op.http_method, op.tag) == (path, method.upper(), spec_op["tags"][0])
        spec_params = {(p["in"], p["name"]) for p in spec_op.get("parameters", ())}
        current = {(p.location, p.name) for p in op.params.values() if p.until is None}
        assert current == spec_params


def test_operation_and_parameter_versions_match_the_specs() -> None:
    specs = require_specs()
    first_op: dict[str, str] = {}
    first_param: dict[tuple[str, str, str], str] = {}
    for spec in specs:
        for _path, _method, operation in spec.operations():
            first_op.setdefault(operation["operationId"], spec.version)
            for p in operation.get("parameters", ()):
                first_param.setdefault((operation["operationId"], p["in"], p["name"]), spec.version)
    for op in OPERATIONS.values():
        assert op.since == first_op[op.operation_id], op.operation_id
        for param in op.params.values():
            assert param.since == first_param[(op.operation_id, param.location, param.name)]
    # Spot checks: one operation new in 1.42, one in 1.55, and a dropped parameter.
    assert OPERATIONS["VolumeUpdate"].since == "1.42"
    assert OPERATIONS["ImageAttestations"].since == "1.55"
    assert OPERATIONS["ContainerList"].since == MIN_API_VERSION
    keep_storage = OPERATIONS["BuildPrune"].params["keep-storage"]
    assert (keep_storage.until, keep_storage.deprecated) == ("1.51", True)
    assert keep_storage.available_in("1.51") and not keep_storage.available_in("1.52")


def test_namespaces_and_method_names() -> None:
    expected = {
        "ContainerList": ("containers", "list"),
        "SystemDataUsage": ("system", "data_usage"),
        "ImageBuild": ("images", "build"),
        "BuildPrune": ("images", "build_prune"),
        "ContainerExec": ("exec", "create"),
        "ExecStart": ("exec", "start"),
        "SystemPing": ("system", "ping"),
        "SystemPingHead": ("system", "ping_head"),
        "ContainerArchiveInfo": ("containers", "archive_info"),
        "PutContainerArchive": ("containers", "put_archive"),
        "ContainerArchive": ("containers", "get_archive"),
        "ImageGet": ("images", "get"),
        "ImageGetAll": ("images", "get_all"),
        "ImageCreate": ("images", "create"),
        "GetPluginPrivileges": ("plugins", "privileges"),
        "PluginList": ("plugins", "list"),
        "SwarmInit": ("swarm", "init"),
        "SwarmUnlockkey": ("swarm", "unlock_key"),
        "Session": ("session", "start"),
        "DistributionInspect": ("distribution", "inspect"),
    }
    for operation_id, place in expected.items():
        op = OPERATIONS[operation_id]
        assert (op.namespace, op.method_name) == place, operation_id
    places = [(op.namespace, op.method_name) for op in OPERATIONS.values()]
    assert len(places) == len(set(places))
    assert {op.namespace for op in OPERATIONS.values()} == {
        "system", "containers", "images", "networks", "volumes", "exec", "swarm", "nodes",
        "services", "tasks", "secrets", "configs", "plugins", "distribution", "session",
    }  # fmt: skip


def test_operation_models_and_media_types() -> None:
    import engineapi.models as models

    for op in OPERATIONS.values():
        for name in (op.request_model, op.response_model):
            if name is not None:
                assert isinstance(getattr(models, name), type), (op.operation_id, name)
        assert all(isinstance(code, int) and code < 300 for code in op.success_codes)
    create = OPERATIONS["ContainerCreate"]
    assert (create.request_model, create.response_model) == (
        "ContainerCreateRequest",
        "ContainerCreateResponse",
    )
    assert "application/json" in create.consumes
    listing = OPERATIONS["ContainerList"]
    assert (listing.response_model, listing.response_is_list) == ("ContainerSummary", True)
    assert listing.consumes == ()  # no body: the spec-wide default does not apply
    assert OPERATIONS["PluginPull"].request_is_list
    assert OPERATIONS["ServiceCreate"].request_model == "ServiceSpec"
    assert OPERATIONS["SystemDataUsage"].response_model == "SystemDataUsageResponse"
    assert OPERATIONS["Session"].deprecated
    body = create.params["body"]
    assert (body.location, body.type, body.required) == ("body", "ContainerCreateRequest", True)
    platform = OPERATIONS["ImageGet"].params["platform"]
    assert (platform.type, platform.item_type, platform.collection_format) == (
        "array",
        "string",
        "multi",
    )
    assert OPERATIONS["ImageCreate"].params["fromImage"].python_name == "from_image"
    assert OPERATIONS["ImageCreate"].params["X-Registry-Auth"].location == "header"
    assert OPERATIONS["ContainerList"].params_in("path") == ()
    assert [p.name for p in OPERATIONS["ContainerInspect"].params_in("path")] == ["id"]


def test_version_helpers() -> None:
    assert version_key("1.41") == (1, 41)
    assert version_key("1.9") < version_key("1.41")
    op: Operation = OPERATIONS["ImageAttestations"]
    assert op.available_in("1.55") and not op.available_in("1.54")


def test_the_oldest_version_is_the_same_everywhere() -> None:
    from engineapi._apiversion import MIN_API_VERSION
    from engineapi.api._optypes import Param
    from engineapi.models._base import OLDEST_API_VERSION

    # Generated code omits since= when it equals the default of wire_field() / Param.
    default_since = attrs.fields(Param).since.default
    assert MIN_API_VERSION == OLDEST_API_VERSION == MIN_API_VERSION == default_since
