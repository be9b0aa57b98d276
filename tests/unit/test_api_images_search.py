"""Image search needs Docker Hub, which is unreachable here: the decoding is tested on the
response the Engine API documents (the ImageSearch example of the v1.55 spec, which is what the
Hub index returns through the daemon), sent through the real call builder and decoder."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from engineapi._codegen.specs import missing_specs_message, specs_dir
from engineapi.api import images
from engineapi.api._call import Reply
from engineapi.http import Headers
from engineapi.models import ImageSearchResponseItem


def documented_example() -> list[dict[str, object]]:
    directory = specs_dir()
    spec_file = directory / "v1.55.yaml"
    if not spec_file.exists():
        pytest.fail(missing_specs_message(directory), pytrace=False)
    spec = yaml.safe_load(spec_file.read_text())
    response = spec["paths"]["/images/search"]["get"]["responses"][200]
    example: list[dict[str, object]] = response["examples"]["application/json"]
    return example


def test_search_request() -> None:
    call = images.search("alpine", limit=3, filters={"is-official": ["true"]})
    query = dict(parse_qsl(urlsplit(call.target("1.51")).query))
    assert query["term"] == "alpine" and query["limit"] == "3"
    assert json.loads(query["filters"]) == {"is-official": ["true"]}


def test_search_response_decodes_typed_and_round_trips() -> None:
    example = documented_example()
    body = json.dumps(example).encode()
    reply = Reply(200, Headers([("Content-Type", "application/json")]), body)
    results = images.search("alpine").decode(reply)
    assert all(isinstance(r, ImageSearchResponseItem) for r in results)
    assert results[0].name == "alpine" and results[0].is_official is True
    assert results[0].star_count == 10093
    assert [r.to_wire() for r in results] == example
