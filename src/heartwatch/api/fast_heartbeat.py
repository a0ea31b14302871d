"""The heartbeat hot path, straight on ASGI.

Heartbeats are most of heartwatch's traffic, and FastAPI's routing, dependency injection
and validation cost as much CPU as the database write itself (bench/ingest.py). So a
`GET`/`POST` to `/heartbeat/{key}[/start|/fail]` or `/heartbeat` is answered here, with
the parser (ping key included), stamping, ingest and answers of api/pings.py that the
FastAPI routes use too. Everything else goes on to the FastAPI app: other paths and
methods (its 404, 405 and redirects).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heartwatch.api.pings import PingRefused, ack_body, make_ping, not_recorded, parse_ping
from heartwatch.domain.heartbeat import Signal
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import UnknownService

# The paths of the routes in api/routes/heartbeats.py, matched as Starlette matches them.
_PATH = re.compile(r"^/heartbeat(?:/(?P<key>[^/]+)(?:/(?P<signal>start|fail))?)?$")
_SIGNALS = {None: Signal.SUCCESS, "start": Signal.START, "fail": Signal.FAIL}
_JSON = [(b"content-type", b"application/json")]


class FastHeartbeat:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] in ("GET", "POST"):
            match = _PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        settings = self.runtime.settings
        parsed = parse_ping(
            _SIGNALS[match["signal"]],
            match["key"],
            scope["query_string"],
            settings,
            scope["headers"],
        )
        if isinstance(parsed, PingRefused):
            await parsed.response()(scope, receive, send)
            return
        body = await _read_body(receive)
        if settings.debug_mode:
            await self.runtime.sync_clock()
        client = scope.get("client")
        ping = make_ping(
            self.runtime,
            parsed.signal,
            body,
            client[0] if client else None,
            key=parsed.key,
            period=parsed.period,
            run_id=parsed.run_id,
            create=None if parsed.may_register else False,
        )
        outcome = await self.runtime.heartbeats.record(ping)
        if isinstance(outcome, UnknownService):
            refusal = not_recorded(settings, outcome, parsed.key, parsed.may_register)
            await refusal.response()(scope, receive, send)
            return
        await _send(send, 200, ack_body(outcome))


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


async def _send(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
