"""The operations emitter: ``engineapi/api/_operations.py``, one entry per operationId.

For each operation of the newest spec it records where it lives in the client (namespace and
method name), how it is called (HTTP method, path, parameters, media types), which model
classes carry its body and JSON response, and since which API version it and each of its
parameters exist. Parameters older specs had and the newest dropped are kept, with ``until``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from engineapi._apiversion import MIN_API_VERSION
from engineapi._codegen.emit_models import annotation
from engineapi._codegen.naming import attribute_name, snake_case
from engineapi._codegen.schema import ListT, ModelT, Registry, TypeExpr
from engineapi._codegen.specs import Schema, Spec, first_sentence, is_deprecated

#: The client namespace for each spec tag.
NAMESPACES = {
    "Container": "containers",
    "Image": "images",
    "Network": "networks",
    "Volume": "volumes",
    "Exec": "exec",
    "Swarm": "swarm",
    "Node": "nodes",
    "Service": "services",
    "Task": "tasks",
    "Secret": "secrets",
    "Config": "configs",
    "Plugin": "plugins",
    "System": "system",
    "Distribution": "distribution",
    "Session": "session",
}

#: Method names for operationIds that do not start with their tag (or would read badly).
#: Every other method name is the operationId minus the tag, in snake_case.
METHOD_NAME_OVERRIDES = {
    "BuildPrune": "build_prune",  # tagged Image: images.build_prune
    "ContainerExec": "create",  # tagged Exec: exec.create, next to exec.start
    "ContainerArchive": "get_archive",  # the pair of put_archive
    "PutContainerArchive": "put_archive",
    "GetPluginPrivileges": "privileges",
    "SwarmUnlockkey": "unlock_key",
    "Session": "start",
}


class OperationError(ValueError):
    """An operation the table cannot place (a new tag, a clashing method name, …)."""


def method_name(operation_id: str, tag: str) -> str:
    if operation_id in METHOD_NAME_OVERRIDES:
        return METHOD_NAME_OVERRIDES[operation_id]
    if not operation_id.startswith(tag) or operation_id == tag:
        raise OperationError(f"{operation_id} (tag {tag}) needs an entry in METHOD_NAME_OVERRIDES")
    return snake_case(operation_id[len(tag) :])


@attrs.define
class ParamFacts:
    name: str
    location: str
    schema: Schema
    type: str
    since: str = MIN_API_VERSION
    until: str | None = None
    deprecated: bool = False


@attrs.define
class OperationFacts:
    operation_id: str
    tag: str
    namespace: str
    method_name: str
    http_method: str
    path: str
    summary: str
    since: str
    deprecated: bool
    params: list[ParamFacts]
    request: TypeExpr | None
    response: TypeExpr | None
    success_codes: tuple[int, ...]
    produces: tuple[str, ...]
    consumes: tuple[str, ...]


def _param_type(param: Schema, body: TypeExpr | None) -> str:
    if param["in"] == "body":
        return annotation(body) if body is not None else "binary"
    return str(param.get("type", "string"))


def _model_of(t: TypeExpr | None) -> tuple[str | None, bool]:
    """``(class name, is a list)`` for a body or response type."""
    if isinstance(t, ModelT):
        return t.name, False
    if isinstance(t, ListT) and isinstance(t.item, ModelT):
        return t.item.name, True
    return None, False


def collect_operations(registry: Registry, specs: Sequence[Spec]) -> list[OperationFacts]:
    """Every operation of the newest spec, with version facts from all *specs* (oldest first)."""
    newest = specs[-1]
    first_seen: dict[str, str] = {}
    param_versions: dict[tuple[str, str, str], list[str]] = {}
    old_params: dict[tuple[str, str, str], Schema] = {}
    for spec in specs:
        for _path, _method, operation in spec.operations():
            operation_id = operation["operationId"]
            first_seen.setdefault(operation_id, spec.version)
            for param in operation.get("parameters", ()):
                key = (operation_id, param["in"], param["name"])
                param_versions.setdefault(key, []).append(spec.version)
                old_params[key] = param

    facts = []
    placed: dict[tuple[str, str], str] = {}
    for path, method, operation in newest.operations():
        operation_id = operation["operationId"]
        tag = operation["tags"][0]
        if tag not in NAMESPACES:
            raise OperationError(f"{operation_id}: no namespace for tag {tag!r}")
        namespace, name = NAMESPACES[tag], method_name(operation_id, tag)
        if (namespace, name) in placed:
            raise OperationError(
                f"{operation_id} and {placed[namespace, name]} are both {namespace}.{name}"
            )
        placed[namespace, name] = operation_id
        types = registry.operations[operation_id]

        params = []
        current = {(p["in"], p["name"]) for p in operation.get("parameters", ())}
        for param in operation.get("parameters", ()):
            versions = param_versions[(operation_id, param["in"], param["name"])]
            params.append(
                ParamFacts(
                    name=param["name"],
                    location=param["in"],
                    schema=param,
                    type=_param_type(param, types.body),
                    since=versions[0],
                    deprecated=is_deprecated(param),
                )
            )
        for (op_id, location, name_), versions in param_versions.items():
            if op_id == operation_id and (location, name_) not in current:
                param = old_params[(op_id, location, name_)]
                params.append(
                    ParamFacts(
                        name=name_,
                        location=location,
                        schema=param,
                        type=_param_type(param, None),
                        since=versions[0],
                        until=versions[-1],
                        deprecated=True,
                    )
                )

        codes = tuple(sorted(code for code in types.responses if code < 300))
        response = next((types.responses[c] for c in codes if types.responses[c] is not None), None)
        facts.append(
            OperationFacts(
                operation_id=operation_id,
                tag=tag,
                namespace=namespace,
                method_name=name,
                http_method=method.upper(),
                path=path,
                summary=first_sentence(operation.get("summary") or operation.get("description")),
                since=first_seen[operation_id],
                deprecated=is_deprecated(operation),
                params=params,
                request=types.body,
                response=response,
                success_codes=codes,
                produces=tuple(operation.get("produces") or newest.doc.get("produces") or ()),
                # The spec-wide default only matters when there is a body to send.
                consumes=tuple(
                    operation.get("consumes")
                    or (newest.doc.get("consumes") if types.body_schema is not None else None)
                    or ()
                ),
            )
        )
    return facts


# -- rendering ------------------------------------------------------------------------------


def _literal(value: Any) -> str:
    """A Python literal for a YAML scalar or list (stable across runs)."""
    if isinstance(value, list):  # as a tuple, without a trailing comma ruff would keep
        items = [_literal(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _render_param(param: ParamFacts) -> str:
    """One line: ``_param(name, location, type, <only what differs from the defaults>)``."""
    schema = param.schema
    items = schema.get("items") or {}
    args = [_literal(param.name), _literal(param.location), _literal(param.type)]
    python_name = attribute_name(param.name)
    if python_name != param.name:
        args.append(f"python_name={_literal(python_name)}")
    if param.type == "array":
        args.append(f"item_type={_literal(items.get('type', 'string'))}")
        args.append(f"collection_format={_literal(schema.get('collectionFormat', 'csv'))}")
    if schema.get("required"):
        args.append("required=True")
    if param.since != MIN_API_VERSION:
        args.append(f"since={_literal(param.since)}")
    if param.until:
        args.append(f"until={_literal(param.until)}")
    if param.deprecated:
        args.append("deprecated=True")
    enum = schema.get("enum") or items.get("enum")
    if enum:
        args.append(f"enum={_literal(list(enum))}")
    if "default" in schema:
        args.append(f"default={_literal(schema['default'])}")
    description = first_sentence(schema.get("description"))
    if description:
        args.append(f"description={_literal(description)}")
    return f"_param({', '.join(args)})"


def _render_operation(op: OperationFacts) -> str:
    """``_operation(...)`` over a few lines; method and path come from `ROUTES`."""
    request, request_is_list = _model_of(op.request)
    response, response_is_list = _model_of(op.response)
    head = [
        _literal(op.operation_id),
        _literal(op.tag),
        _literal(f"{op.namespace}.{op.method_name}"),
        _literal(op.summary),
    ]
    if op.since != MIN_API_VERSION:
        head.append(f"since={_literal(op.since)}")
    if op.deprecated:
        head.append("deprecated=True")
    shape = []
    if request is not None:
        shape.append(f"request_model={_literal(request)}")
    if request_is_list:
        shape.append("request_is_list=True")
    if response is not None:
        shape.append(f"response_model={_literal(response)}")
    if response_is_list:
        shape.append("response_is_list=True")
    shape.append(f"success_codes={_literal(list(op.success_codes))}")
    shape.append(f"produces={_literal(list(op.produces))}")
    shape.append(f"consumes={_literal(list(op.consumes))}")
    lines = [f"    _operation({', '.join(head)},\n", f"        {', '.join(shape)},\n"]
    if op.params:
        lines.append("        params=(\n")
        lines.extend(f"            {_render_param(p)},\n" for p in op.params)
        lines.append("        ),\n")
    lines.append("    ),\n")
    return "".join(lines)


def render_routes(facts: Sequence[OperationFacts], oldest: str, newest: str) -> str:
    """``_routes.py``: method and path template of each operation, the one home of both."""
    body = "".join(
        f"    {_literal(op.operation_id)}: ({_literal(op.http_method)}, {_literal(op.path)}),\n"
        for op in facts
    )
    return (
        '"""Method and path template of every Engine API operation, by operationId.\n'
        "\n"
        "Generated by ``python -m engineapi._codegen.models`` from the Engine API specs\n"
        f"v{oldest} to v{newest}. Do not edit. Call builders and the operations table both read\n"
        "these; this module is small so that building a call never loads the whole table.\n"
        '"""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        "from collections.abc import Mapping\n"
        "from types import MappingProxyType\n"
        "\n"
        "# fmt: off\n"
        "ROUTES: Mapping[str, tuple[str, str]] = MappingProxyType({\n"
        f"{body}"
        "})\n"
        "# fmt: on\n"
    )


def render_operations(facts: Sequence[OperationFacts], oldest: str, newest: str) -> str:
    body = "".join(_render_operation(op) for op in facts)
    return (
        '"""Every Engine API operation: where it lives, how it is called, since when.\n'
        "\n"
        "Keyed by operationId. Generated by ``python -m engineapi._codegen.models`` from the\n"
        f"Engine API specs v{oldest} to v{newest}. Do not edit; see ``_optypes.py`` for the classes\n"
        "and for what each argument of ``_operation``/``_param`` means (left out: the default).\n"
        '"""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        "from collections.abc import Mapping\n"
        "\n"
        "from engineapi.api._optypes import Operation, operation_table\n"
        "from engineapi.api._optypes import make_operation as _operation\n"
        "from engineapi.api._optypes import make_param as _param\n"
        "\n"
        "# fmt: off\n"
        "OPERATIONS: Mapping[str, Operation] = operation_table(\n"
        f"{body}"
        ")\n"
        "# fmt: on\n"
    )
