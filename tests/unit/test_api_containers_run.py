"""`containers.run`/`run_stream` as calls: what they send, and how `remove` ends (no I/O)."""

from __future__ import annotations

import json

import pytest

from engineapi import ConfigError, Conflict, InvalidArgument, NotFound
from engineapi.api import containers
from engineapi.api._call import HijackCall


def test_run_builds_the_cli_order() -> None:
    call = containers.run(
        "busybox", ["cat"], config={"HostConfig": {"AutoRemove": True}}, input=b"x"
    )
    assert call.body["OpenStdin"] and call.body["StdinOnce"] and call.body["AttachStdin"]
    attach = call.attach("c1")
    assert isinstance(attach, HijackCall)
    assert ("stdin", "1") in attach.query and ("stream", "1") in attach.query
    assert ("logs", "1") not in attach.query
    assert call.wait("c1").query == (("condition", "next-exit"),)
    removed = call.removed("c1")
    assert removed is not None and removed.query == (("condition", "removed"),)
    assert list(call.finish("c1")) == []  # the daemon removes it: no DELETE


def test_run_without_input_or_auto_remove() -> None:
    call = containers.run_stream("busybox", "true", remove=True)
    assert isinstance(call, containers.RunStreamCall)
    assert "OpenStdin" not in call.body and call.body["Cmd"] == ["true"]
    assert ("stdin", "0") in call.attach("c1").query
    assert call.removed("c1") is None
    with pytest.raises(ConfigError, match="missing, always, never"):
        containers.run("busybox", pull="sometimes")


@pytest.mark.parametrize(
    "error",
    [
        NotFound("No such container: c1", status=404),
        Conflict("removal of container c1 is already in progress", status=409),
        Conflict("container is marked for removal and cannot be started", status=409),
    ],
)
def test_remove_after_run_takes_a_removal_under_way_as_done(error: Exception) -> None:
    flow = containers.run("busybox", remove=True).finish("c1")
    step = next(flow)
    assert step.method == "DELETE"
    with pytest.raises(StopIteration):
        flow.throw(error)


def test_remove_after_run_raises_other_conflicts() -> None:
    flow = containers.run("busybox", remove=True).finish("c1")
    next(flow)
    with pytest.raises(Conflict):
        flow.throw(Conflict("something else", status=409))


def test_a_failed_run_names_its_container() -> None:
    error = Conflict("boom", status=409)
    assert list(containers.run("busybox").failed("c" * 64, error)) == []
    assert "is kept" in error.__notes__[0] and "c" * 64 in error.__notes__[0]
    error = Conflict("boom", status=409)
    flow = containers.run("busybox", remove=True).failed("c1", error)
    assert next(flow).method == "DELETE"
    with pytest.raises(StopIteration):
        flow.send(None)
    assert "was removed" in error.__notes__[0]


@pytest.mark.parametrize("builder", ["create", "run", "run_stream", "run_detached"])
def test_a_misspelt_run_option_is_refused_before_sending(builder: str) -> None:
    """The run options are one TypedDict (``**options: Unpack[RunOptions]``): a keyword that is
    not one of them is refused as Python refuses an unknown argument, with the closest name."""
    build = getattr(containers, builder)
    args = () if builder == "create" else ("busybox",)
    with pytest.raises(InvalidArgument, match="'enviroment'; did you mean 'env'") as caught:
        result = build(*args, enviroment={"A": "1"})
        if builder == "run_detached":
            next(result)  # a flow runs its builder when first advanced
    assert isinstance(caught.value, TypeError) and caught.value.argument == "enviroment"


def test_run_options_reach_the_create_body() -> None:
    call = containers.create(image="busybox", env={"A": "1"}, auto_remove=True, user=0)
    body = json.loads(call.body)
    assert body["Env"] == ["A=1"] and body["User"] == "0"
    assert body["HostConfig"]["AutoRemove"] is True
