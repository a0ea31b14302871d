"""The error answers in the OpenAPI document, as the API gives them.

FastAPI documents a 422 as its own `HTTPValidationError` (`detail`: a list); heartwatch
answers every 4xx as `{"detail": "<what is wrong>"}` (api/errors.py), a 422 with the
list in `errors` as well. And the answers that any route of a kind may give (a 404 for
a path naming nothing, a 400 for a body that is not JSON, a 422 for text holding a NUL)
are declared on none of them. `document_error_answers` fills both in once the document
is built, so that the document says what a client will get
(tests/api/test_schemathesis.py checks every answer against it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.constants import REF_PREFIX

_METHODS = ("get", "put", "post", "delete", "patch", "head")
_PROBLEM = {"$ref": f"{REF_PREFIX}Problem"}
_PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}
_VALIDATION_SCHEMA = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "title": "Detail", "description": "every fault, in words"},
        "errors": {
            "type": "array",
            "items": {"$ref": f"{REF_PREFIX}ValidationError"},
            "title": "Errors",
        },
    },
    "required": ["detail"],
}
_PING_NOT_FOUND = {
    "description": "no such service (or ping keys are not enabled)",
    "content": {
        "text/plain": {"schema": {"type": "string"}},
        "application/json": {"schema": _PROBLEM},
    },
}
_KUMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "msg": {"type": "string"}},
    "required": ["ok", "msg"],
}
# Query parameters that name a service or a channel (a filter naming nothing is a 404).
_NAMING = {"channel", "service_key"}
# Operations that change a service's key, or create something named uniquely.
_CONFLICTS = {
    ("post", "/services"),
    ("put", "/services/{id}"),
    ("patch", "/services/{id}"),
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _add(operation: dict[str, Any], status: str, answer: dict[str, Any]) -> None:
    operation.setdefault("responses", {}).setdefault(status, answer)


def _document(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", _PROBLEM_SCHEMA)
    if "HTTPValidationError" in schemas:
        schemas["HTTPValidationError"] = _VALIDATION_SCHEMA
    invalid = _json("Validation Error", {"$ref": f"{REF_PREFIX}HTTPValidationError"})
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            protected = "401" in responses and not path.startswith(("/heartbeat", "/ping"))
            if protected:
                # `refuse_nul` (any path or query text) and two different API keys.
                _add(operation, "422", invalid)
                _add(
                    operation, "400", _json("two different API keys, or a body not JSON", _PROBLEM)
                )
            if "requestBody" in operation:
                _add(operation, "400", _json("a body that cannot be parsed", _PROBLEM))
            if path.startswith("/ping/"):
                # Healthchecks' own answers: `not found` in plain text; a refused ping
                # key or a full registry in JSON.
                _add(operation, "404", _PING_NOT_FOUND)
                _add(operation, "401", _json("the ping key is missing or wrong", _PROBLEM))
                _add(operation, "409", _json("a new service, past the limit", _PROBLEM))
            elif path.startswith("/api/push/"):
                _add(operation, "404", _json("no such monitor (Uptime Kuma's answer)", _KUMA))
            elif "{" in path or _NAMING & {p.get("name") for p in operation.get("parameters", [])}:
                _add(operation, "404", _json("nothing has that id or key", _PROBLEM))
            if (method, path) in _CONFLICTS:
                _add(operation, "409", _json("the key is taken", _PROBLEM))
    return spec


def document_error_answers(app: FastAPI) -> None:
    """Make `app.openapi()` document heartwatch's error answers (built once, cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
