"""Heartbeat ingest (seeds 000/001): `/heartbeat?service_key=K` and `/heartbeat/{key}`,
with Healthchecks-style `/start` and `/fail` signals. GET and POST both work, so any
cron line, curl or wget call can report in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.schemas import Period, PingAck
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.keys import check_key
from heartwatch.services.heartbeats import Ping, UnknownService

router = APIRouter(tags=["heartbeats"])

PeriodQuery = Annotated[
    Period | None,
    Query(description="the period the service promises to report at, in seconds"),
]


async def _record(
    request: Request, runtime: RuntimeDep, key: str, signal: Signal, period: float | None
) -> PingAck:
    check_key(key)
    limit = runtime.settings.max_heartbeat_body_bytes
    raw = await request.body()
    # Longer bodies are cut, not refused: a cron job's log tail must never cost its ping.
    body = raw[:limit].decode("utf-8", errors="ignore") if raw else None
    ping = Ping(
        key=key,
        signal=signal,
        received_at=runtime.clock.now(),
        body=body or None,
        source=request.client.host if request.client else None,
        period=period,
    )
    outcome = await runtime.heartbeats.record(ping)
    if isinstance(outcome, UnknownService):
        raise HTTPException(404, f"service {key!r} is not registered (auto-registration is off)")
    return PingAck(
        service_id=outcome.service_id,
        service_key=outcome.key,
        status=outcome.status,
        received_at=outcome.received_at,
        registered=outcome.registered,
    )


@router.post("/heartbeat", response_model=PingAck)
@router.get("/heartbeat", response_model=PingAck)
async def heartbeat_by_query(
    request: Request,
    runtime: RuntimeDep,
    service_key: Annotated[str | None, Query(description="the service's key")] = None,
    period: PeriodQuery = None,
) -> PingAck:
    """Seed 000's form: `curl -X POST 'http://localhost:8765/heartbeat?service_key=billing'`."""
    if service_key is None:
        raise HTTPException(422, "service_key is required: /heartbeat?service_key=<key>")
    return await _record(request, runtime, service_key, Signal.SUCCESS, period)


@router.post("/heartbeat/{key}", response_model=PingAck)
@router.get("/heartbeat/{key}", response_model=PingAck)
async def heartbeat(
    request: Request, runtime: RuntimeDep, key: str, period: PeriodQuery = None
) -> PingAck:
    """Seed 001's form: `POST /heartbeat/billing`."""
    return await _record(request, runtime, key, Signal.SUCCESS, period)


@router.post("/heartbeat/{key}/start", response_model=PingAck)
@router.get("/heartbeat/{key}/start", response_model=PingAck)
async def heartbeat_start(
    request: Request, runtime: RuntimeDep, key: str, period: PeriodQuery = None
) -> PingAck:
    """A job is starting. Recorded; the status waits for its success or failure."""
    return await _record(request, runtime, key, Signal.START, period)


@router.post("/heartbeat/{key}/fail", response_model=PingAck)
@router.get("/heartbeat/{key}/fail", response_model=PingAck)
async def heartbeat_fail(
    request: Request, runtime: RuntimeDep, key: str, period: PeriodQuery = None
) -> PingAck:
    """The service reports a failure: it is down at once, until its next success."""
    return await _record(request, runtime, key, Signal.FAIL, period)
