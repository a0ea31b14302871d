"""Drop-in Healthchecks ping URLs, so existing cron lines and clients work unchanged.

    /ping/<uuid>[/start|/fail|/log|/<exit status>]
    /ping/<ping key>/<slug>[/start|/fail|/log|/<exit status>][?create=1]

`<uuid>` is the service's id; `<slug>` its key; the ping key is HEARTWATCH_PING_KEY.
GET, HEAD and POST all work; answers are Healthchecks' own: `OK`, or 404 `not found`.
A missing or wrong ping key (the `<uuid>` URLs need one only while the server requires
it: HEARTWATCH_REQUIRE_PING_KEY) is a 401, and a registry full for `?create=1`
(HEARTWATCH_MAX_SERVICES) a 409, each with a JSON `detail` saying what to do.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.pings import (
    PING_KEY_WRONG,
    PING_KEYS_DISABLED,
    check_ping_key,
    refuse_without_ping_key,
    services_full,
)
from heartwatch.api.problems import problems
from heartwatch.api.routes.heartbeats import record_ping
from heartwatch.api.routes.ping_route import ping_route
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.keys import InvalidKey, check_key
from heartwatch.domain.ping import RUN_ID_MAX_LENGTH
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import ServicesFull, UnknownService

router = APIRouter(tags=["compatibility: Healthchecks"])
# Healthchecks' own answers are plain text; the refusals it does not have are JSON.
BY_ID: dict[int | str, dict[str, Any]] = {
    200: {"description": "recorded", "content": {"text/plain": {"example": "OK"}}},
    404: {
        "description": "no such service (or signal), or ping keys are not enabled",
        "content": {
            "text/plain": {"schema": {"type": "string"}, "example": "not found"},
            # ping keys not enabled: said in JSON, as the other refusals
            "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}},
        },
    },
    **problems(s401="the ping key is missing or wrong"),
}
BY_SLUG = {**BY_ID, **problems(s409="`?create=1` past HEARTWATCH_MAX_SERVICES")}

METHODS = ("GET", "HEAD", "POST")
_SUFFIXES = {"start": Signal.START, "fail": Signal.FAIL, "log": Signal.LOG}
Create = Annotated[int, Query(ge=0, le=1, description="1: register an unknown slug")]
RunId = Annotated[
    str | None,
    Query(max_length=RUN_ID_MAX_LENGTH, description="pairs a start with its end (`rid`)"),
]


def _ok() -> PlainTextResponse:
    return PlainTextResponse("OK")


def _not_found() -> PlainTextResponse:
    return PlainTextResponse("not found", status_code=404)


def _signal(suffix: str) -> Signal | None:
    """`start`, `fail`, `log`, or an exit status: 0 is success, 1-255 failure."""
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    # ASCII digits only: str.isdigit() also takes "¹" (which int() refuses) and other
    # scripts' digits ("٣", which int() reads as 3).
    if suffix.isascii() and suffix.isdigit() and int(suffix) <= 255:
        return Signal.SUCCESS if int(suffix) == 0 else Signal.FAIL
    return None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def _record(request: Request, runtime: Runtime, signal: Signal, **target: Any) -> Response:
    outcome = await record_ping(request, runtime, signal, **target)
    if isinstance(outcome, ServicesFull):
        return services_full(outcome.ident, outcome.cap).response()
    return _not_found() if isinstance(outcome, UnknownService) else _ok()


async def _by_id(
    request: Request, runtime: Runtime, service_id: uuid.UUID, signal: Signal, rid: str | None
) -> Response:
    refused = refuse_without_ping_key(runtime.settings, request.scope)
    if refused is not None:
        return refused.response()
    return await _record(request, runtime, signal, service_id=service_id, run_id=rid)


async def _by_slug(
    request: Request,
    runtime: Runtime,
    ping_key: str,
    slug: str,
    suffix: str,
    create: int,
    rid: str | None,
) -> Response:
    """The ping key is in the path: it must be right, required or not. (A service's id
    there, with a signal this does not know, is a ping to no such signal: not found.)"""
    if check_ping_key(runtime.settings, ping_key) is not True:
        if _uuid(ping_key) is not None:
            return _not_found()
        if runtime.settings.ping_key is None:
            return PING_KEYS_DISABLED.response()
        return PING_KEY_WRONG.response()
    signal = _signal(suffix) if suffix else Signal.SUCCESS
    if signal is None:
        return _not_found()
    try:
        check_key(slug)
    except InvalidKey:
        return _not_found()
    return await _record(request, runtime, signal, key=slug, run_id=rid, create=bool(create))


@ping_route(
    router,
    "/ping/{service_id}",
    METHODS,
    response_class=PlainTextResponse,
    responses=BY_ID,
    summary="Healthchecks ping by UUID",
)
async def hc_ping(
    request: Request, runtime: RuntimeDep, service_id: str, rid: RunId = None
) -> Response:
    """Success, by the service's UUID: `curl -fsS -m 10 http://localhost:8765/ping/<uuid>`.
    Answers `OK`, or 404 `not found`."""
    sid = _uuid(service_id)
    if sid is None:
        return _not_found()
    return await _by_id(request, runtime, sid, Signal.SUCCESS, rid)


@ping_route(
    router,
    "/ping/{id_or_ping_key}/{signal_or_slug}",
    METHODS,
    response_class=PlainTextResponse,
    responses=BY_SLUG,
    summary="Healthchecks signal by UUID, or ping by slug",
)
async def hc_ping_signal_or_slug(
    request: Request,
    runtime: RuntimeDep,
    id_or_ping_key: Annotated[str, Path(description="a service's UUID, or the ping key")],
    signal_or_slug: Annotated[
        str,
        Path(
            description="after a UUID: start, fail, log or an exit status (0: success); "
            "after the ping key: the service's key (a success)"
        ),
    ],
    rid: RunId = None,
    create: Create = 0,
) -> Response:
    """`/ping/<uuid>/<signal>` (a signal of the service with that UUID) or
    `/ping/<ping key>/<slug>` (a success of the service with that key)."""
    sid = _uuid(id_or_ping_key)
    signal = _signal(signal_or_slug)
    if sid is not None and signal is not None:
        return await _by_id(request, runtime, sid, signal, rid)
    return await _by_slug(request, runtime, id_or_ping_key, signal_or_slug, "", create, rid)


@ping_route(
    router,
    "/ping/{ping_key}/{slug}/{signal}",
    METHODS,
    response_class=PlainTextResponse,
    responses=BY_SLUG,
    summary="Healthchecks signal by slug",
)
async def hc_ping_slug_signal(
    request: Request,
    runtime: RuntimeDep,
    ping_key: Annotated[str, Path(description="the server's ping key (HEARTWATCH_PING_KEY)")],
    slug: Annotated[str, Path(description="the service's key")],
    signal: Annotated[str, Path(description="start, fail, log, or an exit status (0: success)")],
    rid: RunId = None,
    create: Create = 0,
) -> Response:
    """A signal of the service with that key:
    `/ping/<ping key>/<slug>/start`, `/fail`, `/log` or `/<exit status>`."""
    return await _by_slug(request, runtime, ping_key, slug, signal, create, rid)
