"""Queries the application services need, with the row locking each one relies on.

`FOR UPDATE` compiles to nothing on SQLite, where `BEGIN IMMEDIATE` already serialises
writers; on PostgreSQL it is what stops ingest and the worker from both acting on one
service's change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    Text,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.status import Status
from heartwatch.store.models import (
    AppState,
    Base,
    CheckResult,
    Heartbeat,
    SchedulerState,
    Service,
    StateTransition,
)


def _by_key_or_id(keys: Sequence[str], ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """Only the conditions needed: an `OR` with an always-false half can cost SQLite its
    index and scan the table."""
    conditions = []
    if keys:
        conditions.append(Service.key.in_(keys))
    if ids:
        conditions.append(Service.id.in_(ids))
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def core_table(model: type[Base]) -> Table:
    """A model's Core table, for statements over plain rows (no ORM bookkeeping)."""
    return cast(Table, model.__table__)


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
    stmt = select(Service).where(_by_key_or_id(keys, ids)).order_by(Service.id).with_for_update()
    return list((await session.scalars(stmt)).all())


# What heartbeat ingest reads and writes of a service: plain rows, no ORM objects, because
# this runs for every heartbeat (bench/ingest.py: the ORM cost half the CPU per ping).
HEARTBEAT_ROW = (
    Service.id,
    Service.key,
    Service.type,
    Service.status,
    Service.status_since,
    Service.last_heartbeat_at,
    Service.failed_at,
    Service.expected_period_sec,
    Service.recent_gaps,
    Service.heartbeat_count,
    Service.last_start_at,
)
HEARTBEAT_WRITE = (
    "status",
    "status_since",
    "last_heartbeat_at",
    "failed_at",
    "expected_period_sec",
    "recent_gaps",
    "heartbeat_count",
    "next_deadline_at",
    "last_start_at",
    "updated_at",
)


async def lock_heartbeat_rows(
    session: AsyncSession, *, keys: Sequence[str], ids: Sequence[uuid.UUID]
) -> list[Row[Any]]:
    """`lock_services`, as plain rows of HEARTBEAT_ROW."""
    if not keys and not ids:
        return []
    stmt = (
        select(*HEARTBEAT_ROW)
        .where(_by_key_or_id(keys, ids))
        .order_by(Service.id)
        .with_for_update()
    )
    # (Widened: the precise row type has more columns than a tuple type can spell.)
    return cast(list[Row[Any]], list((await session.execute(stmt)).all()))


async def update_heartbeat_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE for a batch; each dict has `sid` and HEARTBEAT_WRITE."""
    if not rows:
        return
    table = core_table(Service)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("sid"))
        .values({c: bindparam(f"new_{c}") for c in HEARTBEAT_WRITE})
    )
    await session.execute(
        stmt, [{"sid": r["sid"], **{f"new_{c}": r[c] for c in HEARTBEAT_WRITE}} for r in rows]
    )


async def insert_rows(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Plain rows in one executemany INSERT: the hot paths' history rows."""
    if rows:
        await session.execute(insert(core_table(model)), rows)


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


async def list_services(session: AsyncSession) -> list[Service]:
    # No status filter here on purpose: the stored status lags the shown one (see
    # services.lifecycle.as_of), so callers filter on what they show.
    return list((await session.scalars(select(Service).order_by(Service.key))).all())


async def key_exists(session: AsyncSession, key: str) -> bool:
    return (await session.scalar(select(Service.id).where(Service.key == key))) is not None


History = TypeVar("History", Heartbeat, CheckResult)


def _history_time(model: type[Heartbeat] | type[CheckResult]) -> InstrumentedAttribute[datetime]:
    return Heartbeat.received_at if model is Heartbeat else CheckResult.checked_at


