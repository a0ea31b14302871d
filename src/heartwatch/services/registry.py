"""The service registry: register, read, edit and remove services; read their history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import HeartbeatRules, redeclare_period, set_paused
from heartwatch.domain.keys import check_key
from heartwatch.services.errors import Conflict, NotFound
from heartwatch.services.heartbeats import new_service_row
from heartwatch.services.lifecycle import stage, state_of
from heartwatch.store import queries
from heartwatch.store.models import Heartbeat, Service, StateTransition


@dataclass(frozen=True, slots=True)
class ServiceChanges:
    """A partial update: only the fields that were given are applied."""

    key: str | None = None
    name: str | None = None
    description: str | None = None
    paused: bool | None = None
    # With set_period: a number declares the period, None forgets the declared one and
    # goes back to the learned one.
    set_period: bool = False
    expected_period_sec: float | None = None


async def get_service(session: AsyncSession, ident: str, *, for_update: bool = False) -> Service:
    row = await queries.find_service(session, ident, for_update=for_update)
    if row is None:
        raise NotFound(f"service {ident!r} not found")
    return row


async def list_services(session: AsyncSession, status: str | None = None) -> list[Service]:
    return await queries.list_services(session, status)


async def create_service(
    session: AsyncSession,
    *,
    key: str,
    name: str | None,
    description: str,
    expected_period_sec: float | None,
    now: datetime,
) -> Service:
    check_key(key)
    if await queries.key_exists(session, key):
        raise Conflict(f"a service with key {key!r} already exists")
    row = Service(**new_service_row(key, now, name=name))
    row.description = description
    row.expected_period_sec = expected_period_sec
    session.add(row)
    return row


async def update_service(
    session: AsyncSession,
    ident: str,
    changes: ServiceChanges,
    *,
    rules: HeartbeatRules,
    now: datetime,
) -> Service:
    row = await get_service(session, ident, for_update=True)
    if changes.key is not None and changes.key != row.key:
        check_key(changes.key)
        if await queries.key_exists(session, changes.key):
            raise Conflict(f"a service with key {changes.key!r} already exists")
        row.key = changes.key
    if changes.name is not None:
        row.name = changes.name
    if changes.description is not None:
        row.description = changes.description
    if changes.set_period:
        period = changes.expected_period_sec
        stage(session, row, redeclare_period(state_of(row), period, now, rules), rules, now)
    if changes.paused is not None:
        stage(session, row, set_paused(state_of(row), changes.paused, now, rules), rules, now)
    row.updated_at = now
    return row


async def delete_service(session: AsyncSession, ident: str) -> None:
    row = await get_service(session, ident, for_update=True)
    await session.delete(row)


async def heartbeat_history(
    session: AsyncSession,
    service_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Heartbeat]:
    return await queries.heartbeats_page(
        session, service_id, start=start, end=end, before=before, limit=limit
    )


async def state_history(
    session: AsyncSession,
    *,
    service_key: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[tuple[StateTransition, str]]:
    service_id = None
    if service_key is not None:
        service_id = (await get_service(session, service_key)).id
    return await queries.transitions(
        session, service_id=service_id, start=start, end=end, limit=limit
    )
