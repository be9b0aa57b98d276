"""Settings of the docker CLI's ``config.json`` a call takes from it when the caller did not
give them: proxy variables (``proxies``) and detach keys (``detachKeys``).

Builders do no I/O: they mark the call with a `CliConfigNeeded`, and the client sending it
reads the file (`engineapi.config.cli`) and calls `CliConfigNeeded.apply` with the values
found, which returns the call to send.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

import attrs

__all__ = ["CliConfigNeeded"]


class _Request(Protocol):
    """What `CliConfigNeeded.apply` changes of a `engineapi.api._call.Call` (named so, not
    imported: `Call` refers to this module)."""

    query: tuple[tuple[str, str], ...]
    body: Any
    content_length: int | None


_CallT = TypeVar("_CallT", bound=_Request)


def _env_name(entry: object) -> str:
    return str(entry).partition("=")[0]


@attrs.frozen
class CliConfigNeeded:
    """What a call takes from ``config.json``, as the docker CLI does:

    - `proxy_env`: the proxy variables into the create body's ``Env`` (``docker run``,
      ``docker create``), each one the ``Env`` does not name already;
    - `proxy_build_args`: the same into the ``buildargs`` query parameter (``docker build``),
      each one the build arguments do not name already;
    - `detach_keys_query`: ``detachKeys`` as a query parameter (``docker attach``, ``docker
      run``), unless the call has one;
    - `detach_keys_body`: ``DetachKeys`` in the JSON body (``docker exec``), unless set.
    """

    proxy_env: bool = False
    proxy_build_args: bool = False
    detach_keys_query: bool = False
    detach_keys_body: bool = False

    @property
    def wants_proxies(self) -> bool:
        return self.proxy_env or self.proxy_build_args

    def apply(self, call: _CallT, proxies: Mapping[str, str], detach_keys: str) -> _CallT:
        """`call` with the settings added (a copy; `call` itself when nothing changes).
        `proxies` maps variable names (both cases) to values, as
        `engineapi.config.cli.proxy_variables` gives them."""
        query = call.query
        body = call.body
        if self.proxy_env and proxies and isinstance(body, bytes):
            doc = json.loads(body)
            env = doc.get("Env") or []
            named = {_env_name(entry) for entry in env}
            added = [f"{name}={value}" for name, value in proxies.items() if name not in named]
            if added:
                doc["Env"] = [*env, *added]
                body = json.dumps(doc, separators=(",", ":")).encode()
        if self.proxy_build_args and proxies:
            pairs = dict(query)
            args: dict[str, Any] = json.loads(pairs.get("buildargs") or "{}")
            added_args = {name: value for name, value in proxies.items() if name not in args}
            if added_args:
                value = json.dumps({**args, **added_args}, separators=(",", ":"))
                if "buildargs" in pairs:
                    query = tuple((k, value if k == "buildargs" else v) for k, v in query)
                else:
                    query = (*query, ("buildargs", value))
        if detach_keys:
            if self.detach_keys_query and not any(k == "detachKeys" for k, _ in query):
                query = (*query, ("detachKeys", detach_keys))
            if self.detach_keys_body and isinstance(body, bytes):
                doc = json.loads(body)
                if not doc.get("DetachKeys"):
                    doc["DetachKeys"] = detach_keys
                    body = json.dumps(doc, separators=(",", ":")).encode()
        if query is call.query and body is call.body:
            return call
        copied = copy.copy(call)
        copied.query, copied.body = query, body
        if body is not call.body and isinstance(body, bytes) and call.content_length is not None:
            copied.content_length = len(body)
        return copied
