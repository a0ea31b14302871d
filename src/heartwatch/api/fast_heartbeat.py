"""The heartbeat hot path, straight on ASGI.

Heartbeats are most of heartwatch's traffic, and FastAPI's routing, dependency injection
and validation cost as much CPU as the database write itself (bench/ingest.py). So a
well-formed `/heartbeat/{key}[/start|/fail]` or `/heartbeat?service_key=` ping is answered
here, with the same stamping, body handling, ingest and JSON answer as the FastAPI route.
Anything this does not fully understand — an odd key, a bad period, an unknown query
parameter, a required ping key — goes on to the FastAPI routes, which stay the one place
that validates and explains errors (and that OpenAPI documents).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heartwatch.api.routes.heartbeats import make_ping, not_registered
from heartwatch.api.schemas import MAX_PERIOD_S
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.keys import KEY_PATTERN
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import PingOutcome, UnknownService

_PATH = re.compile(r"^/heartbeat(?:/(?P<key>[^/]+)(?:/(?P<signal>start|fail))?)?$")
_KEY = re.compile(KEY_PATTERN)
_SIGNALS = {None: Signal.SUCCESS, "start": Signal.START, "fail": Signal.FAIL}
_QUERY_NAMES = {"service_key", "period", "rid"}
_JSON = [(b"content-type", b"application/json")]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")  # as pydantic writes UTC times


def _parse(scope: Scope) -> tuple[str, Signal, float | None, str | None] | None:
    """(key, signal, period, rid) of a well-formed ping, else None."""
    match = _PATH.match(scope["path"])
    if match is None:
        return None
    raw_query = scope["query_string"]
    params: dict[str, str] = {}
    if raw_query:
        query = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)
        params = dict(query)
        if len(params) != len(query) or not params.keys() <= _QUERY_NAMES:
            return None
    key = match["key"]
    if key is None:
        if match["signal"] is not None or "service_key" not in params:
            return None
        key = params["service_key"]
    elif "service_key" in params:
        return None
    if not _KEY.fullmatch(key) or not key.strip("."):
        return None
    period = None
    if "period" in params:
        try:
            period = float(params["period"])
        except ValueError:
            return None
        if not (math.isfinite(period) and 0 < period <= MAX_PERIOD_S):
            return None
    rid = params.get("rid")
    if rid is not None and len(rid) > 64:
        return None
    return key, _SIGNALS[match["signal"]], period, rid


class FastHeartbeat:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parsed = None
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "POST")
            and not self.runtime.settings.require_ping_key
        ):
            parsed = _parse(scope)
        if parsed is None:
            await self.app(scope, receive, send)
            return
        key, signal, period, rid = parsed
        body = await _read_body(receive)
        if self.runtime.settings.debug_mode:
            await self.runtime.sync_clock()
        client = scope.get("client")
        ping = make_ping(
            self.runtime,
            signal,
            body,
            client[0] if client else None,
            key=key,
            period=period,
            run_id=rid,
        )
        outcome = await self.runtime.heartbeats.record(ping)
        if isinstance(outcome, UnknownService):
            await _answer(send, 404, {"detail": not_registered(key)})
            return
        await _send(send, 200, ack_body(outcome))


def ack_body(outcome: PingOutcome) -> bytes:
    """The JSON of a `PingAck` (as the FastAPI route answers it: keys in this order, no
    spaces), written directly: it is every heartbeat's answer."""
    duration = outcome.duration_ms
    return (
        _ACK
        % (
            outcome.service_id,
            _encode(outcome.key),
            _encode(str(outcome.status)),
            _iso(outcome.received_at),
            "true" if outcome.registered else "false",
            "null" if duration is None else _encode(duration),
        )
    ).encode()


_ACK = (
    '{"ok":true,"service_id":"%s","service_key":%s,"status":%s,"received_at":"%s",'
    '"registered":%s,"duration_ms":%s}'
)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


# One encoder for every answer (json.dumps with options builds a new one per call).
_encode = json.JSONEncoder(separators=(",", ":")).encode


async def _answer(send: Send, status: int, payload: dict[str, object]) -> None:
    await _send(send, status, _encode(payload).encode())


async def _send(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
