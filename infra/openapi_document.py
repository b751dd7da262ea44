"""The public OpenAPI document, functions/api/openapi.json, generated from the routes and models.

``python -m infra.openapi_document --write`` (part of ``make api``) rewrites the file;
``--check`` fails when it differs from a regeneration (tests/unit/test_openapi_document.py
does the same in ``make test``). Paths, methods, path parameters and which routes are public
come from the Chalice routes (``app.routes``); each route's operation from
``api_operations.OPERATIONS`` (keyed by the view's name); the schemas from the shapes in
``api_models`` (answers) and ``api_inputs`` (requests), rendered by pydantic. pydantic
writes JSON Schema as OpenAPI 3.1 has it; the document stays OpenAPI 3.0.3 (``nullable``),
as it was written by hand, so ``_to_30`` rewrites the few 3.1-only forms.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from typing import Any

from chalice.app import Chalice
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

from infra import generated
from infra.api_definition import API_DIR, load_app

DOCUMENT = API_DIR / "openapi.json"
REF = "#/components/schemas/"
INFO = {
    "title": "mailport API",
    "version": "0.1.0",
    "description": "Bring mail from other providers into your mailbox: POP3 import, "
    "IMAP migration, .eml upload.",
}
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "A Cognito ID token (locally: one from POST /v1/local/login).",
}


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema without titles, with ``oneOf`` for unions (ours are disjoint)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def union_schema(self, schema: core_schema.UnionSchema) -> JsonSchemaValue:
        rendered = super().union_schema(schema)
        if "anyOf" in rendered:
            rendered["oneOf"] = rendered.pop("anyOf")
        return rendered


def _to_30(node: Any) -> Any:
    """JSON Schema 2020-12 (pydantic's) to OpenAPI 3.0's dialect, and titles dropped."""
    if isinstance(node, list):
        return [_to_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_30(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if out.get("default", 0) is None:  # an optional key's "default" is its absence
        del out["default"]
    if out.get("additionalProperties") is True:  # the default: any other key
        del out["additionalProperties"]
    alternatives = out.get("anyOf", [])
    if {"type": "null"} in alternatives:
        [schema] = [a for a in out.pop("anyOf") if a != {"type": "null"}]
        if "$ref" in schema:
            raise ValueError(f"a nullable component cannot be said in 3.0: {schema}")
        out = {**schema, **out, "nullable": True}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _inline(node: Any, defs: Mapping[str, Any], public: set[str]) -> Any:
    """Write every shape not in ``public`` in place of its ``$ref``."""
    if isinstance(node, list):
        return [_inline(item, defs, public) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref", "")
    if ref.startswith(REF) and ref[len(REF) :] not in public:
        merged = {**defs[ref[len(REF) :]], **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, defs, public)
    return {k: _inline(v, defs, public) for k, v in node.items()}


class _Renderer:
    """Collects every shape the operations name, then renders them all at once."""

    def __init__(self) -> None:
        self.inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = []
        self.keys: dict[tuple[int, JsonSchemaMode], int] = {}

    def add(self, shape: object, mode: JsonSchemaMode) -> int:
        key = (id(shape), mode)
        if key not in self.keys:
            self.keys[key] = len(self.inputs)
            self.inputs.append((len(self.inputs), mode, TypeAdapter(shape)))
        return self.keys[key]

    def render(self, public: set[str]) -> tuple[list[Any], dict[str, Any]]:
        refs, top = TypeAdapter.json_schemas(
            self.inputs, ref_template=REF + "{model}", schema_generator=_Schemas
        )
        defs = top.get("$defs", {})
        schemas = [_to_30(_inline(refs[(i, mode)], defs, public)) for i, mode, _ in self.inputs]
        components = {name: _to_30(_inline(defs[name], defs, public)) for name in public}
        return schemas, components


def _content(content: object, renderer: _Renderer, mode: JsonSchemaMode) -> dict[str, Any]:
    by_type = content if isinstance(content, Mapping) else {"application/json": content}
    return {
        media: {} if shape is None else {"schema": renderer.add(shape, mode)}
        for media, shape in by_type.items()
    }


def _answer(answer: Any, renderer: _Renderer) -> dict[str, Any]:
    if isinstance(answer, str):
        return {"$ref": f"#/components/responses/{answer}"}
    out: dict[str, Any] = {"description": answer.description}
    if answer.headers:
        out["headers"] = {
            name: {"schema": renderer.add(shape, "serialization")}
            for name, shape in answer.headers.items()
        }
    if answer.content is not None:
        out["content"] = _content(answer.content, renderer, "serialization")
    if answer.links:
        out["links"] = dict(answer.links)
    return out


def _operation(entry: Any, op: Any, renderer: _Renderer) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.id, "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if entry.authorizer is None:
        out["security"] = []
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in entry.view_args
    ]
    params += [
        {"name": name, "in": "query", "schema": renderer.add(shape, "validation")}
        for name, shape in op.query.items()
    ]
    if params:
        out["parameters"] = params
    if op.body is not None:
        content = _content(op.body, renderer, "validation")
        out["requestBody"] = {"required": True, "content": content}
    out["responses"] = {str(s): _answer(a, renderer) for s, a in op.answers.items()}
    return out


def _fill(node: Any, schemas: list[Any]) -> Any:
    """Put the rendered schemas where ``_Renderer.add`` left their index."""
    if isinstance(node, list):
        return [_fill(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        k: schemas[v] if k == "schema" and isinstance(v, int) else _fill(v, schemas)
        for k, v in node.items()
    }


def document(app: Chalice) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of ``app``'s routes."""
    # Functions/api's modules, importable once load_app has put it on the path.
    api_contract = importlib.import_module("api_contract")
    api_operations = importlib.import_module("api_operations")

    renderer = _Renderer()
    for shape in api_contract.COMPONENTS:
        renderer.add(shape, "serialization")
    operations = dict(api_operations.OPERATIONS)
    paths: dict[str, dict[str, Any]] = {}
    for path, entries in app.routes.items():
        for method, entry in entries.items():
            op = operations.pop(entry.view_name, None)
            if op is None:
                raise ValueError(f"{method} {path}: no operation for {entry.view_name}")
            paths.setdefault(path, {})[method.lower()] = _operation(entry, op, renderer)
    if operations:
        raise ValueError(f"operations without a route: {sorted(operations)}")
    schemas, components = renderer.render({s.__name__ for s in api_contract.COMPONENTS})
    error = {"content": {"application/json": {"schema": {"$ref": REF + "Error"}}}}
    return {
        "openapi": "3.0.3",
        "info": INFO,
        "servers": [{"url": "/"}],
        "security": [{"cognito": []}],
        "components": {
            "securitySchemes": {"cognito": SECURITY_SCHEME},
            "schemas": {s.__name__: components[s.__name__] for s in api_contract.COMPONENTS},
            "responses": {
                name: {"description": text, **error} for name, text in api_contract.ERRORS.items()
            },
        },
        "paths": _fill(paths, schemas),
    }


# The keys in the order the hand-written document had them, so that a change reads as a
# small diff: the document's, an operation's, a parameter's or an answer's, then a schema's.
_ORDER = [
    "title",
    "version",
    "openapi",
    "info",
    "servers",
    "components",
    "operationId",
    "summary",
    "description",
    "security",
    "paths",
    "name",
    "in",
    "required?",
    "parameters",
    "responses",
    "requestBody",
    "schema",
    "headers",
    "content",
    "links",
    "type",
    "format",
    "enum",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "items",
    "additionalProperties",
    "required",
    "properties",
    "minProperties",
    "oneOf",
    "nullable",
    "writeOnly",
    "default",
    "scheme",
    "bearerFormat",
    "description.",
]
_RANK = {key: i for i, key in enumerate(_ORDER)}
# Maps whose keys are names (of properties, statuses, media types, ...): kept as they are.
_NAMES = {"paths", "properties", "schemas", "responses", "content", "links", "headers"}
_NAMES |= {"securitySchemes", "parameters", "requestBody", "info", "components"}


def _rank(node: dict[str, Any], key: str) -> int:
    if key == "required" and isinstance(node[key], bool):
        key = "required?"  # a parameter's or a request body's, not a schema's list
    elif key == "description" and ("type" in node or "oneOf" in node):
        key = "description."  # a schema's comes last
    return _RANK.get(key, len(_RANK))


def _ordered(node: Any, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_ordered(item) for item in node]
    if not isinstance(node, dict):
        return node
    keys = list(node) if names else sorted(node, key=lambda k: _rank(node, k))
    return {k: _ordered(node[k], names=not names and k in _NAMES) for k in keys}


def render(doc: dict[str, Any]) -> str:
    """The file's text: one space a level, as it was written by hand, non-ASCII kept."""
    return json.dumps(_ordered(doc), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``--write`` rewrites openapi.json; ``--check`` says whether it is current."""
    return generated.main(
        lambda _old: render(document(load_app())),
        DOCUMENT,
        argv,
        what="the OpenAPI document",
        fix="make api",
        option="--document",
    )


if __name__ == "__main__":
    sys.exit(main())
