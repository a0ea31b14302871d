"""Queries the application services need, with the row locking each one relies on.

`FOR UPDATE` compiles to nothing on SQLite, where `BEGIN IMMEDIATE` already serialises
writers; on PostgreSQL it is what stops ingest and the worker from both acting on one
service's change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import Signal
from heartwatch.store.models import AppState, Heartbeat, Service, StateTransition


def _insert_for(session: AsyncSession) -> Any:
    return pg.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def lock_services(
    session: AsyncSession, *, keys: Sequence[str], ids: Sequence[uuid.UUID]
) -> list[Service]:
    """Lock services named by key or id. One statement, rows locked in id order, so two
    batches locking overlapping services always lock in the same order and can't
    deadlock each other."""
    if not keys and not ids:
        return []
    stmt = (
        select(Service)
        .where(or_(Service.key.in_(keys), Service.id.in_(ids)))
        .order_by(Service.id)
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())


async def insert_services_if_absent(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert new services; a key another process registered meanwhile is left alone."""
    stmt = (
        _insert_for(session)(Service)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[Service.key])
    )
    await session.execute(stmt)


async def lock_due_services(session: AsyncSession, now: datetime, limit: int) -> list[Service]:
    """Services whose status is due to change; rows another worker holds are skipped."""
    stmt = (
        select(Service)
        .where(Service.next_deadline_at <= now)
        .order_by(Service.next_deadline_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(stmt)).all())


def _find_service(ident: str) -> Select[Service]:
    """`{id}` in a URL is the service's UUID or its key."""
    try:
        as_uuid = uuid.UUID(ident)
    except ValueError:
        return select(Service).where(Service.key == ident)
    # A key may itself look like a UUID: the id wins, the key is the fallback.
    return (
        select(Service)
        .where((Service.id == as_uuid) | (Service.key == ident))
        .order_by((Service.id == as_uuid).desc())
        .limit(1)
    )


async def find_service(
    session: AsyncSession, ident: str, *, for_update: bool = False
) -> Service | None:
    stmt = _find_service(ident)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def list_services(session: AsyncSession, status: str | None = None) -> list[Service]:
    stmt = select(Service).order_by(Service.key)
    if status is not None:
        stmt = stmt.where(Service.status == status)
    return list((await session.scalars(stmt)).all())


async def key_exists(session: AsyncSession, key: str) -> bool:
    return (await session.scalar(select(Service.id).where(Service.key == key))) is not None


async def heartbeats_page(
    session: AsyncSession,
    service_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Heartbeat]:
    """Newest first. `before` is a keyset cursor (time, id) from the previous page."""
    stmt = select(Heartbeat).where(Heartbeat.service_id == service_id)
    if start is not None:
        stmt = stmt.where(Heartbeat.received_at >= start)
    if end is not None:
        stmt = stmt.where(Heartbeat.received_at <= end)
    if before is not None:
        at, row_id = before
        stmt = stmt.where(
            (Heartbeat.received_at < at) | ((Heartbeat.received_at == at) & (Heartbeat.id < row_id))
        )
    stmt = stmt.order_by(Heartbeat.received_at.desc(), Heartbeat.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def transitions(
    session: AsyncSession,
    *,
    service_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[tuple[StateTransition, str]]:
    """Newest first, each with its service's key."""
    stmt = select(StateTransition, Service.key).join(
        Service, Service.id == StateTransition.service_id
    )
    if service_id is not None:
        stmt = stmt.where(StateTransition.service_id == service_id)
    if start is not None:
        stmt = stmt.where(StateTransition.at >= start)
    if end is not None:
        stmt = stmt.where(StateTransition.at <= end)
    stmt = stmt.order_by(StateTransition.at.desc(), StateTransition.id.desc()).limit(limit)
    return [(t, key) for t, key in (await session.execute(stmt)).all()]


async def last_run_event(
    session: AsyncSession, service_id: uuid.UUID, run_id: str | None
) -> tuple[Signal, datetime] | None:
    """The latest start, success or failure of this run (run id, or none), if any."""
    same_run = Heartbeat.run_id.is_(None) if run_id is None else Heartbeat.run_id == run_id
    stmt = (
        select(Heartbeat.kind, Heartbeat.received_at)
        .where(
            Heartbeat.service_id == service_id,
            Heartbeat.kind.in_([Signal.START, Signal.SUCCESS, Signal.FAIL]),
            same_run,
        )
        .order_by(Heartbeat.received_at.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return (Signal(row[0]), row[1]) if row is not None else None


async def get_app_state(session: AsyncSession, key: str) -> str | None:
    return await session.scalar(select(AppState.value).where(AppState.key == key))


async def put_app_state(session: AsyncSession, key: str, value: str, now: datetime) -> None:
    stmt = _insert_for(session)(AppState).values(key=key, value=value, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[AppState.key], set_={"value": value, "updated_at": now}
    )
    await session.execute(stmt)
