"""OpenAPI 3 document generated from the route table: apispec lays out the document and its marshmallow plugin
turns the route table's schemas into JSON Schema, so the route table stays the single source."""
from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from edge.http.responses import status_for
from edge.http.routing import Route
from edge.http.schemas import ErrorSchema, JobAcceptedSchema, JobSchema

MEDIA = {"json": "application/json", "json|form": "application/json", "section": "application/json",
         "csv": "text/csv", "multipart": "multipart/form-data"}
ERROR = {"$ref": "#/components/schemas/ErrorSchema"}


def schema_name(schema: type[Schema] | Schema) -> str:
    """Components are named after their class (`RegistrationSchema`), as clients of the document know them."""
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__


def _ref(schema: type[Schema]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema_name(schema)}"}


def _parameters(route: Route) -> list[dict[str, Any]]:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in re.findall(r"<(?:\w+:)?(\w+)>", route.path)]
    params += [{"name": q, "in": "query", "required": q == "sig", "schema": {"type": "string"}} for q in route.query]
    params += [{"name": h, "in": "header", "required": h == "If-Match", "schema": {"type": "string"}}
               for h in route.headers]
    if route.job:
        params.append({"name": "Prefer", "in": "header", "required": False,
                       "schema": {"type": "string", "example": "wait=30"}})
    return params


def _request_body(route: Route, spec: APISpec) -> dict[str, Any]:
    if route.schema is not None:
        _component(spec, route.schema)
        body_schema: dict[str, Any] = _ref(route.schema)
    elif route.body == "section":
        body_schema = {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
    else:
        body_schema = {"type": "string"}
    content = {MEDIA[route.body]: {"schema": body_schema}}
    if route.body == "json|form":
        content["application/x-www-form-urlencoded"] = {"schema": body_schema}
    return {"required": route.body != "optional", "content": content}


def _responses(route: Route, spec: APISpec) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if route.response is not None:
        _component(spec, route.response)
        ok["content"] = {route.produces: {"schema": _ref(route.response)}}
    else:
        ok["content"] = {route.produces: {"schema": {"type": "object"} if "json" in route.produces
                                          else {"type": "string", "format": "binary"}}}
    responses: dict[str, Any] = {str(route.status): ok}
    if route.job and route.result_keys:  # 200 is the job's result itself; 202 while the job goes on
        _component(spec, JobAcceptedSchema)
        ok["description"] = (f"the job ended within {route.wait:g} s (or `Prefer: wait=N`, N <= 60): its result")
        responses["202"] = {"description": "the job goes on: follow `status_url` (also in Location)",
                            "content": {"application/json": {"schema": _ref(JobAcceptedSchema)}}}
    elif route.job:
        _component(spec, JobSchema)
        responses["200"] = {"description": "the job ended within `Prefer: wait=N` seconds (N <= 60)",
                            "content": {"application/json": {"schema": _ref(JobSchema)}}}
    for code in route.documented_errors:
        entry = responses.setdefault(str(status_for(code)), {"description": "", "content": {
            "application/json": {"schema": ERROR}}})
        entry["description"] = (entry["description"] + ", " if entry["description"] else "") + code
    return responses


def _operation(route: Route, spec: APISpec) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": route.summary or (route.handler.__doc__ or "").strip(),
                          "operationId": route.handler.__name__}
    params = _parameters(route)
    if params:
        op["parameters"] = params
    if route.body:
        op["requestBody"] = _request_body(route, spec)
    op["responses"] = _responses(route, spec)
    if route.roles:
        op["security"] = [{"bearer": []}]
        op["x-roles"] = list(route.roles)
    return op


def _component(spec: APISpec, schema: type[Schema]) -> None:
    """Register a schema once (nested schemas are registered by the plugin under their class name)."""
    if schema_name(schema) not in spec.components.schemas:
        spec.components.schema(schema_name(schema), schema=schema)


def to_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def document(routes: list[Route]) -> dict[str, Any]:
    """The whole OpenAPI 3.0 document."""
    spec = APISpec(title="PUPNS public edge", version="1.0.0", openapi_version="3.0.3",
                   info={"description": "Pendataan Ulang PNS secara Elektronik: HTTP API (SPEC §4)."},
                   plugins=[MarshmallowPlugin(schema_name_resolver=schema_name)])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    _component(spec, ErrorSchema)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:  # one path may carry several methods: collect them before apispec sees the path
        paths.setdefault(to_path(route.path), {})[route.method.lower()] = _operation(route, spec)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
