"""Method and path of every call come from the operations table, never from a builder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import engineapi
from engineapi.api import containers, images, volumes
from engineapi.api._call import Call
from engineapi.api._operations import OPERATIONS
from engineapi.api._routes import ROUTES
from engineapi.errors import InvalidArgument

API_DIR = Path(engineapi.__file__).parent / "api"
HTTP_METHOD_LITERAL = re.compile(r"""["'](GET|POST|PUT|DELETE|HEAD|PATCH)["']""")


def test_no_builder_writes_a_method_or_path_by_hand() -> None:
    offenders = []
    for module in sorted(API_DIR.glob("*.py")):
        if module.name in {"_routes.py", "_operations.py"}:
            continue
        for number, line in enumerate(module.read_text().splitlines(), 1):
            if HTTP_METHOD_LITERAL.search(line) or re.search(r'["\']/(containers|images)/', line):
                offenders.append(f"{module.name}:{number}: {line.strip()}")
    assert offenders == []


def test_the_table_and_the_routes_agree() -> None:
    assert list(ROUTES) == list(OPERATIONS)
    for operation_id, (method, path) in ROUTES.items():
        operation = OPERATIONS[operation_id]
        assert (operation.http_method, operation.path) == (method, path)


def test_path_values_fill_the_template_quoted() -> None:
    call = images.inspect("reg.test:5000/a/b:1")
    assert (call.method, call.path) == ("GET", "/images/reg.test%3A5000%2Fa%2Fb%3A1/json")
    assert containers.delete("c1").method == "DELETE"


@pytest.mark.parametrize("bad", [None, 3, b"abc", ""])
def test_a_bad_id_is_refused_before_any_request(bad: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        containers.inspect(bad)  # type: ignore[arg-type]
    assert caught.value.argument == "id"
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


def test_an_object_with_an_id_stands_for_it() -> None:
    class Created:
        id = "0123abcd"

    assert containers.start(Created()).path == "/containers/0123abcd/start"  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="name must be a string"):
        volumes.inspect(object())  # type: ignore[arg-type]


def test_wrong_number_of_path_values_and_unknown_operations() -> None:
    with pytest.raises(TypeError, match="takes 1 path value"):
        Call("ContainerInspect", decode=lambda r: r)
    with pytest.raises(LookupError, match="give method= and path="):
        Call("NoSuchOperation", decode=lambda r: r)
    custom: Call[object] = Call("Custom", method="GET", path="/custom", decode=lambda r: r)
    assert custom.target("1.44") == "/v1.44/custom"
