"""Generate the client namespaces (``client.containers.list()`` …) from `engineapi/api/`.

    python -m engineapi._codegen.namespaces            # rewrite engineapi/_async/_namespaces.py
    python -m engineapi._codegen.namespaces --check

Each public function of an `engineapi.api` module builds a call; the namespace method has the
same signature and docstring and executes it. `Call[T]` becomes a coroutine returning `T`,
`StreamCall[T]` a method returning an item stream, `RawCall` one returning a byte stream. The
sync twin then comes from `unasync`, so neither public surface is written by hand.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from engineapi._codegen.unasync import ruff_format

__all__ = ["NAMESPACES", "generate", "main"]

PACKAGE = Path(__file__).resolve().parent.parent
API = PACKAGE / "api"
TARGET = PACKAGE / "_async" / "_namespaces.py"

#: Namespace attribute → (class suffix, what it groups). Order is the order on the client.
NAMESPACES: dict[str, str] = {
    "system": "Ping, version, info, events and disk usage",
    "containers": "Containers",
    "images": "Images, builds and registry authentication",
    "networks": "Networks",
    "volumes": "Volumes",
    "exec": "Exec instances",
    "swarm": "The swarm itself",
    "nodes": "Swarm nodes",
    "services": "Swarm services",
    "tasks": "Swarm tasks",
    "secrets": "Swarm secrets",
    "configs": "Swarm configs",
    "plugins": "Plugins",
    "distribution": "Registry distribution information",
}

_KINDS = {
    "Call": "send",
    "StreamCall": "stream",
    "RawCall": "raw",
    "OutputCall": "output",
    "HijackCall": "attach",
    "Flow": "flow",
    "OperationFlow": "flow",
    "ExecStreamCall": "exec_stream",
    "RunCall": "run",
    "RunStreamCall": "run_stream",
    "ProgressCall": "progress",
    "WebSocketCall": "websocket",
    "ExtractCall": "extract",
}


#: Kinds that run several requests (run, exec.run, exec.stream…): no `extra_query`, which
#: would be ambiguous there; their single steps have their own methods that take it.
_MULTI_STEP = frozenset({"Flow", "ExecStreamCall", "RunCall", "RunStreamCall"})
#: The kinds whose method returns a response body streamed item by item.
_BODY_STREAMS = frozenset({"StreamCall", "ProgressCall", "OutputCall", "RawCall"})


def _class_name(namespace: str) -> str:
    return "Async" + namespace.title()


class _Method:
    def __init__(self, module: str, func: ast.FunctionDef) -> None:
        self.module = module
        self.name = func.name
        self.args = func.args
        self.doc = ast.get_docstring(func, clean=False) or ""
        returns = func.returns
        if isinstance(returns, ast.Subscript) and isinstance(returns.value, ast.Name):
            kind, item = returns.value.id, ast.unparse(returns.slice)
        elif isinstance(returns, ast.Name):
            kind, item = returns.id, ""
        else:
            raise SystemExit(f"api.{module}.{func.name}: return type must be a Call type")
        if kind not in _KINDS:
            raise SystemExit(f"api.{module}.{func.name}: unknown call type {kind}")
        self.kind = kind
        self.item = "RunResult" if kind == "RunCall" else item

    def operation_id(self) -> str:
        """The operation this method is the method of (`OperationFlow`)."""
        from engineapi.api._operations import OPERATIONS

        for operation_id, op in OPERATIONS.items():
            if op.namespace == self.module and op.method_name == self.name:
                return operation_id
        raise SystemExit(f"api.{self.module}.{self.name}: an OperationFlow of no operation")

    def constant(self) -> bool:
        """Whether the builder takes no argument: its call is then always the same value (a
        call is never changed once built), built once rather than on every request."""
        args = self.args
        return self.kind == "Call" and not (
            args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg
        )

    def constant_name(self) -> str:
        return f"_{self.module}_{self.name}"

    def names(self) -> set[str]:
        """Identifiers the signature mentions, to import them."""
        found: set[str] = set()
        args = self.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.annotation is not None:
                found |= {n.id for n in ast.walk(arg.annotation) if isinstance(n, ast.Name)}
        if args.kwarg is not None and args.kwarg.annotation is not None:  # **options: Unpack[…]
            found |= {n.id for n in ast.walk(args.kwarg.annotation) if isinstance(n, ast.Name)}
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                found |= {n.id for n in ast.walk(default) if isinstance(n, ast.Name)}
        if self.item:
            found |= {n.id for n in ast.walk(ast.parse(self.item)) if isinstance(n, ast.Name)}
        return found

    def render(self) -> str:
        args = self.args
        forwarded = [a.arg for a in [*args.posonlyargs, *args.args]]
        forwarded += [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
        if args.kwarg is not None:
            forwarded.append(f"**{args.kwarg.arg}")
        call = f"_{self.module}.{self.name}({', '.join(forwarded)})"
        if self.constant():
            call = f"{self.constant_name()}()"
        if self.kind == "OperationFlow":
            # The flow of one operation (inspect, merge, update): the extra query parameters
            # go with that operation's requests only.
            args = _with_extra_query(args)
            call = f"flow_with_extra_query({call}, {self.operation_id()!r}, extra_query)"
        elif self.kind not in _MULTI_STEP:
            # Every single-call method takes query parameters the specs do not know.
            args = _with_extra_query(args)
            call = f"with_extra_query({call}, extra_query)"
        # Every method takes its own timeouts, for each request it makes: ``timeout=``, or
        # ``request_timeout=`` where ``timeout`` is the operation's own (stop's grace period).
        taken = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        timeout = "request_timeout" if "timeout" in taken else "timeout"
        args = _with_keyword(args, timeout, "Timeouts | float | None")
        # A body streamed to the caller may run for ever: ``deadline=`` bounds it as a whole
        # (see `engineapi._async.streams.AsyncBodyStream`).
        deadline = ""
        if self.kind in _BODY_STREAMS:
            args = _with_keyword(args, "deadline", "float | None")
            deadline = ", deadline=deadline"
        signature = ast.unparse(args)
        params = f"self, {signature}" if signature else "self"
        doc = self.doc.replace('"""', '\\"\\"\\"')
        executor = f"timed(self._executor, {timeout})"
        if self.kind == "Call":
            head = f"    async def {self.name}({params}) -> {self.item}:"
            body = f"        return await {executor}.send({call})"
        elif self.kind == "StreamCall":
            head = f"    def {self.name}({params}) -> AsyncItemStream[{self.item}]:"
            body = f"        return AsyncItemStream({executor}, {call}{deadline})"
        elif self.kind in ("Flow", "OperationFlow"):
            head = f"    async def {self.name}({params}) -> {self.item}:"
            body = f"        return await {executor}.run_flow({call})"
        elif self.kind == "WebSocketCall":
            head = f"    async def {self.name}({params}) -> AsyncWebSocketAttach:"
            body = f"        return await websocket({executor}, {call})"
        elif self.kind == "ExtractCall":
            head = f"    async def {self.name}({params}) -> builtins.list[str]:"
            body = f"        return await extract({executor}, {call})"
        elif self.kind == "ProgressCall":
            head = f"    def {self.name}({params}) -> AsyncProgressStream[{self.item}]:"
            body = f"        return AsyncProgressStream({executor}, {call}{deadline})"
        elif self.kind == "ExecStreamCall":
            head = f"    def {self.name}({params}) -> AsyncExecStream:"
            body = f"        return AsyncExecStream({executor}, {call})"
        elif self.kind == "RunCall":
            head = f"    async def {self.name}({params}) -> {self.item}:"
            body = f"        return await AsyncRunStream({executor}, {call}).result()"
        elif self.kind == "RunStreamCall":
            head = f"    def {self.name}({params}) -> AsyncRunStream:"
            body = f"        return AsyncRunStream({executor}, {call})"
        elif self.kind == "OutputCall":
            head = f"    def {self.name}({params}) -> AsyncOutputStream:"
            body = f"        return AsyncOutputStream({executor}, {call}{deadline})"
        elif self.kind == "HijackCall":
            # Unopened: `async with` / `await` / first use hijack (`attaching` becomes the
            # blocking client's eager `attach`).
            head = f"    def {self.name}({params}) -> AsyncAttachedStream:"
            body = f"        return attaching({executor}, {call})"
        else:
            head = f"    def {self.name}({params}) -> AsyncRawStream:"
            body = f"        return AsyncRawStream({executor}, {call}{deadline})"
        return f'{head}\n        """{doc}"""\n{body}\n'


