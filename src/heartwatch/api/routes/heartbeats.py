"""Heartbeat ingest (seeds 000/001): `/heartbeat?service_key=K` and `/heartbeat/{key}`,
with Healthchecks-style `/start` and `/fail` signals. GET and POST both work, so any
cron line, curl or wget call can report in."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.routes.ping_route import ping_route
from heartwatch.api.schemas import Period, PingAck
from heartwatch.client import PING_KEY_HEADER
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.keys import check_key
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import Ping, PingOutcome, UnknownService

router = APIRouter(tags=["heartbeats"])

PeriodQuery = Annotated[
    Period | None,
    Query(description="the period the service promises to report at, in seconds"),
]
RunId = Annotated[
    str | None, Query(max_length=64, description="pairs a start with its end (`rid`)")
]


def make_ping(
    runtime: Runtime, signal: Signal, raw_body: bytes, source: str | None, **fields: Any
) -> Ping:
    """Stamp a ping and keep its body. Longer bodies are cut, not refused: a cron job's
    log tail must never cost its ping."""
    limit = runtime.settings.max_heartbeat_body_bytes
    body = raw_body[:limit].decode("utf-8", errors="ignore") if raw_body else None
    return Ping(
        signal=signal, received_at=runtime.clock.now(), body=body or None, source=source, **fields
    )


async def record_ping(
    request: Request, runtime: Runtime, signal: Signal, message: str | None = None, **fields: Any
) -> PingOutcome | UnknownService:
    """Every ping route ends here (the `message` given replaces the request body)."""
    raw = message.encode() if message is not None else await request.body()
    source = request.client.host if request.client else None
    return await runtime.heartbeats.record(make_ping(runtime, signal, raw, source, **fields))


def not_registered(key: str) -> str:
    return f"service {key!r} is not registered (auto-registration is off)"


def _check_ping_key(request: Request, runtime: Runtime) -> None:
    expected = runtime.settings.ping_key
    if not runtime.settings.require_ping_key or expected is None:
        return
    given = request.headers.get(PING_KEY_HEADER) or request.query_params.get("ping_key") or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, f"a valid ping key is required ({PING_KEY_HEADER} header)")


async def _ack(
    request: Request,
    runtime: Runtime,
    key: str,
    signal: Signal,
    period: float | None,
    run_id: str | None,
) -> PingAck:
    _check_ping_key(request, runtime)
    check_key(key)
    outcome = await record_ping(request, runtime, signal, key=key, period=period, run_id=run_id)
    if isinstance(outcome, UnknownService):
        raise HTTPException(404, not_registered(key))
    return PingAck(
        service_id=outcome.service_id,
        service_key=outcome.key,
        status=outcome.status,
        received_at=outcome.received_at,
        registered=outcome.registered,
        duration_ms=outcome.duration_ms,
    )


@ping_route(router, "/heartbeat", response_model=PingAck)
async def heartbeat_by_query(
    request: Request,
    runtime: RuntimeDep,
    service_key: Annotated[str | None, Query(description="the service's key")] = None,
    period: PeriodQuery = None,
    rid: RunId = None,
) -> PingAck:
    """Seed 000's form: `curl -X POST 'http://localhost:8765/heartbeat?service_key=billing'`."""
    if service_key is None:
        raise HTTPException(422, "service_key is required: /heartbeat?service_key=<key>")
    return await _ack(request, runtime, service_key, Signal.SUCCESS, period, rid)


@ping_route(router, "/heartbeat/{key}", response_model=PingAck)
async def heartbeat(
    request: Request, runtime: RuntimeDep, key: str, period: PeriodQuery = None, rid: RunId = None
) -> PingAck:
    """Seed 001's form: `POST /heartbeat/billing`."""
    return await _ack(request, runtime, key, Signal.SUCCESS, period, rid)


@ping_route(router, "/heartbeat/{key}/start", response_model=PingAck)
async def heartbeat_start(
    request: Request, runtime: RuntimeDep, key: str, period: PeriodQuery = None, rid: RunId = None
) -> PingAck:
    """A job is starting. Recorded; the status waits for its success or failure, and the
    run's duration is recorded with the success or failure that follows."""
    return await _ack(request, runtime, key, Signal.START, period, rid)


@ping_route(router, "/heartbeat/{key}/fail", response_model=PingAck)
async def heartbeat_fail(
    request: Request, runtime: RuntimeDep, key: str, period: PeriodQuery = None, rid: RunId = None
) -> PingAck:
    """The service reports a failure: it is down at once, until its next success."""
    return await _ack(request, runtime, key, Signal.FAIL, period, rid)
