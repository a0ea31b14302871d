"""One error shape for every 4xx: {"detail": "<what is wrong>"} (plus `errors` for
validation failures), so a client always finds the reason in the same place."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import from_json
from sqlalchemy.exc import IntegrityError

from heartwatch.api.auth import refusal_before_validation
from heartwatch.domain.keys import InvalidKey
from heartwatch.services.errors import Conflict, Invalid, NotFound


def _where(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p != "body" or len(loc) == 1]
    return ".".join(parts) or "request"


def validation_error_content(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The 422 body for request validation errors: FastAPI's, and the ping parser's."""
    listed = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]
    summary = "; ".join(
        # (a message about the whole body says so itself)
        e["msg"]
        if e["loc"] == ["body"] and "body" in e["msg"]
        else f"{_where(e['loc'])}: {e['msg']}"
        for e in listed
    )
    return {"detail": summary or "invalid request", "errors": listed}


_AT = re.compile(r"^(?P<what>.*) at line (?P<line>\d+) column (?P<column>\d+)$")


def _json_fault(document: object) -> str:
    """Where and why a body is not JSON, as the JSON parser says it (`line 1, column 25:
    expected ',' or '}'`)."""
    try:
        from_json(document if isinstance(document, str | bytes) else b"")
    except ValueError as exc:
        said = str(exc)
        found = _AT.match(said)
        if found:
            what = found["what"].replace("`", "'")
            return f"line {found['line']}, column {found['column']}: {what}"
        return said.replace("`", "'")
    return "unexpected content"


def _content_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value.split(";", 1)[0].strip().lower() if value else None


def _explained(request: Request, exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's errors, with the body's own faults said plainly: not JSON at all (where,
    and why), not sent as JSON, or not sent."""
    errors = [dict(e) for e in exc.errors()]
    for error in errors:
        kind, loc = error.get("type"), tuple(error.get("loc", ()))
        if kind == "json_invalid":
            error["loc"] = ["body"]
            error["msg"] = f"body is not valid JSON ({_json_fault(exc.body)})"
        elif loc == ("body",) and kind in ("model_attributes_type", "dict_type"):
            sent = _content_type(request)
            if sent != "application/json":
                got = f"content-type: {sent}" if sent else "no content-type"
                error["msg"] = (
                    f"the body must be JSON, sent with content-type: application/json "
                    f"(got {got}; with curl: -H 'content-type: application/json')"
                )
        elif loc == ("body",) and kind == "missing":
            error["msg"] = "a JSON body is required"
        elif kind == "bool_type":
            # (strict: "yes", "on", 1 are refused, not read as true)
            error["msg"] = "Input should be a JSON boolean: true or false"
    return errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        refused = await refusal_before_validation(request)
        if refused is not None:
            return refused
        return JSONResponse(validation_error_content(_explained(request, exc)), 422)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 404)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 409)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # Check-then-write use cases (create, rename) can still lose a race against
        # another process on PostgreSQL; the unique index is the last word.
        message = str(exc.orig).lower()
        if "push_token" in message:
            return JSONResponse(
                {"detail": "that push_token is another service's (taken concurrently)"}, 409
            )
        # Only the services' key constraint means a taken key (PostgreSQL names it
        # uq_services_key, SQLite services.key); another unique index (one open
        # incident per service) is a conflict of another kind.
        if "uq_services_key" in message or "services.key" in message:
            return JSONResponse(
                {"detail": "a service with that key already exists (created concurrently)"}, 409
            )
        return JSONResponse({"detail": "the change conflicts with a concurrent one; retry"}, 409)

    @app.exception_handler(Invalid)
    @app.exception_handler(InvalidKey)
    async def _invalid(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 422)
