"""Queries over the notification outbox and channels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store.models import (
    NotificationChannel,
    NotificationEvent,
    Service,
    StateTransition,
)
from heartwatch.store.tables import core_table, insert_for

PENDING = ("queued", "sending")
# The partial index's own condition, spelled as a literal: SQLite uses a partial index
# only when the query's WHERE provably implies the index's, and bound parameters prove
# nothing at prepare time. Without it, every dispatcher poll would scan the whole outbox.
_UNDELIVERED = text("status IN ('queued', 'sending')")


async def enabled_channels(session: AsyncSession) -> list[NotificationChannel]:
    stmt = select(NotificationChannel).where(NotificationChannel.enabled.is_(True))
    return list((await session.scalars(stmt.order_by(NotificationChannel.name))).all())


async def service_facts(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    stmt = select(
        Service.id,
        Service.key,
        Service.name,
        Service.type,
        Service.status,
        Service.criticality,
        Service.tags,
        Service.last_heartbeat_at,
        Service.last_error,
        Service.muted_until,
        Service.flapping_since,
    ).where(Service.id.in_(ids))
    return {row.id: row for row in (await session.execute(stmt)).all()}


async def transitions_since(
    session: AsyncSession, ids: Sequence[uuid.UUID], since: datetime
) -> dict[uuid.UUID, int]:
    stmt = (
        select(StateTransition.service_id, func.count())
        .where(StateTransition.service_id.in_(ids), StateTransition.at > since)
        .group_by(StateTransition.service_id)
    )
    return {sid: int(n) for sid, n in (await session.execute(stmt)).all()}


async def flapping_services(session: AsyncSession) -> list[Service]:
    return list(
        (await session.scalars(select(Service).where(Service.flapping_since.is_not(None)))).all()
    )


async def set_flapping(session: AsyncSession, sid: uuid.UUID, since: datetime | None) -> None:
    await session.execute(update(Service).where(Service.id == sid).values(flapping_since=since))


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows; one whose dedup key exists already is skipped (idempotent)."""
    if not rows:
        return
    stmt = insert_for(session)(NotificationEvent).on_conflict_do_nothing(
        index_elements=["dedup_key"]
    )
    await session.execute(stmt, rows)


async def claim(
    session: AsyncSession, channel_id: uuid.UUID, now: datetime, lease_until: datetime, limit: int
) -> list[NotificationEvent]:
    """Lease up to `limit` due events of a channel (queued and due, or sending with a
    lapsed lease: a worker died between sending and marking), in the order they are to
    be sent: oldest due first; events queued together (one transaction: a service going
    silent and then down) in the order their changes happened.

    Ids alone would not do: they sort in creation order only within one process."""
    table = core_table(NotificationEvent)
    changes = core_table(StateTransition)
    happened = select(changes.c.at).where(changes.c.id == table.c.transition_id).scalar_subquery()
    due = (
        select(table.c.id)
        .where(
            _UNDELIVERED,
            table.c.channel_id == channel_id,
            or_(
                and_(table.c.status == "queued", table.c.next_attempt_at <= now),
                and_(table.c.status == "sending", table.c.lease_until <= now),
            ),
        )
        .order_by(
            table.c.next_attempt_at,
            table.c.created_at,
            func.coalesce(happened, table.c.created_at),
            table.c.id,
        )
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=table, skip_locked=True)
    # Selected first, then leased, in one transaction (the rows are locked on
    # PostgreSQL, the database on SQLite): UPDATE ... RETURNING gives no order back.
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    stmt = (
        update(NotificationEvent)
        .where(NotificationEvent.id.in_(ids))
        .values(status="sending", lease_until=lease_until, attempts=NotificationEvent.attempts + 1)
        .returning(NotificationEvent)
    )
    rows = list((await session.scalars(stmt)).all())
    position = {event_id: i for i, event_id in enumerate(ids)}
    rows.sort(key=lambda e: position[e.id])
    return rows


