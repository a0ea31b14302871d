"""Drop-in Uptime Kuma push URLs: `/api/push/<token>?status=up|down&msg=...&ping=...`.

The token is the service's id, or the service's own `push_token` (a monitor moved from
Kuma keeps its URL). Like Kuma, any status other than `up` is a failure, `ping`
is the sender's own latency in milliseconds (an empty or unparsable one is ignored),
and the answer is `{"ok": true}`. While the server requires its ping key
(HEARTWATCH_REQUIRE_PING_KEY), a push without it is a 401.
"""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.pings import refuse_without_ping_key
from heartwatch.api.problems import problems
from heartwatch.api.routes.heartbeats import record_ping
from heartwatch.api.routes.ping_route import ping_route
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.push_tokens import InvalidPushToken, check_push_token
from heartwatch.runtime import Runtime
from heartwatch.services import registry
from heartwatch.services.heartbeats import UnknownService

router = APIRouter(tags=["compatibility: Uptime Kuma"])

_NOT_FOUND = {"ok": False, "msg": "Monitor not found or not active."}
_KUMA_ANSWER = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "msg": {"type": "string"}},
    "required": ["ok"],
}
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "recorded",
        "content": {"application/json": {"schema": _KUMA_ANSWER, "example": {"ok": True}}},
    },
    404: {
        "description": "no service has that token",
        "content": {"application/json": {"schema": _KUMA_ANSWER, "example": _NOT_FOUND}},
    },
    **problems(s401="the ping key is missing or wrong (while the server requires it)"),
}


def _latency(ping: str | None) -> float | None:
    try:
        value = float(ping) if ping else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


async def _service_id(runtime: Runtime, token: str) -> uuid.UUID | None:
    """A UUID is the service's id; anything else may be a service's own push token."""
    try:
        return uuid.UUID(token)
    except ValueError:
        pass
    try:
        check_push_token(token)
    except InvalidPushToken:
        return None
    async with runtime.db.reading() as session:
        return await registry.service_id_by_push_token(session, token)


@ping_route(router, "/api/push/{token}", responses=ANSWERS, summary="Uptime Kuma push")
async def kuma_push(
    request: Request,
    runtime: RuntimeDep,
    token: Annotated[str, Path(description="the service's UUID")],
    status: Annotated[str, Query(description="`up`; anything else is a failure")] = "up",
    msg: Annotated[str, Query(description="a message, kept with the heartbeat")] = "OK",
    ping: Annotated[str | None, Query(description="the sender's latency, in ms")] = None,
) -> Response:
    """An Uptime Kuma push: `curl 'http://localhost:8765/api/push/<uuid>?status=up&ping=42'`.
    Answers `{"ok": true}`, or 404 `{"ok": false, "msg": ...}` as Kuma does."""
    refused = refuse_without_ping_key(runtime.settings, request.scope)
    if refused is not None:
        return refused.response()
    service_id = await _service_id(runtime, token)
    if service_id is None:
        return JSONResponse(_NOT_FOUND, 404)
    outcome = await record_ping(
        request,
        runtime,
        Signal.SUCCESS if status == "up" else Signal.FAIL,
        service_id=service_id,
        latency_ms=_latency(ping),
        message=msg[:1000],
    )
    if isinstance(outcome, UnknownService):
        return JSONResponse(_NOT_FOUND, 404)
    return JSONResponse({"ok": True})