async def history_page(
    session: AsyncSession,
    model: type[History],
    service_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[History]:
    """A service's heartbeats or check results, newest first, within [start, end].
    `before` is a keyset cursor (time, id) from the previous page: stable under inserts,
    and as fast on page 1000 as on page 1."""
    at_col = _history_time(model)
    stmt = select(model).where(model.service_id == service_id)
    if start is not None:
        stmt = stmt.where(at_col >= start)
    if end is not None:
        stmt = stmt.where(at_col <= end)
    if before is not None:
        at, row_id = before
        stmt = stmt.where((at_col < at) | ((at_col == at) & (model.id < row_id)))
    stmt = stmt.order_by(at_col.desc(), model.id.desc()).limit(limit)
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


# --- the probe scheduler ----------------------------------------------------------------


async def claim_due_checks(
    session: AsyncSession,
    *,
    owner: str,
    now: datetime,
    horizon: datetime,
    lease_until: datetime,
    limit: int,
) -> list[tuple[uuid.UUID, datetime]]:
    """Take a lease on up to `limit` probe services due by `horizon` that nobody holds
    (or whose holder's lease ran out: a dead worker's services are taken over).

    One UPDATE ... RETURNING; on PostgreSQL the inner SELECT skips rows another worker is
    claiming at this very moment, so two workers never claim the same service.
    """
    free = or_(SchedulerState.lease_expires_at.is_(None), SchedulerState.lease_expires_at < now)
    due = (
        select(SchedulerState.service_id)
        .join(Service, Service.id == SchedulerState.service_id)
        .where(SchedulerState.next_run_at <= horizon, free, Service.status != Status.PAUSED)
        .order_by(SchedulerState.next_run_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=SchedulerState)
    )
    stmt = (
        update(SchedulerState)
        .where(SchedulerState.service_id.in_(due.scalar_subquery()), free)
        .values(lease_owner=owner, lease_expires_at=lease_until)
        .returning(SchedulerState.service_id, SchedulerState.next_run_at)
        .execution_options(synchronize_session=False)
    )
    return [(sid, at) for sid, at in (await session.execute(stmt)).all()]


# What the scheduler reads to run a service's check, and what recording its result reads
# and writes: plain rows, no ORM objects, because this runs for every check (as heartbeat
# ingest above). The checker settings come as their stored JSON text: the scheduler keeps
# them parsed by that text, so a claim costs no JSON decoding and no pydantic validation.
PROBE_SPEC_ROW = (
    Service.id,
    Service.key,
    Service.type,
    Service.endpoint,
    Service.timeout_ms,
    Service.retry_count,
    Service.retry_backoff_ms,
    sql_cast(Service.check_settings, Text).label("check_settings_json"),
)
PROBE_STATE_ROW = (
    Service.id,
    Service.key,
    Service.status,
    Service.status_since,
    Service.streak_up,
    Service.streak_count,
    Service.streak_since,
    Service.failure_threshold,
    Service.success_threshold,
    Service.check_interval_sec,
)
PROBE_WRITE = (
    "status",
    "status_since",
    "streak_up",
    "streak_count",
    "streak_since",
    "last_check_at",
    "last_latency_ms",
    "last_error",
)


async def probe_spec_rows(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """PROBE_SPEC_ROW of these services (those that still exist)."""
    if not ids:
        return []
    stmt = select(*PROBE_SPEC_ROW).where(Service.id.in_(ids))
    return cast(list[Row[Any]], list((await session.execute(stmt)).all()))


async def lock_probe_rows(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """Lock services by id (in id order, as `lock_services`), as plain PROBE_STATE_ROW."""
    if not ids:
        return []
    stmt = (
        select(*PROBE_STATE_ROW).where(Service.id.in_(ids)).order_by(Service.id).with_for_update()
    )
    return cast(list[Row[Any]], list((await session.execute(stmt)).all()))


async def update_probe_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE for a batch; each dict has `sid` and PROBE_WRITE."""
    if not rows:
        return
    table = core_table(Service)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("sid"))
        .values({c: bindparam(f"new_{c}") for c in PROBE_WRITE})
    )
    await session.execute(
        stmt, [{"sid": r["sid"], **{f"new_{c}": r[c] for c in PROBE_WRITE}} for r in rows]
    )


async def reschedule(session: AsyncSession, owner: str, slots: list[dict[str, Any]]) -> None:
    """Set each service's next run and release the lease — only where `owner` still holds
    it (compare-and-set: a lease that expired and was taken over is left to its new
    holder). `slots`: dicts of service_id, next_run_at."""
    if not slots:
        return
    table = core_table(SchedulerState)
    stmt = (
        update(table)
        .where(table.c.service_id == bindparam("sid"), table.c.lease_owner == owner)
        .values(next_run_at=bindparam("slot"), lease_owner=None, lease_expires_at=None)
    )
    rows = [{"sid": s["service_id"], "slot": s["next_run_at"]} for s in slots]
    await session.execute(stmt, rows)


async def held_leases(
    session: AsyncSession, owner: str, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these services' leases `owner` still holds (locked until commit)."""
    if not ids:
        return set()
    stmt = (
        select(SchedulerState.service_id)
        .where(SchedulerState.service_id.in_(ids), SchedulerState.lease_owner == owner)
        .with_for_update()
    )
    return set((await session.scalars(stmt)).all())


async def renew_leases(
    session: AsyncSession, owner: str, ids: Sequence[uuid.UUID], until: datetime
) -> None:
    """Extend the leases a live worker still holds (queued or running checks)."""
    if ids:
        await session.execute(
            update(SchedulerState)
            .where(SchedulerState.service_id.in_(ids), SchedulerState.lease_owner == owner)
            .values(lease_expires_at=until)
            .execution_options(synchronize_session=False)
        )


async def release_leases(session: AsyncSession, owner: str, ids: Sequence[uuid.UUID]) -> None:
    """Give back leases a stopping worker will not run."""
    if ids:
        await session.execute(
            update(SchedulerState)
            .where(SchedulerState.service_id.in_(ids), SchedulerState.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