def _with_keyword(args: ast.arguments, name: str, annotation: str) -> ast.arguments:
    """`args` plus the keyword-only ``name: annotation = None``."""
    parsed = ast.parse(annotation, mode="eval").body
    return ast.arguments(
        posonlyargs=args.posonlyargs,
        args=args.args,
        vararg=args.vararg,
        kwonlyargs=[*args.kwonlyargs, ast.arg(arg=name, annotation=parsed)],
        kw_defaults=[*args.kw_defaults, ast.Constant(value=None)],
        kwarg=args.kwarg,
        defaults=args.defaults,
    )


def _with_extra_query(args: ast.arguments) -> ast.arguments:
    """`args` plus the keyword ``extra_query: Mapping[str, QueryValue] | None = None``."""
    annotation = ast.parse("Mapping[str, QueryValue] | None", mode="eval").body
    return ast.arguments(
        posonlyargs=args.posonlyargs,
        args=args.args,
        vararg=args.vararg,
        kwonlyargs=[*args.kwonlyargs, ast.arg(arg="extra_query", annotation=annotation)],
        kw_defaults=[*args.kw_defaults, ast.Constant(value=None)],
        kwarg=args.kwarg,
        defaults=args.defaults,
    )


def _module_methods(module: str) -> tuple[list[_Method], dict[str, str]]:
    """The public call builders of `engineapi.api.<module>`, and where its names come from."""
    path = API / f"{module}.py"
    if not path.exists():
        return [], {}
    tree = ast.parse(path.read_text())
    exported: list[str] | None = None
    origins: dict[str, str] = {}
    functions: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports name types too
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    for alias in inner.names:
                        origins[alias.asname or alias.name] = inner.module
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                origins[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.ClassDef):
            origins[node.name] = f"engineapi.api.{module}"
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            functions[node.name] = node
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = list(ast.literal_eval(node.value))
        elif isinstance(node, ast.Assign):  # a module-level type alias used in signatures
            for target in node.targets:
                if isinstance(target, ast.Name):
                    origins[target.id] = f"engineapi.api.{module}"
    names = exported if exported is not None else list(functions)
    return [_Method(module, functions[n]) for n in names if n in functions], origins


