"""Version facts of the models, checked against the specs themselves.

The generator finds each field's first version by walking older specs in parallel with the
newest one (class names changed over time). These tests recompute the simple cases directly:
a definition that keeps its name, read version by version.
"""

from __future__ import annotations

from typing import Any

import engineapi.models as models
from engineapi._codegen.schema import object_properties
from engineapi.models import field_info
from tests.unit.test_codegen import require_specs


def _first_version_with(specs: list[Any], path: list[str], wire: str) -> str | None:
    """The first spec whose schema at *path* (definition, then properties) has *wire*."""
    for spec in specs:
        schema = spec.definitions.get(path[0])
        for step in path[1:]:
            if schema is None:
                break
            schema = object_properties(spec, schema).get(step)
        if schema is not None and wire in object_properties(spec, schema):
            return str(spec.version)
    return None


def test_field_since_matches_each_same_named_definition() -> None:
    specs = require_specs()
    oldest, newest = specs[0], specs[-1]
    checked = 0
    for name in newest.definitions:
        cls = getattr(models, name)
        if not isinstance(cls, type) or not issubclass(cls, models.WireModel):
            continue
        for info in field_info(cls).values():
            if info.until is not None:
                continue
            first = _first_version_with(specs, [name], info.wire)
            if name in oldest.definitions:
                assert info.since == first, (name, info)
                checked += 1
            else:
                # A definition added later may have existed inline or under another name
                # (Port → PortSummary): the walk finds those keys earlier, never later.
                assert first is not None and info.since <= first, (name, info)
    assert checked > 600


def test_spot_checks() -> None:
    specs = require_specs()
    expectations = [
        # (class, path to its schema, wire key, expected since)
        ("MountBindOptions", ["Mount", "BindOptions"], "ReadOnlyNonRecursive", "1.44"),
        ("MountBindOptions", ["Mount", "BindOptions"], "CreateMountpoint", "1.42"),
        ("ContainerSummary", ["ContainerSummary"], "Health", "1.52"),
        ("ContainerSummary", ["ContainerSummary"], "ImageManifestDescriptor", "1.48"),
        ("EndpointSettings", ["EndpointSettings"], "GwPriority", "1.48"),
        ("ContainerSummary", ["ContainerSummary"], "Names", "1.41"),
    ]
    for class_name, path, wire, since in expectations:
        assert _first_version_with(specs, path, wire) == since, (class_name, wire)
        infos = {i.wire: i for i in field_info(getattr(models, class_name)).values()}
        assert infos[wire].since == since, (class_name, wire)


def test_renamed_classes_keep_their_history() -> None:
    require_specs()
    # PortSummary was called Port until 1.51; its fields are as old as the API we cover.
    assert {i.since for i in field_info(models.PortSummary).values()} == {"1.41"}
    # ContainerInspectResponse became a definition in 1.48; before, it was inline.
    assert field_info(models.ContainerInspectResponse)["state"].since == "1.41"


def test_dropped_fields_are_kept_with_their_last_version() -> None:
    specs = require_specs()
    info = field_info(models.NetworkSettings)["ip_address"]
    assert (info.wire, info.since, info.until, info.deprecated) == (
        "IPAddress",
        "1.41",
        "1.51",
        True,
    )
    assert _first_version_with(specs, ["NetworkSettings"], "IPAddress") == "1.41"
    assert "IPAddress" not in object_properties(specs[-1], specs[-1].definitions["NetworkSettings"])
    # The pre-1.52 shape of GET /system/df decodes into typed lists.
    image = {"Id": "x", "ParentId": "", "Created": 1, "Size": 2, "SharedSize": -1, "Containers": 0}
    old = models.SystemDataUsageResponse.from_wire({"LayersSize": 1, "Images": [image]})
    assert old.layers_size == 1 and old.images is not None
    assert isinstance(old.images[0], models.ImageSummary)


def test_deprecated_fields_follow_the_spec_text() -> None:
    require_specs()
    assert field_info(models.EndpointSettings)["mac_address"].deprecated is False
    assert field_info(models.ImageInspect)["parent"].deprecated is True
