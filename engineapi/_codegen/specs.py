"""Locating, loading and reading the Engine API specs (Swagger 2.0 YAML).

The specs are vendored in ``engineapi/_codegen/engine-api/`` (where they come from and how to
refresh them: its README); the ``ENGINEAPI_SPECS`` environment variable points elsewhere. Only the frozen ``v1.NN.yaml``
files are used: the development ``swagger-latest.yaml`` may still change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from engineapi._apiversion import MIN_API_VERSION, version_key

#: Environment variable that overrides where the spec files are looked for.
SPECS_ENV = "ENGINEAPI_SPECS"


REPO_ROOT = Path(__file__).resolve().parents[2]
#: The repository's own copy (build input only: the wheel leaves it out).
DEFAULT_SPECS_DIR = Path(__file__).resolve().parent / "engine-api"

_SPEC_FILE = re.compile(r"^v(\d+)\.(\d+)\.yaml$")

Schema = Mapping[str, Any]


class SpecsNotFoundError(RuntimeError):
    """The spec directory (or one of its files) is missing."""


def specs_dir() -> Path:
    """The directory holding ``v1.NN.yaml``: ``$ENGINEAPI_SPECS`` or the default location."""
    override = os.environ.get(SPECS_ENV)
    return Path(override) if override else DEFAULT_SPECS_DIR


def missing_specs_message(directory: Path) -> str:
    return (
        f"Engine API specs not found in {directory} (expected v{MIN_API_VERSION}.yaml and later). "
        f"Unset {SPECS_ENV} to use the copy vendored in {DEFAULT_SPECS_DIR}, "
        f"or point it at a directory of v1.NN.yaml files."
    )


def available_versions(directory: Path) -> list[str]:
    """Every ``v1.NN.yaml`` version in *directory* from :data:`MIN_API_VERSION` on, oldest first."""
    if not directory.is_dir():
        raise SpecsNotFoundError(missing_specs_message(directory))
    versions = []
    for path in directory.iterdir():
        match = _SPEC_FILE.match(path.name)
        if match:
            version = f"{match[1]}.{match[2]}"
            if version_key(version) >= version_key(MIN_API_VERSION):
                versions.append(version)
    if MIN_API_VERSION not in versions:
        raise SpecsNotFoundError(missing_specs_message(directory))
    return sorted(versions, key=version_key)


@attrs.frozen
class Spec:
    """One parsed spec file, with the lookups the generators need."""

    version: str
    doc: Mapping[str, Any]

    @property
    def definitions(self) -> Mapping[str, Schema]:
        defs: Mapping[str, Schema] = self.doc.get("definitions", {})
        return defs

    def operations(self) -> list[tuple[str, str, Schema]]:
        """``(path, HTTP method, operation)`` for every operation, in spec order."""
        found = []
        for path, item in self.doc.get("paths", {}).items():
            for method, operation in item.items():
                if method != "parameters":
                    found.append((path, method, operation))
        return found

    def resolve(self, schema: Schema) -> Schema:
        """Follow ``$ref`` s until a schema that is not a bare reference."""
        while "$ref" in schema:
            schema = self.definitions[ref_name(schema["$ref"])]
        return schema


def ref_name(ref: str) -> str:
    """``"#/definitions/ContainerSummary"`` → ``"ContainerSummary"``."""
    prefix = "#/definitions/"
    if not ref.startswith(prefix):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(prefix) :]


_LOADED: dict[Path, list[Spec]] = {}


def load_specs(directory: Path | None = None) -> list[Spec]:
    """Parse every spec from :data:`MIN_API_VERSION` on, oldest first (cached; do not mutate)."""
    directory = (directory or specs_dir()).resolve()
    if directory not in _LOADED:
        _LOADED[directory] = _parse_specs(directory)
    return _LOADED[directory]


def _parse_specs(directory: Path) -> list[Spec]:
    import yaml  # type: ignore[import-untyped,unused-ignore]

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    specs = []
    for version in available_versions(directory):
        with open(directory / f"v{version}.yaml", encoding="utf-8") as stream:
            doc = yaml.load(stream, Loader=loader)
        if str(doc.get("info", {}).get("version")) != version:
            raise ValueError(f"v{version}.yaml declares info.version {doc['info']['version']!r}")
        specs.append(Spec(version=version, doc=doc))
    return specs


# -- text helpers ---------------------------------------------------------------------------

_DEPRECATION = re.compile(
    r"\*\*deprecated\*\*"
    r"|^\s*(>\s*)?deprecated:"
    r"|\bthis (field|parameter|option|endpoint|property) (is|was) deprecated\b"
    r"|\bdeprecated (in|since) (api )?v?\d+\.\d+",
    re.IGNORECASE | re.MULTILINE,
)
_PLAIN_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_HTML_SPACER = re.compile(r"^\s*<p><br\s*/></p>\s*$", re.MULTILINE)


def is_deprecated(schema: Schema) -> bool:
    """Whether the spec marks *schema* (a property, parameter or operation) deprecated.

    The specs say so either with ``x-deprecated``/``deprecated: true`` or in prose
    ("Deprecated: …", "> **Deprecated**: …", "This field is deprecated …"); a passing mention
    such as "MAINTAINER (deprecated)" does not count.
    """
    if schema.get("x-deprecated") or schema.get("deprecated") is True:
        return True
    return bool(_DEPRECATION.search(str(schema.get("description") or "")))


def clean_description(text: object) -> str:
    """Normalise a spec description: no HTML spacers, no trailing blanks, single blank lines."""
    if not isinstance(text, str):
        return ""
    text = _HTML_SPACER.sub("", text).translate(_PLAIN_QUOTES)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def first_sentence(text: object, limit: int = 160) -> str:
    """A one-line summary of a description: its first sentence, at most *limit* characters."""
    cleaned = " ".join(clean_description(text).split("\n\n")[0].split())
    match = re.match(r"(.+?[.!?])(\s|$)", cleaned)
    sentence = match[1] if match else cleaned
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rstrip() + "…"
    return sentence
