"""404s narrowed to their resource from the daemons' messages and the operation's tag;
a pull's failure is one `ImagePullError`, HTTP or in-stream."""

from __future__ import annotations

import pytest

import engineapi
from engineapi import errors
from engineapi.api import containers, images
from engineapi.api._call import operation_tag, pull_reference
from engineapi.errors import (
    ConfigNotFound,
    ContainerNotFound,
    DaemonError,
    ExecNotFound,
    ImageNotFound,
    ImagePullError,
    NetworkNotFound,
    NodeNotFound,
    NotFound,
    PluginNotFound,
    SecretNotFound,
    ServiceNotFound,
    StreamError,
    TaskNotFound,
    VolumeNotFound,
    daemon_error,
    not_found_class,
)

# What Docker 20.10/28.5 and Podman 4.3 answer (seen live), and Docker's swarm messages.
MESSAGES = [
    ("No such container: x", "Container", ContainerNotFound),
    ('no container with name or ID "x" found: no such container', "Network", ContainerNotFound),
    ("No such image: x:1", "Container", ImageNotFound),
    ("no such image: docker.io/library/x:1: image not known", "Container", ImageNotFound),
    ("failed to find image x:1: docker.io/library/x:1: No such image", "Image", ImageNotFound),
    ("network x not found", "Network", NetworkNotFound),
    ("unable to find network with name or ID x: network not found", "Network", NetworkNotFound),
    ("get x: no such volume", "Volume", VolumeNotFound),
    ("volume with name x not found: no such volume", "Volume", VolumeNotFound),
    ("No such exec instance: x", "Exec", ExecNotFound),
    ("no exec session with ID x found: no such exec session", "Exec", ExecNotFound),
    ('plugin "x" not found', "Plugin", PluginNotFound),
    ('no secret with name or id "x": no such secret', "Secret", SecretNotFound),
    ("secret x not found", "Secret", SecretNotFound),
    ("config x not found", "Config", ConfigNotFound),
    ("node x not found", "Node", NodeNotFound),
    ("service x not found", "Service", ServiceNotFound),
    ("task x not found", "Task", TaskNotFound),
    # Nothing in the message: the operation's tag decides.
    ("something unexpected", "Task", TaskNotFound),
    ("something unexpected", None, NotFound),
    # A missing endpoint (Podman's compat API) blames no resource.
    ("Not Found", "Container", NotFound),
    ("404 page not found", "Plugin", NotFound),
]


@pytest.mark.parametrize(("message", "tag", "expected"), MESSAGES)
def test_not_found_class(message: str, tag: str | None, expected: type[NotFound]) -> None:
    assert not_found_class(message, tag) is expected
    error = daemon_error(404, message, tag=tag)
    assert type(error) is expected and isinstance(error, NotFound)


def test_other_statuses_are_untouched() -> None:
    assert type(daemon_error(409, "No such container: x", tag="Container")) is errors.Conflict


def test_tags() -> None:
    assert operation_tag("ContainerCreate") == "Container"
    assert operation_tag("ImageInspect") == "Image"
    assert operation_tag("Custom") is None


def test_pull_reference() -> None:
    assert pull_reference(images.pull("busybox")) == "busybox:latest"
    assert pull_reference(images.pull("reg:5000/app:1.2")) == "reg:5000/app:1.2"
    assert pull_reference(images.pull("app@sha256:abc")) == "app@sha256:abc"
    assert pull_reference(images.import_image(b"")) is None
    assert pull_reference(containers.inspect("x")) is None


def test_image_pull_error() -> None:
    http = daemon_error(404, "manifest unknown", pulling="a:1", method="POST", path="/p")
    assert isinstance(http, ImagePullError) and isinstance(http, DaemonError)
    assert isinstance(http, StreamError) and not isinstance(http, NotFound)
    assert http.status == 404 and http.reference == "a:1" and http.message == "manifest unknown"
    assert "a:1" in str(http) and "404 from POST /p" in str(http)
    streamed = ImagePullError("denied", reference="a:1", code=1)
    assert streamed.status == 0 and streamed.code == 1
    assert "progress stream" in str(streamed)


def test_exported_and_drawn() -> None:
    drawing = errors.__doc__ or ""
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, errors.EngineAPIError):
            assert name in drawing, f"{name} is missing from the tree in engineapi/errors.py"
    for cls in MESSAGES:
        assert getattr(engineapi, cls[2].__name__) is cls[2]
    assert engineapi.ImagePullError is ImagePullError