async def channels_with_due_events(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    table = core_table(NotificationEvent)
    stmt = (
        select(table.c.channel_id)
        .where(
            _UNDELIVERED,
            or_(
                and_(table.c.status == "queued", table.c.next_attempt_at <= now),
                and_(table.c.status == "sending", table.c.lease_until <= now),
            ),
        )
        .distinct()
    )
    return list((await session.scalars(stmt)).all())


async def next_due(session: AsyncSession) -> datetime | None:
    stmt = select(func.min(NotificationEvent.next_attempt_at)).where(
        NotificationEvent.status == "queued"
    )
    return await session.scalar(stmt)


async def mark(
    session: AsyncSession,
    event_id: uuid.UUID,
    *,
    status: str,
    now: datetime,
    next_attempt_at: datetime | None = None,
    error: str | None = None,
) -> bool:
    """Settle a leased event (sent, failed, or queued again for a retry). Only while it
    is still ours (sending): returns False if the lease was lost meanwhile."""
    values: dict[str, Any] = {"status": status, "lease_until": None, "last_error": error}
    if status == "sent":
        values["sent_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = await session.execute(
        update(NotificationEvent)
        .where(NotificationEvent.id == event_id, NotificationEvent.status == "sending")
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def settle_alert_sent(session: AsyncSession, transition_id: uuid.UUID) -> None:
    """`alert_sent` turns true once every event of the transition is sent."""
    unsent = (
        select(NotificationEvent.id)
        .where(NotificationEvent.transition_id == transition_id, NotificationEvent.status != "sent")
        .exists()
    )
    await session.execute(
        update(StateTransition)
        .where(StateTransition.id == transition_id, ~unsent)
        .values(alert_sent=True)
    )


async def events_page(
    session: AsyncSession,
    channel_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[NotificationEvent]:
    """Newest first; `before`: the (created_at, id) of the previous page's last event."""
    stmt = select(NotificationEvent)
    if before is not None:
        at, event_id = before
        stmt = stmt.where(
            (NotificationEvent.created_at < at)
            | ((NotificationEvent.created_at == at) & (NotificationEvent.id < event_id))
        )
    if channel_id is not None:
        stmt = stmt.where(NotificationEvent.channel_id == channel_id)
    if status is not None:
        stmt = stmt.where(NotificationEvent.status == status)
    stmt = stmt.order_by(NotificationEvent.created_at.desc(), NotificationEvent.id.desc())
    return list((await session.scalars(stmt.limit(limit))).all())


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = select(NotificationEvent.status, func.count()).group_by(NotificationEvent.status)
    return {s: int(n) for s, n in (await session.execute(stmt)).all()}


async def all_channels(session: AsyncSession) -> list[NotificationChannel]:
    return list(
        (
            await session.scalars(select(NotificationChannel).order_by(NotificationChannel.name))
        ).all()
    )


async def get_channel(session: AsyncSession, channel_id: uuid.UUID) -> NotificationChannel | None:
    return await session.get(NotificationChannel, channel_id)


async def find_channel(session: AsyncSession, ident: str) -> NotificationChannel | None:
    """The channel of this id (a UUID) or, failing that form, of this name."""
    stmt = select(NotificationChannel)
    try:
        stmt = stmt.where(NotificationChannel.id == uuid.UUID(ident))
    except ValueError:
        stmt = stmt.where(NotificationChannel.name == ident)
    return await session.scalar(stmt)


async def channel_name_taken(session: AsyncSession, name: str) -> bool:
    stmt = select(NotificationChannel.id).where(NotificationChannel.name == name)
    return await session.scalar(stmt) is not None


async def release(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    """Hand leased events back unsent (the attempt they were charged did not happen)."""
    if ids:
        await session.execute(
            update(NotificationEvent)
            .where(NotificationEvent.id.in_(ids), NotificationEvent.status == "sending")
            .values(status="queued", lease_until=None, attempts=NotificationEvent.attempts - 1)
        )


async def prune_settled(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` sent or failed events created before `before`."""
    old = (
        select(NotificationEvent.id)
        .where(
            NotificationEvent.status.in_(("sent", "failed")), NotificationEvent.created_at < before
        )
        .order_by(NotificationEvent.created_at)
        .limit(limit)
    )
    ids = list((await session.scalars(old)).all())
    if ids:
        await session.execute(delete(NotificationEvent).where(NotificationEvent.id.in_(ids)))
    return len(ids)
