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

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.pings import (
    PING_KEY_WRONG,
    PING_KEYS_DISABLED,
    check_ping_key,
    refuse_without_ping_key,
    services_full,
)
from heartwatch.api.routes.heartbeats import record_ping
from heartwatch.api.routes.ping_route import ping_route
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.keys import InvalidKey, check_key
from heartwatch.domain.ping import RUN_ID_MAX_LENGTH
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import ServicesFull, UnknownService

router = APIRouter(tags=["compatibility: Healthchecks"])

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


@ping_route(router, "/ping/{service_id}", METHODS, response_class=PlainTextResponse)
async def hc_ping(
    request: Request, runtime: RuntimeDep, service_id: str, rid: RunId = None
) -> Response:
    sid = _uuid(service_id)
    if sid is None:
        return _not_found()
    return await _by_id(request, runtime, sid, Signal.SUCCESS, rid)


@ping_route(router, "/ping/{first}/{second}", METHODS, response_class=PlainTextResponse)
async def hc_ping_signal_or_slug(
    request: Request,
    runtime: RuntimeDep,
    first: str,
    second: str,
    rid: RunId = None,
    create: Create = 0,
) -> Response:
    """`/ping/<uuid>/<signal>` or `/ping/<ping key>/<slug>`."""
    sid = _uuid(first)
    signal = _signal(second)
    if sid is not None and signal is not None:
        return await _by_id(request, runtime, sid, signal, rid)
    return await _by_slug(request, runtime, first, second, "", create, rid)


@ping_route(router, "/ping/{ping_key}/{slug}/{suffix}", METHODS, response_class=PlainTextResponse)
async def hc_ping_slug_signal(
    request: Request,
    runtime: RuntimeDep,
    ping_key: str,
    slug: str,
    suffix: str,
    rid: RunId = None,
    create: Create = 0,
) -> Response:
    return await _by_slug(request, runtime, ping_key, slug, suffix, create, rid)
