"""OpenAPI 3 document generated from the route table and its marshmallow schemas."""
from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate

from edge.http.responses import status_for
from edge.http.routing import Route
from edge.http.schemas import ErrorSchema, JobSchema

SIMPLE = [
    (fields.Email, {"type": "string", "format": "email"}),
    (fields.AwareDateTime, {"type": "string", "format": "date-time"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.String, {"type": "string"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Float, {"type": "number"}),
    (fields.Boolean, {"type": "boolean"}),
]
MEDIA = {"json": "application/json", "json|form": "application/json", "section": "application/json",
         "csv": "text/csv", "multipart": "multipart/form-data"}


def field_schema(field: fields.Field) -> dict[str, Any]:
    """JSON Schema of one marshmallow field."""
    if isinstance(field, fields.Nested):
        return {"$ref": f"#/components/schemas/{type(field.schema).__name__}"}
    if isinstance(field, fields.List):
        return {"type": "array", "items": field_schema(field.inner)}
    if isinstance(field, fields.Dict):
        values = field.value_field
        return {"type": "object", "additionalProperties": field_schema(values) if values else {}}
    out: dict[str, Any] = next((dict(js) for cls, js in SIMPLE if isinstance(field, cls)), {})
    if field.metadata.get("format") == "binary":
        out = {"type": "string", "format": "binary"}
    for rule in field.validators:
        if isinstance(rule, validate.OneOf):
            out["enum"] = list(rule.choices)
        elif isinstance(rule, validate.Length):
            if rule.min is not None:
                out["minLength"] = rule.min
            if rule.max is not None:
                out["maxLength"] = rule.max
    return out


def schema_object(schema: Schema) -> dict[str, Any]:
    """JSON Schema of a marshmallow schema (unknown fields rejected → additionalProperties false)."""
    props = {f.data_key or name: field_schema(f) for name, f in schema.fields.items()}
    required = [f.data_key or name for name, f in schema.fields.items() if f.required]
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": route.summary or (route.handler.__doc__ or "").strip(),
                          "operationId": route.handler.__name__}
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in re.findall(r"<(?:\w+:)?(\w+)>", route.path)]
    params += [{"name": q, "in": "query", "required": q == "sig", "schema": {"type": "string"}} for q in route.query]
    params += [{"name": h, "in": "header", "required": h == "If-Match", "schema": {"type": "string"}}
               for h in route.headers]
    if params:
        op["parameters"] = params
    if route.body:
        media = MEDIA[route.body]
        if route.schema is not None:
            components[route.schema.__name__] = schema_object(route.schema())
            body_schema: dict[str, Any] = {"$ref": f"#/components/schemas/{route.schema.__name__}"}
        elif route.body == "section":
            body_schema = {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
        else:
            body_schema = {"type": "string"}
        content = {media: {"schema": body_schema}}
        if route.body == "json|form":
            content["application/x-www-form-urlencoded"] = {"schema": body_schema}
        op["requestBody"] = {"required": route.body != "optional", "content": content}
    ok: dict[str, Any] = {"description": "OK"}
    if route.response is not None:
        components[route.response.__name__] = schema_object(route.response())
        ok["content"] = {route.produces: {"schema": {"$ref": f"#/components/schemas/{route.response.__name__}"}}}
    else:
        ok["content"] = {route.produces: {"schema": {"type": "object"} if "json" in route.produces
                                          else {"type": "string", "format": "binary"}}}
    responses: dict[str, Any] = {str(route.status): ok}
    if route.job:
        components["JobSchema"] = schema_object(JobSchema())
        responses["200"] = {"description": "the job ended within `Prefer: wait=N` seconds (N <= 60)",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobSchema"}}}}
        op.setdefault("parameters", []).append({"name": "Prefer", "in": "header", "required": False,
                                                "schema": {"type": "string", "example": "wait=30"}})
    for code in route.errors:
        entry = responses.setdefault(str(status_for(code)), {"description": "", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorSchema"}}}})
        entry["description"] = (entry["description"] + ", " if entry["description"] else "") + code
    op["responses"] = responses
    if route.roles:
        op["security"] = [{"bearer": []}]
        op["x-roles"] = list(route.roles)
    return op


def to_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def document(routes: list[Route]) -> dict[str, Any]:
    """The whole OpenAPI 3.0 document."""
    components: dict[str, Any] = {"ErrorSchema": schema_object(ErrorSchema())}
    components["ErrorBodySchema"] = {**schema_object(ErrorSchema().fields["error"].schema),
                                     "required": ["code", "message"]}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(to_path(route.path), {})[route.method.lower()] = _operation(route, components)
    return {"openapi": "3.0.3",
            "info": {"title": "PUPNS public edge", "version": "1.0.0",
                     "description": "Pendataan Ulang PNS secara Elektronik: HTTP API (SPEC §4)."},
            "paths": paths,
            "components": {"schemas": components,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}}
