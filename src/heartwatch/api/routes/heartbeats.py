"""Heartbeat ingest: `/heartbeat?service_key=K` and `/heartbeat/{key}`,
with Healthchecks-style `/start` and `/fail` signals. GET and POST both work, so any
cron line, curl or wget call can report in.

These routes read, record and answer a ping with api/pings.py, as the ASGI fast path in
front of them does (api/fast_heartbeat.py), which answers every ping the server is
given; these answer when the app is served without it. The query is parsed there, not
by FastAPI, so its parameters are documented for OpenAPI here, from the same limits.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.openapi.constants import REF_PREFIX

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.pings import PingRefused, ack_body, make_ping, not_recorded, parse_ping
from heartwatch.api.routes.ping_route import ping_route
from heartwatch.api.schemas import PingAck
from heartwatch.client import PING_KEY_HEADER
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.ping import PERIOD_MAX_S, PERIOD_MIN_S, RUN_ID_MAX_LENGTH
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import PingOutcome, UnknownService

router = APIRouter(tags=["heartbeats"])


def _query_parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional query parameter, as FastAPI documents a declared `X | None = None`."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {
            "anyOf": [schema, {"type": "null"}],
            "description": description,
            "title": name.replace("_", " ").title(),
        },
        "description": description,
    }


_SERVICE_KEY = _query_parameter("service_key", {"type": "string"}, "the service's key")
_PERIOD_AND_RUN_ID = [
    _query_parameter(
        "period",
        {
            "type": "number",
            "maximum": PERIOD_MAX_S,
            "minimum": PERIOD_MIN_S,
            "description": "seconds",
        },
        "the period the service promises to report at, in seconds",
    ),
    _query_parameter(
        "rid",
        {"type": "string", "maxLength": RUN_ID_MAX_LENGTH},
        "pairs a start with its end (`rid`)",
    ),
]
_PING_KEY = [
    _query_parameter(
        "ping_key",
        {"type": "string"},
        "the server's ping key (or the X-Ping-Key header): needed to register a new service "
        "when the server has one, and on every ping when it requires it",
    ),
    {
        "name": PING_KEY_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "the server's ping key (or ?ping_key=)",
    },
]
_INVALID = {
    "description": "Validation Error",
    "content": {"application/json": {"schema": {"$ref": f"{REF_PREFIX}HTTPValidationError"}}},
}
_REFUSALS = {
    "401": {"description": "the ping key is missing or wrong (where it is needed)"},
    "404": {"description": "no such service, and auto-registration is off"},
    "409": {"description": "a new service, past HEARTWATCH_MAX_SERVICES"},
}
BY_QUERY_DOC = {
    "parameters": [_SERVICE_KEY, *_PERIOD_AND_RUN_ID, *_PING_KEY],
    "responses": {"422": _INVALID, **_REFUSALS},
}
BY_PATH_DOC = {"parameters": [*_PERIOD_AND_RUN_ID, *_PING_KEY], "responses": _REFUSALS}


async def record_ping(
    request: Request, runtime: Runtime, signal: Signal, message: str | None = None, **fields: Any
) -> PingOutcome | UnknownService:
    """Every ping route ends here (the `message` given replaces the request body)."""
    raw = message.encode() if message is not None else await request.body()
    source = request.client.host if request.client else None
    return await runtime.heartbeats.record(make_ping(runtime, signal, raw, source, **fields))


async def _answer(
    request: Request, runtime: Runtime, signal: Signal, path_key: str | None
) -> Response:
    parsed = parse_ping(
        signal, path_key, request.scope["query_string"], runtime.settings, request.scope["headers"]
    )
    if isinstance(parsed, PingRefused):
        return parsed.response()
    outcome = await record_ping(
        request,
        runtime,
        parsed.signal,
        key=parsed.key,
        period=parsed.period,
        run_id=parsed.run_id,
        create=None if parsed.may_register else False,
    )
    if isinstance(outcome, UnknownService):
        return not_recorded(runtime.settings, outcome, parsed.key, parsed.may_register).response()
    return Response(ack_body(outcome), media_type="application/json")


@ping_route(router, "/heartbeat", response_model=PingAck, openapi_extra=BY_QUERY_DOC)
async def heartbeat_by_query(request: Request, runtime: RuntimeDep) -> Response:
    """The query form: `curl -X POST 'http://localhost:8765/heartbeat?service_key=billing'`."""
    return await _answer(request, runtime, Signal.SUCCESS, None)


@ping_route(router, "/heartbeat/{key}", response_model=PingAck, openapi_extra=BY_PATH_DOC)
async def heartbeat(request: Request, runtime: RuntimeDep, key: str) -> Response:
    """The path form: `POST /heartbeat/billing`."""
    return await _answer(request, runtime, Signal.SUCCESS, key)


@ping_route(router, "/heartbeat/{key}/start", response_model=PingAck, openapi_extra=BY_PATH_DOC)
async def heartbeat_start(request: Request, runtime: RuntimeDep, key: str) -> Response:
    """A job is starting. Recorded; the status waits for its success or failure, and the
    run's duration is recorded with the success or failure that follows."""
    return await _answer(request, runtime, Signal.START, key)


@ping_route(router, "/heartbeat/{key}/fail", response_model=PingAck, openapi_extra=BY_PATH_DOC)
async def heartbeat_fail(request: Request, runtime: RuntimeDep, key: str) -> Response:
    """The service reports a failure: it is down at once, until its next success."""
    return await _answer(request, runtime, Signal.FAIL, key)
