"""The generated API reference documents every public name (engineapi/_codegen/reference.py)."""

from __future__ import annotations

import inspect
import re

import pytest

import engineapi
from engineapi import errors, models
from engineapi._codegen import reference
from engineapi._codegen.namespaces import NAMESPACES
from engineapi._sync import _namespaces as sync_namespaces
from engineapi.api._operations import OPERATIONS


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return reference.pages()


@pytest.fixture(scope="module")
def documented() -> dict[str, set[str]]:
    return reference.documented_names()


def namespace_methods() -> list[str]:
    names = []
    for attr in NAMESPACES:
        cls = getattr(sync_namespaces, attr.title())
        names += [
            f"{attr}.{name}"
            for name, value in vars(cls).items()
            if not name.startswith("_") and inspect.isfunction(value)
        ]
    return names


def heading_ids(text: str) -> set[str]:
    return set(re.findall(r"\{#([a-z0-9-]+)\}", text))


def test_every_public_name_is_in_the_reference(
    pages: dict[str, str], documented: dict[str, set[str]]
) -> None:
    everything = set().union(*documented.values())
    public = (
        (set(engineapi.__all__) - {"__version__"})
        | set(models.__all__)
        | set(errors.__all__)
        | set(namespace_methods())
    )
    assert not sorted(public - everything), "public names missing from the reference"
    # Each documented name is where its page says: a heading of its own (with an explicit
    # id) or a mkdocstrings block that renders it.
    for path, names in documented.items():
        text = pages[path]
        ids = heading_ids(text)
        for name in names:
            anchor = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            assert anchor in ids or re.search(rf"^::: \S*\b{re.escape(name)}$", text, re.M), (
                path,
                name,
            )


def test_a_method_section_names_endpoint_parameters_versions_return_and_errors(
    pages: dict[str, str],
) -> None:
    text = pages["reference/namespaces/containers.md"]
    section = text.split("## `containers.attach`", 1)[1].split("\n## ", 1)[0]
    assert "**Endpoint:** `POST /containers/{id}/attach`" in section
    assert (
        "| `detach_keys` | `str | None` | `None` | query `detachKeys` | 1.41 |"
        in section.replace("\\|", "|")
    )
    assert "**Returns:** `AttachedStream` (`AsyncClient`: `AsyncAttachedStream`)" in section
    assert "ContainerNotFound" in section
    # A parameter newer than the oldest API version carries its own version.
    newer = [
        (op, p)
        for op in OPERATIONS.values()
        for p in op.params.values()
        if p.since != "1.41" and p.location != "body"
    ]
    assert newer
    op, param = newer[0]
    page = pages[f"reference/namespaces/{op.namespace}.md"]
    section = page.split(f"## `{op.namespace}.{op.method_name}`", 1)[1].split("\n## ", 1)[0]
    assert re.search(rf"\| `{param.python_name}` \|.*\| {re.escape(param.since)} \|", section)


def test_every_operation_shows_its_endpoint(pages: dict[str, str]) -> None:
    table = pages["reference/operations.md"]
    for op in OPERATIONS.values():
        assert f"| {op.operation_id} | `{op.http_method} {op.path}` |" in table
        if op.namespace not in NAMESPACES:  # Session (BuildKit's): no client method
            continue
        page = pages[f"reference/namespaces/{op.namespace}.md"]
        section = page.split(f"## `{op.namespace}.{op.method_name}`", 1)[1].split("\n## ", 1)[0]
        assert f"`{op.http_method} {op.path}`" in section, op.operation_id


def test_every_method_names_its_endpoints(pages: dict[str, str]) -> None:
    for attr in NAMESPACES:
        sections = pages[f"reference/namespaces/{attr}.md"].split("\n## ")[1:]
        assert sections
        for section in sections:
            assert "**Endpoint:** `" in section, section.splitlines()[0]


def test_a_model_lists_wire_names_types_and_versions(pages: dict[str, str]) -> None:
    text = pages["reference/models/build_cache.md"]
    assert (
        "| `parents` | `Parents` | `list[str] | None` | 1.42 |  | "
        "List of parent build cache record IDs. |"
    ) in text.replace("\\|", "|")
    assert "| `parent` | `Parent` | `str | None` | 1.41 | 1.41 |" in text.replace("\\|", "|")
    assert "| `SOURCE_LOCAL` | `'source.local'` |" in text


def test_the_errors_page_has_the_tree_and_every_error(pages: dict[str, str]) -> None:
    text = pages["reference/errors.md"]
    assert "EngineAPIError\n├── ConfigError" in text
    assert "## `ContainerNotFound` {#containernotfound}\n\nBases: `NotFound`" in text
