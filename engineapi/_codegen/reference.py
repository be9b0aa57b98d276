"""Generate the API reference pages of the documentation site (engineapi/docs/).

    python -m engineapi._codegen.reference --out DIR    # write the pages under DIR/reference/

The site's build hook (engineapi/docs/hooks.py) calls `pages()` on every build, so the pages
are never committed and never stale. The facts come from the code itself: the namespace
methods' signatures and docstrings, the operations table (endpoint, parameters, the API
version that introduced each), the models' attrs fields and their attribute docstrings
(wire name, type, description, since/until), and the error tree. Narrative modules
(transports, backends, config, replay, …) are rendered by mkdocstrings from their docstrings.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

__all__ = ["documented_names", "main", "pages"]

PACKAGE = Path(__file__).resolve().parent.parent
MODELS_DIR = PACKAGE / "models" / "_generated"

#: Hand-written modules rendered by mkdocstrings: page name → (title, intro, objects).
MODULE_PAGES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "client": (
        "Client and AsyncClient",
        "The two clients: the same namespaces and methods, one blocking, one `async`.",
        ("engineapi.Client", "engineapi.AsyncClient", "engineapi.Timeouts"),
    ),
    "streams": (
        "Streams and results",
        "What the streaming methods return (sync and async twins) and the results of the "
        "multi-step calls.",
        (
            "engineapi.ItemStream",
            "engineapi.OutputStream",
            "engineapi.RawStream",
            "engineapi.ProgressStream",
            "engineapi.AttachedStream",
            "engineapi.ExecStream",
            "engineapi.RunStream",
            "engineapi.WebSocketAttach",
            "engineapi.AsyncItemStream",
            "engineapi.AsyncOutputStream",
            "engineapi.AsyncRawStream",
            "engineapi.AsyncProgressStream",
            "engineapi.AsyncAttachedStream",
            "engineapi.AsyncExecStream",
            "engineapi.AsyncRunStream",
            "engineapi.AsyncWebSocketAttach",
            "engineapi.RunResult",
            "engineapi.ExecResult",
            "engineapi.PathStat",
            "engineapi.PortMapping",
            "engineapi.PingResult",
            "engineapi.streams.progress",
        ),
    ),
    "transports": (
        "Transports",
        "How bytes reach the daemon: Unix sockets, TCP, TLS and SSH (both modes).",
        (
            "engineapi.transports",
            "engineapi.transports.base",
            "engineapi.transports.unix",
            "engineapi.transports.tcp",
            "engineapi.transports.tls",
            "engineapi.transports.ssh",
            "engineapi.transports.sshcmd",
        ),
    ),
    "backends": (
        "Backends",
        "The HTTP engines a client can run on: its own (default), httpx or requests.",
        (
            "engineapi.backends",
            "engineapi.backends.base",
            "engineapi.backends.httpx",
            "engineapi.backends.requests",
        ),
    ),
    "config": (
        "Configuration",
        "How a client finds its engine (DOCKER_HOST, contexts, TLS, API version), as the "
        "docker CLI does, and the credentials it sends.",
        (
            "engineapi.config",
            "engineapi.Endpoint",
            "engineapi.TLSConfig",
            "engineapi.config.auth",
            "engineapi.config.cli",
        ),
    ),
    "observe": (
        "Observability",
        "Hooks that see every request and response.",
        ("engineapi.observe", "engineapi.RequestInfo", "engineapi.ResponseInfo"),
    ),
    "replay": (
        "Replay and the pytest plugin",
        "Record an engine's answers to a cassette and replay them without an engine; the "
        "pytest plugin's fixtures and options.",
        ("engineapi.replay", "engineapi.replay.pytest_plugin", "engineapi.testing"),
    ),
}


def _anchor(text: str) -> str:
    """An explicit heading id (attr_list), stable whatever the heading says."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell(text: object) -> str:
    """Text fit for one table cell: one line, no stray pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: object) -> str:
    return f"`{_cell(text)}`" if text not in (None, "") else ""


def _first_paragraph(doc: str | None) -> str:
    doc = inspect.cleandoc(doc or "")
    return doc.split("\n\n", 1)[0]


def _doc_markdown(doc: str | None) -> str:
    """A docstring as markdown: reST literals and ``::`` blocks made plain code."""
    text = inspect.cleandoc(doc or "")
    text = re.sub(r"::\n\n((?:    .*\n?|\n)+)", lambda m: ":\n\n" + m.group(1), text)
    # The specs' descriptions hold stray HTML (``<p><br /><p>``): an unclosed <p> would swallow
    # the rest of the page.
    text = re.sub(r"</?p>|<br ?/?>", "", text)
    # The specs link operations as ``#operation/NodeUpdate``: the method's section here (every
    # page that shows spec text sits one level under reference/).
    return re.sub(r"\]\(#operation/(\w+)\)", _operation_link, text)


def _operation_link(match: re.Match[str]) -> str:
    from engineapi.api._operations import OPERATIONS

    op = OPERATIONS.get(match.group(1))
    if op is None:
        return "]"  # unknown to the table: the link text alone
    return f"](../namespaces/{op.namespace}.md#{_anchor(op.namespace + '.' + op.method_name)})"


# -- namespaces ------------------------------------------------------------------------------


@attrs.frozen
class MethodRef:
    namespace: str
    name: str
    anchor: str


def _namespaces() -> dict[str, tuple[type, type, str]]:
    from engineapi._async import _namespaces as anamespaces
    from engineapi._codegen.namespaces import NAMESPACES
    from engineapi._sync import _namespaces as snamespaces

    result = {}
    for attr, title in NAMESPACES.items():
        sync_cls = getattr(snamespaces, attr.title())
        async_cls = getattr(anamespaces, "Async" + attr.title())
        result[attr] = (sync_cls, async_cls, title)
    return result


def _public_methods(cls: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(value)
    )


_ENDPOINT = re.compile(r"``(GET|POST|PUT|DELETE|HEAD) (/[^`]*)``")


def _operations_of(namespace: str, method: str, doc: str) -> list[Any]:
    """The operations a method sends: its own table entry, else those its docstring names."""
    from engineapi.api._operations import OPERATIONS
    from engineapi.api._routes import ROUTES

    placed = [
        op for op in OPERATIONS.values() if (op.namespace, op.method_name) == (namespace, method)
    ]
    if placed:
        return placed
    by_route = {route: op_id for op_id, route in ROUTES.items()}
    same = re.search(r"same requests, in the same order, as `(\w+)`", " ".join(doc.split()))
    if same:  # a flow described by another method's (run_stream: "as `run`")
        from engineapi._sync import _namespaces as snamespaces

        other = getattr(getattr(snamespaces, namespace.title()), same.group(1))
        return _operations_of(namespace, same.group(1), inspect.getdoc(other) or "")
    found = []
    for http_method, path in _ENDPOINT.findall(doc):
        op_id = by_route.get((http_method, path.split("?")[0]))
        if op_id and OPERATIONS[op_id] not in found:
            found.append(OPERATIONS[op_id])
    return found


_GENERIC_PARAMS = {
    "timeout": "This call's timeouts (a `Timeouts`, or seconds for all of them); the client's "
    "otherwise.",
    "extra_query": "Query parameters added as they are (for what the spec does not describe).",
}


def _errors_of(ops: list[Any], method: str) -> list[str]:
    from engineapi._apiversion import MIN_API_VERSION, version_key
    from engineapi.errors import _NOT_FOUND_BY_TAG

    errors = []
    for op in ops:
        if "{" in op.path and op.tag in _NOT_FOUND_BY_TAG:
            name = _NOT_FOUND_BY_TAG[op.tag].__name__
            line = f"[`{name}`](../errors.md#{_anchor(name)}) (404) when the object is missing"
            if line not in errors:
                errors.append(line)
    if method in {"pull", "create_image"} or any(op.operation_id == "ImageCreate" for op in ops):
        errors.append("[`ImagePullError`](../errors.md#imagepullerror) when a pull fails")
    errors.append(
        "[`DaemonError`](../errors.md#daemonerror) (its subclass for the status: `BadRequest`, "
        "`Conflict`, `NotFound`, `ServerError`, …) for any other error status"
    )
    newest = max((op.since for op in ops), key=version_key, default=MIN_API_VERSION)
    param_since = any(
        version_key(p.since) > version_key(MIN_API_VERSION) or p.until
        for op in ops
        for p in op.params.values()
    )
    if version_key(newest) > version_key(MIN_API_VERSION) or param_since:
        errors.append(
            "[`APIVersionError`](../errors.md#apiversionerror) when the negotiated API version "
            "lacks the operation or a parameter given"
        )
    errors.append(
        "[`TransportError`](../errors.md#transporterror) (`ConnectError`, `TimeoutError`, "
        "`ConnectionLost`) when the daemon cannot be reached or stops answering"
    )
    return errors


def _signature_text(sig: inspect.Signature) -> str:
    """A signature as source spells it (string annotations unquoted), without ``self``."""
    parts = []
    star = False
    for p in list(sig.parameters.values())[1:]:
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.kind is p.VAR_POSITIONAL:
            star = True
        stars = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}
        text = stars.get(p.kind, "") + p.name  # type: ignore[call-overload]
        if p.annotation is not p.empty:
            text += f": {p.annotation}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    ret = sig.return_annotation
    return "(" + ", ".join(parts) + ")" + ("" if ret is sig.empty else f" -> {ret}")


def _method_section(namespace: str, name: str, sync_fn: Any, async_fn: Any) -> str:
    doc = inspect.getdoc(sync_fn) or ""
    ops = _operations_of(namespace, name, doc)
    sync_sig = inspect.signature(sync_fn)
    async_sig = inspect.signature(async_fn)
    title = f"{namespace}.{name}"
    out = [f"## `{title}` {{#{_anchor(title)}}}", ""]
    sig = _signature_text(sync_sig)
    awaited = "await " if inspect.iscoroutinefunction(async_fn) else ""
    out += ["```python", f"client.{namespace}.{name}{sig}", "```", ""]
    out += [_doc_markdown(doc), ""]
    if ops:
        endpoints = ", ".join(f"`{op.http_method} {op.path}`" for op in ops)
        out += [f"**Endpoint:** {endpoints}", ""]
        sinces = sorted({op.since for op in ops})
        out += [
            f"**Operation:** {', '.join(op.operation_id for op in ops)} (since API {', '.join(sinces)})",
            "",
        ]
    params: dict[str, Any] = {}
    for op in ops:
        for p in op.params.values():
            params.setdefault(p.python_name, p)
    rows = []
    for pname, parameter in list(sync_sig.parameters.items())[1:]:
        wire = params.get(pname)
        annotation = parameter.annotation
        type_text = (
            annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
        )
        default = "" if parameter.default is inspect.Parameter.empty else repr(parameter.default)
        since = ""
        sent = ""
        described = _GENERIC_PARAMS.get(pname, "")
        if wire is not None:
            since = wire.since + (f" to {wire.until}" if wire.until else "")
            sent = f"{wire.location} `{wire.name}`"
            described = wire.description
        rows.append(
            f"| `{pname}` | {_code(type_text)} | {_code(default)} | {sent} | {since} | "
            f"{_cell(described)} |"
        )
    if rows:
        out += [
            "| Parameter | Type | Default | Sent as | Since API | Description |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
        ]
    ret_sync = sync_sig.return_annotation
    ret_async = async_sig.return_annotation
    out += [
        f"**Returns:** {_code(ret_sync)} (`AsyncClient`: {_code(awaited + str(ret_async))})",
        "",
        "**Raises:**",
        "",
        *[f"- {line}" for line in _errors_of(ops, name)],
        "",
    ]
    return "\n".join(out)


def _namespace_pages() -> Iterator[tuple[str, str, list[str]]]:
    for attr, (sync_cls, async_cls, title) in _namespaces().items():
        methods = _public_methods(sync_cls)
        names = [f"{attr}.{m}" for m in methods]
        body = [
            f"# client.{attr}",
            "",
            f"{title}: `client.{attr}` on a `Client` (class `{sync_cls.__name__}`), the same "
            f"methods to `await` on an `AsyncClient` (class `{async_cls.__name__}`).",
            "",
            "| Method | Summary |",
            "| --- | --- |",
        ]
        for m in methods:
            summary = _first_paragraph(inspect.getdoc(getattr(sync_cls, m)))
            body.append(f"| [`{attr}.{m}`](#{_anchor(attr + '.' + m)}) | {_cell(summary)} |")
        body.append("")
        for m in methods:
            body.append(_method_section(attr, m, getattr(sync_cls, m), getattr(async_cls, m)))
        yield f"reference/namespaces/{attr}.md", "\n".join(body), names


# -- models ----------------------------------------------------------------------------------


def _attribute_docs(tree: ast.Module) -> dict[str, dict[str, str]]:
    """``{class: {attribute: docstring}}`` from the attribute docstrings of a module."""
    result: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs: dict[str, str] = {}
        body = node.body
        for stmt, following in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign | ast.Assign)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                target = stmt.target if isinstance(stmt, ast.AnnAssign) else stmt.targets[0]
                if isinstance(target, ast.Name):
                    docs[target.id] = inspect.cleandoc(following.value.value)
        result[node.name] = docs
    return result


def _indent(source: str) -> str:
    return "".join("    " + line if line.strip() else line for line in source.splitlines(True))


def _model_pages() -> Iterator[tuple[str, str, list[str]]]:
    from engineapi import models
    from engineapi.models import OpenEnum, OpenIntEnum, WireModel, field_info

    index = [
        "# Models",
        "",
        "Every model is an attrs class generated from the Engine API specs (v1.41 and later). "
        "Every field is optional (`None` when the daemon did not send it: older API versions, "
        "Podman, or a field the daemon leaves out); `Model.from_wire(obj)` decodes JSON and "
        "`model.to_wire()` encodes it; keys the specs do not describe are kept in `extra`. "
        "Each field lists its JSON (wire) name and the API versions that have it.",
        "",
        "| Model | Page |",
        "| --- | --- |",
    ]
    names_by_page: dict[str, list[str]] = {}
    for path in sorted(MODELS_DIR.glob("*.py")):
        if path.name == "__init__.py":
            continue
        module_name = f"engineapi.models._generated.{path.stem}"
        module = importlib.import_module(module_name)
        tree = ast.parse(path.read_text())
        docs = _attribute_docs(tree)
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
        aliases = {
            n.target.id: ast.unparse(n.value)
            for n in tree.body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.value
        }
        module_docs = _attribute_docs(ast.parse("class _M:\n" + _indent(path.read_text())))
        page = f"reference/models/{path.stem}.md"
        out = [f"# {(classes or list(aliases))[0]}", ""]
        for alias, value in aliases.items():
            out += [f"## `{alias}` {{#{_anchor(alias)}}}", ""]
            out += [f"A type alias: `{alias} = {value}`.", ""]
            out += [module_docs.get("_M", {}).get(alias, ""), ""]
            names_by_page.setdefault(page, []).append(alias)
            index.append(f"| [`{alias}`]({path.stem}.md#{_anchor(alias)}) | {path.stem} |")
        for cls_name in classes:
            cls = getattr(module, cls_name)
            out += [f"## `{cls_name}` {{#{_anchor(cls_name)}}}", ""]
            out += [_doc_markdown(cls.__doc__), ""]
            if isinstance(cls, type) and issubclass(cls, WireModel):
                info = field_info(cls)
                hints = {
                    n.target.id: ast.unparse(n.annotation)
                    for klass in tree.body
                    if isinstance(klass, ast.ClassDef) and klass.name == cls_name
                    for n in klass.body
                    if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
                }
                out += [
                    "| Field | Wire name | Type | Since | Until | Description |",
                    "| --- | --- | --- | --- | --- | --- |",
                ]
                for attr, fi in info.items():
                    desc = _doc_markdown(docs.get(cls_name, {}).get(attr, ""))
                    desc = re.sub(
                        r"\s*(Since API [0-9.]+\.|Only in API versions [0-9. to]+\.)$", "", desc
                    )
                    flag = " *(deprecated)*" if fi.deprecated else ""
                    out.append(
                        f"| `{attr}` | `{fi.wire}` | {_code(hints.get(attr, ''))} | {fi.since} | "
                        f"{fi.until or ''} | {_cell(desc)}{flag} |"
                    )
                out.append("")
            elif isinstance(cls, type) and issubclass(cls, OpenEnum | OpenIntEnum):
                members = [
                    (n, getattr(cls, n)) for n in vars(cls) if n.isupper() and not n.startswith("_")
                ]
                out += [
                    "An open enumeration: the values below, and any other the daemon sends.",
                    "",
                    "| Member | Value |",
                    "| --- | --- |",
                    *[
                        f"| `{n}` | `{str.__repr__(v) if isinstance(v, str) else int(v)}` |"
                        for n, v in members
                    ],
                    "",
                ]
            names_by_page.setdefault(page, []).append(cls_name)
            index.append(f"| [`{cls_name}`]({path.stem}.md#{_anchor(cls_name)}) | {path.stem} |")
        yield page, "\n".join(out), names_by_page[page]
    # The hand-written machinery (models/_base.py) next to the generated classes.
    base = sorted(
        name
        for name in models.__all__
        if getattr(getattr(models, name), "__module__", "") == "engineapi.models._base"
    )
    index += [
        "",
        "## The model machinery",
        "",
        *[f"::: engineapi.models.{name}\n" for name in base],
    ]
    listed = [n for names in names_by_page.values() for n in names]
    missing = sorted(set(models.__all__) - set(listed) - set(base))
    if missing:
        raise SystemExit(f"models without a generated module: {missing}")
    yield "reference/models/index.md", "\n".join(index), base


# -- errors and module pages ---------------------------------------------------------------------


def _errors_page() -> tuple[str, str, list[str]]:
    from engineapi import errors

    names = sorted(errors.__all__)
    out = [
        "# Errors",
        "",
        "Every exception engineapi raises derives from `EngineAPIError`. The tree:",
        "",
        "```text",
        inspect.cleandoc(
            (errors.__doc__ or "").split("::", 1)[1].split("This module is a leaf")[0]
        ),
        "```",
        "",
    ]
    for name in names:
        obj = getattr(errors, name)
        if not isinstance(obj, type):
            out += [f"## `{name}` {{#{_anchor(name)}}}", "", _doc_markdown(obj.__doc__), ""]
            continue
        bases = ", ".join(f"`{b.__name__}`" for b in obj.__bases__)
        out += [
            f"## `{name}` {{#{_anchor(name)}}}",
            "",
            f"Bases: {bases}",
            "",
            _doc_markdown(obj.__doc__),
            "",
        ]
    return "reference/errors.md", "\n".join(out), names


def _object_section(dotted: str) -> str:
    """A lazily exported class (defined in a module griffe cannot load: ``_sync``/``_async``
    are namespace packages) rendered from the live object; anything else by mkdocstrings."""
    import engineapi

    module, _, name = dotted.rpartition(".")
    lazy: dict[str, str] = engineapi._LAZY
    if module != "engineapi" or name not in lazy:
        return f"::: {dotted}"
    cls = getattr(engineapi, name)
    out = [f"## `{name}` {{#{_anchor(name)}}}", ""]
    bases = [b for b in cls.__mro__[1:] if b.__module__.startswith("engineapi")]
    if bases:
        out += ["Bases: " + ", ".join(f"`{b.__name__}`" for b in bases), ""]
    out += [_doc_markdown(cls.__doc__), ""]
    if name in {"Client", "AsyncClient"}:
        from engineapi._codegen.namespaces import NAMESPACES

        out += [
            "Namespaces: " + ", ".join(f"[`{n}`](namespaces/{n}.md)" for n in NAMESPACES),
            "",
        ]
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("engineapi") or klass.__name__ == "Namespaces":
            continue
        for member, value in vars(klass).items():
            if member in seen or (member.startswith("_") and member != "__init__"):
                continue
            seen.add(member)
            if isinstance(value, property):
                doc = value.fget.__doc__ if value.fget else ""
                out += [f"### `{name}.{member}` {{#{_anchor(name + '.' + member)}}}", ""]
                out += ["*property*", "", _doc_markdown(doc), ""]
            elif isinstance(value, classmethod | staticmethod) or inspect.isfunction(value):
                func = value.__func__ if isinstance(value, classmethod | staticmethod) else value
                try:
                    sig = inspect.signature(func)
                except (TypeError, ValueError):
                    continue
                label = name if member == "__init__" else f"{name}.{member}"
                text = (
                    _signature_text(sig)
                    if "self" in sig.parameters or isinstance(value, classmethod)
                    else str(sig)
                )
                prefix = "async " if inspect.iscoroutinefunction(func) else ""
                out += [f"### `{label}` {{#{_anchor(name + '.' + member)}}}", ""]
                out += ["```python", f"{prefix}{label}{text}", "```", ""]
                out += [_doc_markdown(func.__doc__), ""]
    return "\n".join(out)


def _operations_page() -> tuple[str, str, list[str]]:
    from engineapi._codegen.namespaces import NAMESPACES
    from engineapi.api._operations import OPERATIONS

    out = [
        "# Operations",
        "",
        "## `OPERATIONS` {#operations}",
        "",
        "`engineapi.OPERATIONS` maps each Engine API operationId to an `Operation`: where it "
        "lives on the client, its endpoint, its parameters (each with the API version that "
        "introduced it) and the API version that introduced the operation. Every one:",
        "",
        "| Operation | Endpoint | Method | Since API |",
        "| --- | --- | --- | --- |",
    ]
    for op in OPERATIONS.values():
        place = f"{op.namespace}.{op.method_name}"
        if op.namespace in NAMESPACES:
            method = f"[`{place}`](namespaces/{op.namespace}.md#{_anchor(place)})"
        else:
            method = "none: not offered by the client"
        out.append(f"| {op.operation_id} | `{op.http_method} {op.path}` | {method} | {op.since} |")
    out += ["", "::: engineapi.api._optypes.Operation", "", "::: engineapi.api._optypes.Param", ""]
    return "reference/operations.md", "\n".join(out), ["OPERATIONS"]


def _real_path(dotted: str) -> str:
    """Where a lazily exported ``engineapi.X`` is defined (mkdocstrings needs the module)."""
    import engineapi

    module, _, name = dotted.rpartition(".")
    lazy: dict[str, str] = engineapi._LAZY
    if module == "engineapi" and name in lazy:
        return f"{lazy[name]}.{name}"
    return dotted


def _module_pages() -> Iterator[tuple[str, str, list[str]]]:
    for page, (title, intro, objects) in MODULE_PAGES.items():
        out = [f"# {title}", "", intro, ""]
        for obj in objects:
            out += [_object_section(obj), ""]
        yield f"reference/{page}.md", "\n".join(out), [o.rsplit(".", 1)[-1] for o in objects]


def _index_page(listing: list[tuple[str, str]]) -> str:
    out = [
        "# Reference",
        "",
        "Generated from the code on every build: the namespaces and their methods (endpoint, "
        "parameters and the API version that introduced each, return type, errors), the "
        "models, the errors, and the supporting modules.",
        "",
    ]
    for path, title in listing:
        out.append(f"- [{title}]({path.removeprefix('reference/')})")
    return "\n".join(out) + "\n"


def pages() -> dict[str, str]:
    """Every reference page: its path under the docs directory → its markdown."""
    return {path: text for path, text, _ in _all()}


def documented_names() -> dict[str, set[str]]:
    """Page path → the public names it documents (a heading or a mkdocstrings block each)."""
    return {path: set(names) for path, _, names in _all()}


def _model_page_paths() -> list[str]:
    return [
        f"reference/models/{p.stem}.md"
        for p in sorted(MODELS_DIR.glob("*.py"))
        if p.name != "__init__.py"
    ]


def nav() -> list[Any]:
    """The reference's part of the site navigation."""
    from engineapi._codegen.namespaces import NAMESPACES

    return [
        {"Overview": "reference/index.md"},
        {"Client": "reference/client.md"},
        {"Namespaces": [{f"client.{n}": f"reference/namespaces/{n}.md"} for n in NAMESPACES]},
        {"Models": ["reference/models/index.md", *_model_page_paths()]},
        {"Errors": "reference/errors.md"},
        {"Operations": "reference/operations.md"},
        *[{MODULE_PAGES[p][0]: f"reference/{p}.md"} for p in MODULE_PAGES if p != "client"],
    ]


def _all() -> list[tuple[str, str, list[str]]]:
    generated = [
        *_namespace_pages(),
        *_model_pages(),
        _errors_page(),
        _operations_page(),
        *_module_pages(),
    ]
    listing = [
        (path, text.split("\n", 1)[0].lstrip("# "))
        for path, text, _ in generated
        if not path.startswith("reference/models/") or path.endswith("index.md")
    ]
    return [("reference/index.md", _index_page(listing), []), *generated]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the docs directory to write to")
    args = parser.parse_args(argv)
    for path, text in pages().items():
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    print(f"wrote {len(pages())} pages under {args.out / 'reference'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
