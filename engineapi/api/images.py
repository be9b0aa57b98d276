"""Images: list, pull/import, push, inspect, history, tag, delete, search, prune, commit,
save/load, build — the Image tag's operations as call builders."""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, cast

from engineapi import models
from engineapi.api._call import (
    Call,
    Filters,
    Platform,
    ProgressCall,
    RawCall,
    decode_list,
    encode_filters,
    encode_platform,
    to_body,
)
from engineapi.api._cliconfig import CliConfigNeeded
from engineapi.archive.local import BuildContextDir, fspath, is_path
from engineapi.config.auth import CredentialsNeeded, registry_auth_value, registry_config_value
from engineapi.errors import InvalidArgument

if TYPE_CHECKING:
    import os

    from engineapi.models import (
        AttestationStatement,
        AuthConfig,
        BuildInfo,
        BuildPruneResponse,
        ContainerConfig,
        CreateImageInfo,
        IDResponse,
        ImageDeleteResponseItem,
        ImageHistoryResponseItem,
        ImageInspect,
        ImagePruneResponse,
        ImageSearchResponseItem,
        ImageSummary,
        PushImageInfo,
    )

__all__ = [
    "attestations",
    "build",
    "build_prune",
    "commit",
    "create",
    "delete",
    "get",
    "get_all",
    "history",
    "import_image",
    "inspect",
    "list",
    "load",
    "prune",
    "pull",
    "push",
    "search",
    "tag",
]

Body = bytes | Iterable[bytes] | AsyncIterable[bytes]


def _platforms(value: Platform | Sequence[Platform] | None) -> builtins.list[str] | None:
    """One or several platforms as JSON-encoded OCI platforms, the key repeated per item."""
    if value is None:
        return None
    if isinstance(value, str | Mapping):
        return [encode_platform(value)]
    return [encode_platform(item) for item in value] or None


def _platform(value: Platform | None) -> str | None:
    return encode_platform(value) if value is not None else None


#: What makes a build context string a remote one, as the docker CLI tells them apart.
_REMOTE_PREFIXES = ("http://", "https://", "git://", "git@")


def _is_remote_context(context: object) -> bool:
    """Whether `context` names a remote build context (an http(s) URL or a git repository)
    rather than a local directory."""
    return isinstance(context, str) and context.startswith(_REMOTE_PREFIXES)


def registry_auth_header(
    auth: AuthConfig | Mapping[str, Any] | None,
) -> builtins.list[tuple[str, str]]:
    """``X-Registry-Auth``: the credentials as base64url JSON (an empty object when none)."""
    return [("X-Registry-Auth", registry_auth_value(to_body(auth) if auth is not None else {}))]


def list(
    *,
    all: bool = False,
    filters: Filters | None = None,
    shared_size: bool = False,
    digests: bool = False,
    manifests: bool = False,
    identity: bool = False,
) -> Call[builtins.list[ImageSummary]]:
    """Images, without intermediate layers unless `all` — ``GET /images/json``.

    `shared_size` adds how much each image shares with others, `digests` the repo digests,
    `manifests` the per-platform manifests and `identity` where each came from (both need a
    newer API; an older one raises `APIVersionError` before sending); `filters` as
    ``docker images --filter``.
    """
    return Call(
        "ImageList",
        query={
            "all": all or None,
            "filters": encode_filters(filters),
            "shared-size": shared_size or None,
            "digests": digests or None,
            "manifests": manifests or None,
            "identity": identity or None,
        },
        decode=decode_list(models.ImageSummary),
    )


#: Dockerfile instructions applied to an image made by commit or import (``docker commit
#: -c``, ``docker import -c``): a list of them, or one string (newlines may separate several).
Changes = Sequence[str] | str


def changes_query(changes: Changes | None) -> builtins.list[str] | None:
    """`changes` as the daemon reads them — and the docker CLI sends them — for commit and
    import alike: the ``changes`` parameter repeated, one instruction each."""
    if changes is None:
        return None
    items = _instructions(changes) if isinstance(changes, str) else changes
    if not isinstance(items, Sequence) or not all(isinstance(item, str) for item in items):
        raise InvalidArgument(
            "changes must be a Dockerfile instruction (a string) or a list of them, "
            f"not {changes!r}",
            argument="changes",
        )
    return [item for item in items if item.strip()] or None


