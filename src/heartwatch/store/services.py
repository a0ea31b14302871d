"""Queries over `services` rows: finding, listing, registering and locking services.

`FOR UPDATE` compiles to nothing on SQLite, where `BEGIN IMMEDIATE` already serialises
writers; on PostgreSQL it is what stops ingest and the worker from both acting on one
service's change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store.models import Service
from heartwatch.store.tables import insert_for


def by_key_or_id(keys: Sequence[Any], ids: Sequence[Any]) -> ColumnElement[bool]:
    """Services whose key is one of `keys` or whose id is one of `ids` (values, or bind
    parameters for them), at least one of them given. Only the conditions needed: an `OR`
    with an always-false half can cost SQLite its index and scan the table."""
    conditions = []
    if keys:
        conditions.append(Service.key.in_(keys))
    if ids:
        conditions.append(Service.id.in_(ids))
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


async def lock_services(
    session: AsyncSession, *, keys: Sequence[str], ids: Sequence[uuid.UUID]
) -> list[Service]:
    """Lock services named by key or id. One statement, rows locked in id order, so two
    batches locking overlapping services always lock in the same order and can't
    deadlock each other."""
    if not keys and not ids:
        return []
    stmt = select(Service).where(by_key_or_id(keys, ids)).order_by(Service.id).with_for_update()
    return list((await session.scalars(stmt)).all())


async def insert_services_if_absent(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert new services; a key another process registered meanwhile is left alone."""
    stmt = (
        insert_for(session)(Service)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[Service.key])
    )
    await session.execute(stmt)


async def count_services(session: AsyncSession) -> int:
    """How many services there are (every type)."""
    return (await session.scalar(select(func.count()).select_from(Service))) or 0


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
        .where(by_key_or_id([ident], [as_uuid]))
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


async def list_services(session: AsyncSession) -> list[Service]:
    # No status filter here on purpose: the stored status lags the shown one (see
    # services.lifecycle.as_of), so callers filter on what they show.
    return list((await session.scalars(select(Service).order_by(Service.key))).all())


async def key_exists(session: AsyncSession, key: str) -> bool:
    return (await session.scalar(select(Service.id).where(Service.key == key))) is not None


async def service_id_by_push_token(session: AsyncSession, token: str) -> uuid.UUID | None:
    """The id of the service whose Uptime Kuma push token this is, if any."""
    found: uuid.UUID | None = await session.scalar(
        select(Service.id).where(Service.push_token == token)
    )
    return found
