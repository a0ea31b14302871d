"""The service registry over HTTP. `{id}` is a service's UUID or its key."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.schemas import (
    HeartbeatOut,
    HeartbeatPage,
    ServiceCreate,
    ServiceOut,
    ServicePatch,
    UTCTime,
)
from heartwatch.domain.status import Status
from heartwatch.services import registry

router = APIRouter(prefix="/services", tags=["services"])

Limit = Annotated[int, Query(ge=1, le=1000)]


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise HTTPException(422, "`from` must not be later than `to`")


def _encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise HTTPException(422, "invalid cursor: pass back `next_cursor` unchanged") from exc


@router.get("", response_model=list[ServiceOut])
async def list_services(
    runtime: RuntimeDep, session: ReadSession, status: Status | None = None
) -> list[ServiceOut]:
    rows = await registry.list_services(session, status)
    now = runtime.clock.now()
    return [ServiceOut.of(r, runtime.rules, now) for r in rows]


@router.post("", response_model=ServiceOut, status_code=201)
async def create_service(runtime: RuntimeDep, body: ServiceCreate) -> ServiceOut:
    """Register a service ahead of its first heartbeat, optionally with its period."""
    async with runtime.db.writing() as session:
        row = await registry.create_service(
            session,
            key=body.key,
            name=body.name,
            description=body.description,
            expected_period_sec=body.expected_period_sec,
            now=runtime.clock.now(),
        )
    return ServiceOut.of(row, runtime.rules, runtime.clock.now())


@router.get("/{id}", response_model=ServiceOut)
async def get_service(runtime: RuntimeDep, session: ReadSession, id: str) -> ServiceOut:
    return ServiceOut.of(
        await registry.get_service(session, id), runtime.rules, runtime.clock.now()
    )


@router.patch("/{id}", response_model=ServiceOut)
async def update_service(runtime: RuntimeDep, id: str, body: ServicePatch) -> ServiceOut:
    given = body.model_fields_set
    changes = registry.ServiceChanges(
        key=body.key,
        name=body.name,
        description=body.description,
        paused=body.paused,
        set_period="expected_period_sec" in given,
        expected_period_sec=body.expected_period_sec,
    )
    async with runtime.db.writing() as session:
        row = await registry.update_service(
            session, id, changes, rules=runtime.rules, now=runtime.clock.now()
        )
    return ServiceOut.of(row, runtime.rules, runtime.clock.now())


@router.delete("/{id}", status_code=204, response_class=Response)
async def delete_service(runtime: RuntimeDep, id: str) -> Response:
    async with runtime.db.writing() as session:
        await registry.delete_service(session, id)
    return Response(status_code=204)


@router.get("/{id}/history", response_model=HeartbeatPage)
async def heartbeat_history(
    session: ReadSession,
    id: str,
    start: Annotated[UTCTime | None, Query(alias="from")] = None,
    end: Annotated[UTCTime | None, Query(alias="to")] = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> HeartbeatPage:
    """Heartbeats, newest first. Follow `next_cursor` for older pages."""
    check_window(start, end)
    before = _decode_cursor(cursor) if cursor else None
    service = await registry.get_service(session, id)
    rows = await registry.heartbeat_history(
        session, service.id, start=start, end=end, before=before, limit=limit
    )
    next_cursor = _encode_cursor(rows[-1].received_at, rows[-1].id) if len(rows) == limit else None
    return HeartbeatPage(
        service_id=service.id,
        service_key=service.key,
        items=[HeartbeatOut.of(r) for r in rows],
        next_cursor=next_cursor,
    )