def _instructions(text: str) -> builtins.list[str]:
    """One instruction per line (a line ending in ``\\`` continues on the next): Docker
    would parse the whole text, but Podman reads one instruction per parameter."""
    items: builtins.list[str] = []
    pending = ""
    for line in text.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        if not line.endswith("\\"):
            items.append(pending)
            pending = ""
    if pending:
        items.append(pending)
    return items


def create(
    *,
    from_image: str | None = None,
    from_src: str | None = None,
    repo: str | None = None,
    tag: str | None = None,
    message: str | None = None,
    changes: Changes | None = None,
    platform: str | None = None,
    body: Body | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> ProgressCall[CreateImageInfo]:
    """Pull an image (`from_image`) or import one from a tarball (`from_src`: a URL, or ``"-"``
    with the tar as `body`) — ``POST /images/create``; a progress stream.

    `pull` and `import_image` are the friendlier forms. `auth` is sent as ``X-Registry-Auth``.
    """
    return ProgressCall(
        "ImageCreate",
        query={
            "fromImage": from_image,
            "fromSrc": from_src,
            "repo": repo,
            "tag": tag,
            "message": message,
            "changes": changes_query(changes),
            "platform": platform,
        },
        headers=registry_auth_header(auth) if auth is not None or from_image else (),
        body=body,
        decode_item=models.CreateImageInfo.from_wire,
        response_timeout=None,
    )


def pull(
    reference: str,
    *,
    platform: str | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> ProgressCall[CreateImageInfo]:
    """Pull `reference` (``busybox``, ``registry:5000/app:1.2``, ``app@sha256:…``) — a
    progress stream over ``POST /images/create?fromImage=…``; `wait()` raises on failure.

    Without a tag, ``latest`` is pulled (the docker CLI's rule), never every tag. Without
    `auth`, the credentials the docker CLI would use for the reference's registry are sent
    (``config.json`` auths, credential helpers, ``DOCKER_AUTH_CONFIG``; see
    `engineapi.config.auth.auth_for`).
    """
    name, tag = _split_reference(reference)
    call = create(from_image=name, tag=tag, platform=platform, auth=auth)
    if auth is None:
        # The credentials are looked up by the client when it sends the call (files, helpers).
        call.headers = ()
        call.credentials = CredentialsNeeded(reference)
    return call


def import_image(
    tar: Body,
    *,
    repo: str | None = None,
    tag: str | None = None,
    message: str | None = None,
    changes: Changes | None = None,
    platform: str | None = None,
) -> ProgressCall[CreateImageInfo]:
    """Make an image from a root filesystem tarball (``docker import``) —
    ``POST /images/create?fromSrc=-``; `changes` are Dockerfile instructions (``docker import
    -c``): ``["ENV MODE=prod", 'CMD ["sh"]']``, or one string; as for `commit`."""
    return create(
        from_src="-",
        repo=repo,
        tag=tag,
        message=message,
        changes=changes,
        platform=platform,
        body=tar,
    )


def _split_reference(reference: str) -> tuple[str, str | None]:
    """``name[:tag|@digest]`` → (name, tag or digest); ``latest`` when neither is given."""
    if "@" in reference:
        name, digest = reference.split("@", 1)
        return name, digest
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, "latest"


def inspect(
    name: str, *, manifests: bool = False, platform: Platform | None = None
) -> Call[ImageInspect]:
    """Everything about an image — ``GET /images/{name}/json``.

    `platform` (API ≥ 1.49) selects a variant of a multi-platform image: ``"linux/arm64"`` or
    an OCI platform mapping, sent JSON-encoded as the daemon reads it."""
    return Call(
        "ImageInspect",
        name,
        query={"manifests": manifests or None, "platform": _platform(platform)},
        decode=lambda r: models.ImageInspect.from_wire(r.json()),
    )


def attestations(
    name: str,
    *,
    platform: Platform | Sequence[Platform] | None = None,
    type: Sequence[str] | None = None,
    statement: bool = False,
) -> Call[builtins.list[AttestationStatement]]:
    """The attestations (SBOM, provenance) attached to an image —
    ``GET /images/{name}/attestations`` (API ≥ 1.55)."""
    return Call(
        "ImageAttestations",
        name,
        query={
            "platform": _platforms(platform),
            "type": builtins.list(type) if type else None,
            "statement": statement or None,
        },
        decode=decode_list(models.AttestationStatement),
    )


def history(
    name: str, *, platform: Platform | None = None
) -> Call[builtins.list[ImageHistoryResponseItem]]:
    """The layers an image was built from, newest first — ``GET /images/{name}/history``."""
    return Call(
        "ImageHistory",
        name,
        query={"platform": _platform(platform)},
        decode=decode_list(models.ImageHistoryResponseItem),
    )


def push(
    name: str,
    *,
    tag: str | None = None,
    platform: Platform | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
) -> ProgressCall[PushImageInfo]:
    """Push an image to its registry — ``POST /images/{name}/push``; a progress stream whose
    `wait()` raises the registry's error (e.g. unauthorized) instead of swallowing it.

    Without `auth`, the credentials the docker CLI would use for the registry are sent."""
    return ProgressCall(
        "ImagePush",
        name,
        query={"tag": tag, "platform": _platform(platform)},
        headers=registry_auth_header(auth) if auth is not None else (),
        credentials=CredentialsNeeded(name) if auth is None else None,
        decode_item=models.PushImageInfo.from_wire,
        response_timeout=None,
    )


def tag(name: str, *, repo: str, tag: str | None = None) -> Call[None]:
    """Give an image another name — ``POST /images/{name}/tag``."""
    return Call(
        "ImageTag",
        name,
        query={"repo": repo, "tag": tag},
        decode=lambda r: None,
    )


def delete(
    name: str,
    *,
    force: bool = False,
    noprune: bool = False,
    platforms: Platform | Sequence[Platform] | None = None,
) -> Call[builtins.list[ImageDeleteResponseItem]]:
    """Remove an image (or one of its names) — ``DELETE /images/{name}``; what was untagged
    and deleted. `platforms` (API ≥ 1.50) limits it to those variants."""
    return Call(
        "ImageDelete",
        name,
        query={
            "force": force or None,
            "noprune": noprune or None,
            "platforms": _platforms(platforms),
        },
        decode=decode_list(models.ImageDeleteResponseItem),
    )


def search(
    term: str, *, limit: int | None = None, filters: Filters | None = None
) -> Call[builtins.list[ImageSearchResponseItem]]:
    """Search the registry index (Docker Hub) — ``GET /images/search``."""
    return Call(
        "ImageSearch",
        query={"term": term, "limit": limit, "filters": encode_filters(filters)},
        decode=decode_list(models.ImageSearchResponseItem),
    )


def prune(*, filters: Filters | None = None) -> Call[ImagePruneResponse]:
    """Remove unused images (dangling only, unless ``filters={"dangling": ["false"]}``) —
    ``POST /images/prune``."""
    return Call(
        "ImagePrune",
        query={"filters": encode_filters(filters)},
        decode=lambda r: models.ImagePruneResponse.from_wire(r.json()),
        response_timeout=None,
    )


def commit(
    container: str,
    *,
    repo: str | None = None,
    tag: str | None = None,
    comment: str | None = None,
    author: str | None = None,
    pause: bool = True,
    changes: Changes | None = None,
    config: ContainerConfig | Mapping[str, Any] | None = None,
) -> Call[IDResponse]:
    """Make an image from a container's changes (``docker commit``) — ``POST /commit``.

    `changes` are Dockerfile instructions applied to the image's config (``docker commit
    -c``): ``["ENV MODE=prod", 'CMD ["sh"]']``, or one string; as for `import_image`.
    `config` is the container configuration to merge into the image's.
    """
    return Call(
        "ImageCommit",
        query={
            "container": container,
            "repo": repo,
            "tag": tag,
            "comment": comment,
            "author": author,
            "pause": pause,
            "changes": changes_query(changes),
        },
        json_body=to_body(config, models.ContainerConfig) if config is not None else {},
        decode=lambda r: models.IDResponse.from_wire(r.json()),
        response_timeout=None,
    )


def get(name: str, *, platform: Platform | Sequence[Platform] | None = None) -> RawCall:
    """An image (and its parents) as a tarball, streamed (``docker save``) —
    ``GET /images/{name}/get``."""
    return RawCall(
        "ImageGet",
        name,
        query={"platform": _platforms(platform)},
    )


def get_all(
    names: Sequence[str], *, platform: Platform | Sequence[Platform] | None = None
) -> RawCall:
    """Several images in one tarball, streamed — ``GET /images/get``."""
    return RawCall(
        "ImageGetAll",
        query={
            "names": builtins.list(names),
            "platform": _platforms(platform),
        },
    )


def load(
    tar: Body,
    *,
    quiet: bool = False,
    platform: Platform | Sequence[Platform] | None = None,
    content_length: int | None = None,
) -> ProgressCall[BuildInfo]:
    """Load images from a tarball made by `get` (``docker load``), streamed up —
    ``POST /images/load``; a progress stream (``Loaded image: …``)."""
    return ProgressCall(
        "ImageLoad",
        query={
            "quiet": quiet or None,
            "platform": _platforms(platform),
        },
        headers=[("Content-Type", "application/x-tar")],
        body=tar,
        content_length=content_length,
        decode_item=models.BuildInfo.from_wire,
        response_timeout=None,
    )


def build(
    context: Body | str | os.PathLike[str] | None = None,
    *,
    tag: Sequence[str] | str | None = None,
    dockerfile: str | None = None,
    dockerfile_content: str | bytes | IO[bytes] | IO[str] | None = None,
    build_args: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    target: str | None = None,
    network_mode: str | None = None,
    platform: str | None = None,
    pull: bool = False,
    no_cache: bool = False,
    rm: bool = True,
    force_rm: bool = False,
    extra_hosts: Sequence[str] | None = None,
    gzip: bool = False,
    registry_config: Mapping[str, Any] | None = None,
    remote: str | None = None,
    quiet: bool = False,
    cache_from: Sequence[str] | None = None,
    shm_size: int | None = None,
    squash: bool = False,
    memory: int | None = None,
    memory_swap: int | None = None,
    cpu_shares: int | None = None,
    cpuset_cpus: str | None = None,
    cpuset_mems: str | None = None,
    cpu_period: int | None = None,
    cpu_quota: int | None = None,
    cgroup_parent: str | None = None,
    isolation: str | None = None,
    outputs: Sequence[Mapping[str, Any]] | str | None = None,
) -> ProgressCall[BuildInfo]:
    """Build an image (classic builder) — ``POST /build``; a progress stream whose `wait()`
    raises the build's error.

    `context` is a directory, or a tar (bytes, or pieces streamed as they come; `gzip` says it
    is compressed). A directory is sent as ``docker build DIR`` sends it — its
    ``.dockerignore`` applied, the Dockerfile and ``.dockerignore`` always included —
    streamed from disk as it is uploaded (gzip-compressed with `gzip`); `dockerfile` is then
    relative to it (default ``Dockerfile``), and a missing one raises `BuildContextError` when
    the call is sent (the client reads the directory then, not this builder). A `dockerfile`
    outside the directory (``"../Dockerfile.dev"``, an absolute path, or a link leading out)
    is added to the context as the CLI adds it, as ``.dockerfile.<20 hex digits>``, also listed
    in the ``.dockerignore`` sent, so ``COPY . /dst`` does not see it.
    `dockerfile_content` gives the Dockerfile itself instead (a str, bytes, or a file object
    read when the call is sent): added to the directory's context so (``docker build -f -
    DIR``), or with no `context` the whole context (``docker build - < Dockerfile``).
    A remote context — `remote`, or a `context` that is an ``http(s)://`` or ``git://`` URL
    or ``git@…`` — is fetched by the daemon: a git repository, a tarball, or a plain
    Dockerfile; nothing is uploaded.
    `registry_config` (registry → credentials) is sent as ``X-Registry-Config``; by default,
    every registry's credentials the docker CLI knows, as the CLI sends them.
    The ``proxies`` of the docker CLI's ``config.json`` (this daemon's entry, else ``default``)
    join `build_args` as ``HTTP_PROXY``/``http_proxy``, …, each name not given already, as
    ``docker build`` does (read by the client when it sends the call).

    As ``docker build`` options: `extra_hosts` (``--add-host``, ``"name:ip"`` each), `quiet`
    (``-q``: the stream holds only the image ID), `cache_from`, `shm_size` (bytes), `squash`
    (experimental daemons only), `memory`/`memory_swap` (bytes), `cpu_shares`, `cpuset_cpus`,
    `cpuset_mems`, `cpu_period`/`cpu_quota` (µs), `cgroup_parent`, `isolation` (Windows
    daemons: ``process``, ``hyperv``), `outputs` (BuildKit exporters, a list of mappings).
    """
    local = None
    body: Body | None = None
    if remote is not None and context is not None:
        raise TypeError("images.build takes a context or remote=, not both")
    if dockerfile_content is not None:
        if dockerfile is not None:
            raise TypeError("images.build takes dockerfile= (a path) or dockerfile_content=")
        if remote is not None or _is_remote_context(context):
            raise TypeError("dockerfile_content= goes with a context directory, not a remote")
        if context is not None and not is_path(context):
            raise TypeError(
                "dockerfile_content= goes with a context directory (or none), not a tar: "
                "put the Dockerfile in the tar and name it with dockerfile="
            )
    if _is_remote_context(context):
        remote = cast(str, context)
    elif context is None:
        if dockerfile_content is not None:  # a context of the Dockerfile alone
            local = BuildContextDir(None, None, gzip, dockerfile_content)
        elif remote is None:
            raise TypeError(
                "images.build needs a context (a directory or a tar), dockerfile_content= "
                "or remote="
            )
    elif is_path(context):  # read by the client when it sends: the Dockerfile's path with it
        local = BuildContextDir(fspath(context), dockerfile, gzip, dockerfile_content)
        dockerfile = None
    else:
        body = cast(Body, context)
    tags = [tag] if isinstance(tag, str) else builtins.list(tag or ())
    headers = [("Content-Type", "application/x-tar")]
    if gzip:
        headers.append(("Content-Encoding", "gzip"))
    if registry_config is not None:
        configs = {key: to_body(value) for key, value in registry_config.items()}
        headers.append(("X-Registry-Config", registry_config_value(configs)))
    hosts = builtins.list(extra_hosts or ())
    if isinstance(outputs, str) or outputs is None:
        outputs_value = outputs
    else:
        outputs_value = json.dumps([dict(output) for output in outputs])
    return ProgressCall(
        "ImageBuild",
        query={
            "t": tags or None,
            "remote": remote,
            "dockerfile": dockerfile,
            "buildargs": json.dumps(dict(build_args)) if build_args else None,
            "labels": json.dumps(dict(labels)) if labels else None,
            "target": target,
            "networkmode": network_mode,
            "platform": platform,
            "pull": "1" if pull else None,
            "nocache": no_cache or None,
            "rm": rm,
            "forcerm": force_rm or None,
            # The daemon reads the key repeated, one host each (a comma is not a separator).
            "extrahosts": hosts or None,
            "q": quiet or None,
            "cachefrom": json.dumps(builtins.list(cache_from)) if cache_from else None,
            "shmsize": shm_size,
            "squash": squash or None,
            "memory": memory,
            "memswap": memory_swap,
            "cpushares": cpu_shares,
            "cpusetcpus": cpuset_cpus,
            "cpusetmems": cpuset_mems,
            "cpuperiod": cpu_period,
            "cpuquota": cpu_quota,
            "cgroupparent": cgroup_parent,
            "isolation": isolation,
            "outputs": outputs_value,
            "version": "1",
        },
        # Podman's compat API reads extra hosts as one JSON array instead.
        podman_query={"extrahosts": json.dumps(hosts) if hosts else None},
        headers=headers,
        body=body,
        decode_item=models.BuildInfo.from_wire,
        response_timeout=None,
        credentials=CredentialsNeeded() if registry_config is None else None,
        local=local,
        # As docker build: config.json's proxies join the build args (the client reads it).
        cli_config=_PROXY_BUILD_ARGS,
    )


_PROXY_BUILD_ARGS = CliConfigNeeded(proxy_build_args=True)


def build_prune(
    *,
    all: bool = False,
    filters: Filters | None = None,
    keep_storage: int | None = None,
    reserved_space: int | None = None,
    max_used_space: int | None = None,
    min_free_space: int | None = None,
) -> Call[BuildPruneResponse]:
    """Remove the build cache — ``POST /build/prune``.

    `keep_storage` (bytes; up to API 1.51) is superseded by `reserved_space`,
    `max_used_space` and `min_free_space` (bytes; API ≥ 1.48): an older API raises
    `APIVersionError` before anything is sent."""
    return Call(
        "BuildPrune",
        query={
            "all": all or None,
            "filters": encode_filters(filters),
            "keep-storage": keep_storage,
            "reserved-space": reserved_space,
            "max-used-space": max_used_space,
            "min-free-space": min_free_space,
        },
        decode=lambda r: models.BuildPruneResponse.from_wire(r.json()),
        response_timeout=None,
    )
