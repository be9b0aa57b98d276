"""Keys the spec requires and every engine sends are typed without ``None``; a reply lacking
one raises `MissingFieldError` unless decoding is lenient. The evidence behind the typing is
``engineapi/_codegen/required-evidence.json`` (``python -m engineapi._codegen.required_evidence``).
"""

from __future__ import annotations

import json
import pydoc
import typing
from pathlib import Path

import pytest

import engineapi.models as models
from engineapi._codegen.evidence import (
    EVIDENCE_FILE,
    IDENTITY_KEYS,
    apply_evidence,
    keep_requests_optional,
)
from engineapi._codegen.models import build_registry
from engineapi._codegen.required_evidence import Evidence, read_cassettes
from engineapi._codegen.schema import ModelDef
from engineapi.errors import MissingFieldError, RemoteProtocolError
from engineapi.models import (
    ContainerCreateResponse,
    NetworkCreateRequest,
    PortSummary,
    Volume,
    field_info,
    lenient_decoding,
)

REPO = Path(__file__).resolve().parents[2]
VOLUME: dict[str, object] = {
    "Name": "v",
    "Driver": "local",
    "Mountpoint": "/m",
    "Labels": {},
    "Scope": "local",
    "Options": None,
}


def _optional(cls: type, attr: str) -> bool:
    hint = typing.get_type_hints(cls)[attr]
    return type(None) in typing.get_args(hint)


def test_required_and_sent_keys_are_typed_without_none() -> None:
    for cls, attr in [
        (ContainerCreateResponse, "id"),
        (models.NetworkCreateResponse, "id"),
        (Volume, "name"),
        (models.ImageSummary, "id"),
        (models.ContainerWaitResponse, "status_code"),
        (models.IDResponse, "id"),  # Docker's {"ID": …} of SecretCreate is renamed first
    ]:
        assert not _optional(cls, attr), f"{cls.__name__}.{attr}"
        assert field_info(cls)[attr].required
    # The spec requires these too, but engines leave them out or send null.
    for cls, attr in [
        (Volume, "options"),
        (models.ImageSummary, "repo_tags"),
        (Volume, "labels"),  # null for a volume created without labels
    ]:
        assert _optional(cls, attr) and not field_info(cls)[attr].required
    # Neither required by the spec nor identifying: Optional.
    assert _optional(models.ContainerSummary, "image")


def test_identity_keys_are_typed_without_none_where_every_engine_sends_them() -> None:
    """The spec does not list these as required; they name the object, and the evidence
    shows every engine sending them."""
    for cls, attr in [
        (models.ContainerSummary, "id"),
        (models.ContainerInspectResponse, "id"),
        (models.ImageInspect, "id"),
        (models.NetworkSummary, "id"),
        (models.NetworkSummary, "name"),
        (models.NetworkInspect, "name"),
        (models.ExecInspectResponse, "id"),
    ]:
        assert not _optional(cls, attr), f"{cls.__name__}.{attr}"
    seen = json.loads(EVIDENCE_FILE.read_text())["seen"]
    for model, wire in IDENTITY_KEYS - {("Network", "Id"), ("Network", "Name")}:
        assert seen[model][wire] == ["docker20", "docker28", "podman"], (model, wire)
    assert issubclass(models.NetworkSummary, models.Network)  # still built on it


def test_request_only_classes_keep_their_constructor() -> None:
    assert NetworkCreateRequest().name is None  # the builder or the daemon checks it
    assert not field_info(NetworkCreateRequest)["name"].required
    assert "the daemon refuses a request without it" in (NetworkCreateRequest.__doc__ or "")


def test_a_required_field_is_a_required_constructor_argument() -> None:
    with pytest.raises(TypeError, match="warnings"):
        ContainerCreateResponse(id="c")
    assert ContainerCreateResponse(id="c", warnings=[]).to_wire() == {"Id": "c", "Warnings": []}


@pytest.mark.parametrize(
    ("data", "how"),
    [
        ({"Warnings": []}, "absent"),  # per-key path (one key fewer)
        ({"Id": None, "Warnings": []}, "null"),  # fast path (every key there)
        ({"Id": None, "Warnings": [], "New": 1}, "null"),  # per-key path, null
    ],
)
def test_strict_decoding_names_the_class_and_key(data: dict[str, object], how: str) -> None:
    with pytest.raises(MissingFieldError) as caught:
        ContainerCreateResponse.from_wire(data)
    error = caught.value
    assert isinstance(error, RemoteProtocolError)
    assert (error.model, error.field, error.wire, error.how) == (
        "ContainerCreateResponse",
        "id",
        "Id",
        how,
    )
    with lenient_decoding():
        decoded = ContainerCreateResponse.from_wire(data)
    assert decoded.id is None and decoded.to_wire() == data


