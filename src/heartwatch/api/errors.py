"""One error shape for every 4xx: {"detail": "<what is wrong>"} (plus `errors` for
validation failures), so a client always finds the reason in the same place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
    summary = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in listed)
    return {"detail": summary or "invalid request", "errors": listed}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        refused = await refusal_before_validation(request)
        if refused is not None:
            return refused
        return JSONResponse(validation_error_content(exc.errors()), 422)

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
        # Only the services' key constraint means a taken key (PostgreSQL names it
        # uq_services_key, SQLite services.key); another unique index (one open
        # incident per service) is a conflict of another kind.
        message = str(exc.orig).lower()
        if "uq_services_key" in message or "services.key" in message:
            return JSONResponse(
                {"detail": "a service with that key already exists (created concurrently)"}, 409
            )
        return JSONResponse({"detail": "the change conflicts with a concurrent one; retry"}, 409)

    @app.exception_handler(Invalid)
    @app.exception_handler(InvalidKey)
    async def _invalid(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 422)