_BUILTIN_NAMES = {"None", "True", "False", "builtins", "str", "int", "float", "bool", "bytes", "os"}


def render() -> str:
    classes: list[str] = []
    imports: dict[str, set[str]] = {}
    modules: list[str] = []
    constants: list[str] = []
    for namespace, what in NAMESPACES.items():
        methods, origins = _module_methods(namespace)
        constants += [
            f"{m.constant_name()} = functools.cache(_{m.module}.{m.name})"
            for m in methods
            if m.constant()
        ]
        if methods:
            modules.append(namespace)
        lines = [
            f"class {_class_name(namespace)}:",
            f'    """{what} — ``client.{namespace}``."""',
            "",
            '    __slots__ = ("_executor",)',
            "",
            "    def __init__(self, executor: AsyncExecutor) -> None:",
            "        self._executor = executor",
        ]
        for method in methods:
            lines.append("")
            lines.append(method.render())
            if method.kind not in _MULTI_STEP:
                imports.setdefault("collections.abc", set()).add("Mapping")
                imports.setdefault("engineapi.api._call", set()).add("QueryValue")
            for name in method.names() - _BUILTIN_NAMES:
                origin = origins.get(name)
                if origin is None:
                    raise SystemExit(f"api.{namespace}.{method.name}: where is {name!r} from?")
                imports.setdefault(origin, set()).add(name)
        classes.append("\n".join(lines).rstrip() + "\n")
    attach = [
        "class AsyncNamespaces:",
        '    """The resource namespaces of a client, one attribute per API tag."""',
        "",
    ]
    for namespace in NAMESPACES:
        attach.append(f"    {namespace}: {_class_name(namespace)}")
    attach += [
        "",
        "    def __init__(self) -> None:",
        "        # The client that inherits this implements the executor.",
        '        executor = cast("AsyncExecutor", self)',
    ]
    for namespace in NAMESPACES:
        attach.append(f"        self.{namespace} = {_class_name(namespace)}(executor)")
    typing_imports = "\n".join(
        f"    from {origin} import {', '.join(sorted(names))}"
        for origin, names in sorted(imports.items())
    )
    module_imports = "\n".join(f"from engineapi.api import {m} as _{m}" for m in modules)
    header = f'''# GENERATED by `python -m engineapi._codegen.namespaces` from engineapi/api/*.py.
# Do not edit: change the call builders in engineapi/api/ and regenerate (make gen).
"""The operations of a client, grouped by API tag; each executes one `engineapi.api` call."""

from __future__ import annotations

import builtins
import functools
from typing import TYPE_CHECKING, cast

from engineapi._async.streams import (
    AsyncAttachedStream,
    AsyncExecStream,
    AsyncItemStream,
    AsyncOutputStream,
    AsyncProgressStream,
    AsyncRawStream,
    AsyncRunStream,
    AsyncWebSocketAttach,
    attaching,
    extract,
    websocket,
)
from engineapi._async.executor import timed
from engineapi._timeouts import Timeouts
from engineapi.api._call import flow_with_extra_query, with_extra_query
{module_imports}

if TYPE_CHECKING:
    import os

    from engineapi._async.executor import AsyncExecutor
{typing_imports}

__all__ = [{", ".join(repr(_class_name(n)) for n in NAMESPACES)}, "AsyncNamespaces"]
'''
    cached = (
        "#: The calls of the operations that take no argument: each is one value, built on first\n"
        "#: use (a call is never changed once built, see `engineapi.api._call.Call`).\n"
        + "\n".join(constants)
    )
    text = (
        header + "\n\n" + cached + "\n\n" + "\n\n".join(classes) + "\n\n" + "\n".join(attach) + "\n"
    )
    return ruff_format(text, TARGET)


def generate() -> str:
    return render()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    current = TARGET.read_text() if TARGET.exists() else ""
    if "--check" in args:
        if current != text:
            print(f"{TARGET.relative_to(PACKAGE.parent)} is stale; run make gen")
            return 1
        return 0
    if current != text:
        TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