def test_lenient_decoding_is_scoped_and_nests() -> None:
    with lenient_decoding():
        with lenient_decoding(False):
            with pytest.raises(MissingFieldError):
                PortSummary.from_wire({"PrivatePort": 1})
        assert PortSummary.from_wire({"PrivatePort": 1}).type is None
    with pytest.raises(MissingFieldError, match=r"PortSummary\.type \(JSON key 'Type'\)"):
        PortSummary.from_wire({"PrivatePort": 1})


def test_optional_nulls_of_a_required_class_still_decode() -> None:
    volume = Volume.from_wire(VOLUME)  # Options: null is allowed (engines send it)
    assert volume.options is None and volume.to_wire() == VOLUME


def test_help_shows_each_fields_description() -> None:
    text = pydoc.render_doc(Volume, renderer=pydoc.plaintext)
    assert "mountpoint: Mount path of the volume on the host." in text
    assert "cluster_volume: Since API 1.42." in text
    assert "left out or null in replies of: docker20 (null)" in text  # Options
    # A subclass lists its own fields and names its base for the others.
    assert "(and those of ``Resources``)" in (models.HostConfig.__doc__ or "")


def test_the_evidence_covers_what_the_cassettes_show() -> None:
    """Every omission the recorded fixtures hold is in the stored evidence (the live sweep
    adds more), and the generator keeps exactly the omitted keys Optional."""
    _specs, registry = build_registry(evidence=False)
    evidence = Evidence(registry)
    read_cassettes(evidence, sorted((REPO / "fixtures").rglob("*.json")))
    stored = json.loads(EVIDENCE_FILE.read_text())["omitted"]
    for model, fields in evidence.omitted.items():
        for wire, engines in fields.items():
            for engine, how in engines.items():
                assert engine in stored.get(model, {}).get(wire, {}), (model, wire, engine, how)
    assert {"docker20", "docker28", "podman"} <= set(
        json.loads(EVIDENCE_FILE.read_text())["engines"]
    )


def test_evidence_makes_a_required_key_optional() -> None:
    _specs, registry = build_registry(evidence=False)
    keep_requests_optional(registry)
    volume = registry.types["Volume"]
    assert isinstance(volume, ModelDef)
    name = next(f for f in volume.fields if f.wire == "Name")
    assert name.required and not name.omitted_by
    apply_evidence(registry, {"Volume": {"Name": {"podman": "absent"}}})
    assert not name.required and name.omitted_by == {"podman": "absent"}


def test_type_checkers_see_which_constructor_arguments_are_required(tmp_path: Path) -> None:
    """The models are declared through a dataclass transform (``wire_model``): mypy (and
    pyright) see a required field as a required argument and check argument names and types,
    which attrs' own mypy support could not do through ``wire_field``."""
    import subprocess
    import sys

    snippet = tmp_path / "use_models.py"
    snippet.write_text(
        "from engineapi.models import ContainerCreateResponse, HostConfig\n"
        "ContainerCreateResponse(warnings=[])\n"  # line 2: id is required
        "ok = ContainerCreateResponse(id='c', warnings=[])\n"
        "HostConfig(network_mod='bridge')\n"  # line 4: misspelt
        "HostConfig(memory='1g')\n"  # line 5: wrong type
        "HostConfig(network_mode='bridge', memory=5, extra={'New': 1})\n"
        "reveal_type(ok.id)\n"  # line 7
    )
    command = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary"]
    command += ["--cache-dir", str(tmp_path / "cache"), str(snippet)]
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(command, capture_output=True, text=True, cwd=repo, check=False)
    reported = [line.split(":")[1] for line in result.stdout.splitlines() if ": " in line]
    assert sorted(set(reported)) == ["2", "4", "5", "7"], result.stdout
    assert 'Missing named argument "id" for "ContainerCreateResponse"' in result.stdout
    assert 'Unexpected keyword argument "network_mod" for "HostConfig"' in result.stdout
    assert 'Argument "memory" to "HostConfig" has incompatible type "str"' in result.stdout
    assert 'Revealed type is "str"' in result.stdout
