"""Queries the application services need, with the row locking each one relies on.

`FOR UPDATE` compiles to nothing on SQLite, where `BEGIN IMMEDIATE` already serialises
writers; on PostgreSQL it is what stops ingest and the worker from both acting on one
service's change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
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
    null,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import UpdateBase

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
# Core tables, not the mapped classes: a select of mapped attributes still runs through
# the ORM's loading machinery row by row, and these queries run for every check.
_services = core_table(Service)
_slots = core_table(SchedulerState)
_results = core_table(CheckResult)
_Processor = Callable[[Any], Any]


class Executemany:
    """A Core INSERT or UPDATE that a hot path runs with a batch of rows, at about the
    driver's own cost: compiled once per dialect, each row converted by its columns' own
    bind processors (the same conversions SQLAlchemy applies), and handed to the DBAPI's
    executemany through `exec_driver_sql`, on the session's connection and in its
    transaction. SQLAlchemy's executemany rebuilds every row's parameters through its
    general machinery: ~20 µs a row and ~0.5 ms a statement here, several times the
    database's own work (bench/scheduler.py, docs/benchmarks.md).

    Every value in the statement is a named `bindparam`; rows are dicts by those names.
    """

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        self._compiled: dict[Dialect, tuple[str, list[tuple[str, _Processor | None]]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, list[tuple[str, _Processor | None]]]:
        compiled = self.statement.compile(dialect=dialect)
        if not compiled.positional or compiled.positiontup is None:
            raise NotImplementedError(f"{dialect.name}: a positional paramstyle is expected")
        binds: list[tuple[str, _Processor | None]] = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]
        return compiled.string, binds

    async def run(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        connection = await session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile(dialect)
        sql, binds = compiled
        params = [
            tuple([row[name] if convert is None else convert(row[name]) for name, convert in binds])
            for row in rows
        ]
        await connection.exec_driver_sql(sql, params)


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
    free = or_(_slots.c.lease_expires_at.is_(None), _slots.c.lease_expires_at < now)
    due = (
        select(_slots.c.service_id)
        .join(_services, _services.c.id == _slots.c.service_id)
        .where(_slots.c.next_run_at <= horizon, free, _services.c.status != Status.PAUSED)
        .order_by(_slots.c.next_run_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=_slots)
    )
    stmt = (
        update(_slots)
        .where(_slots.c.service_id.in_(due.scalar_subquery()), free)
        .values(lease_owner=owner, lease_expires_at=lease_until)
        .returning(_slots.c.service_id, _slots.c.next_run_at)
    )
    return [(sid, at) for sid, at in (await session.execute(stmt)).all()]


# What the scheduler reads to run a service's check, and what recording its result reads
# and writes: plain rows, no ORM objects, because this runs for every check (as heartbeat
# ingest above). The checker settings come as their stored JSON text: the scheduler keeps
# them parsed by that text, so a claim costs no JSON decoding and no pydantic validation.
PROBE_SPEC_ROW = (
    _services.c.id,
    _services.c.key,
    _services.c.type,
    _services.c.endpoint,
    _services.c.timeout_ms,
    _services.c.retry_count,
    _services.c.retry_backoff_ms,
    _services.c.check_interval_sec,
    sql_cast(_services.c.check_settings, Text).label("check_settings_json"),
)
PROBE_STATE_ROW = (
    _services.c.id,
    _services.c.key,
    _services.c.status,
    _services.c.status_since,
    _services.c.streak_up,
    _services.c.streak_count,
    _services.c.streak_since,
    _services.c.failure_threshold,
    _services.c.success_threshold,
    _services.c.check_interval_sec,
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
# What changes when a check only extends its service's streak (the usual case).
PROBE_EXTEND = ("streak_count", "last_check_at", "last_latency_ms", "last_error")


async def probe_spec_rows(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """PROBE_SPEC_ROW of these services (those that still exist)."""
    if not ids:
        return []
    stmt = select(*PROBE_SPEC_ROW).where(_services.c.id.in_(ids))
    return list((await session.execute(stmt)).all())


async def lock_probe_rows(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """Lock services by id (in id order, as `lock_services`), as plain PROBE_STATE_ROW."""
    if not ids:
        return []
    stmt = (
        select(*PROBE_STATE_ROW)
        .where(_services.c.id.in_(ids))
        .order_by(_services.c.id)
        .with_for_update()
    )
    # (Widened: the precise row type has more columns than a tuple type can spell.)
    return cast(list[Row[Any]], list((await session.execute(stmt)).all()))


_UPDATE_PROBE_ROW = Executemany(
    update(_services)
    .where(_services.c.id == bindparam("sid"))
    .values({c: bindparam(f"new_{c}") for c in PROBE_WRITE})
)


async def update_probe_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE for a batch; each dict has `sid` and PROBE_WRITE."""
    await _UPDATE_PROBE_ROW.run(
        session, [{"sid": r["sid"], **{f"new_{c}": r[c] for c in PROBE_WRITE}} for r in rows]
    )


_EXTEND_PROBE_STREAK = Executemany(
    update(_services)
    .where(_services.c.id == bindparam("sid"))
    .values({c: bindparam(f"new_{c}") for c in PROBE_EXTEND})
)


async def extend_probe_streaks(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """`update_probe_rows` for rows whose status and streak start did not change: only
    PROBE_EXTEND is written (the other PROBE_WRITE values in the dicts are ignored)."""
    await _EXTEND_PROBE_STREAK.run(
        session, [{"sid": r["sid"], **{f"new_{c}": r[c] for c in PROBE_EXTEND}} for r in rows]
    )


RESULT_COLUMNS = (
    "id",
    "service_id",
    "up",
    "latency_ms",
    "http_status",
    "error",
    "failed_assertion",
    "detail",
    "attempts",
    "scheduled_at",
    "started_at",
    "checked_at",
)
_INSERT_RESULT = Executemany(insert(_results).values({c: bindparam(c) for c in RESULT_COLUMNS}))


async def insert_check_results(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany INSERT of check results; each dict has RESULT_COLUMNS."""
    await _INSERT_RESULT.run(session, rows)


_RESCHEDULE = Executemany(
    update(_slots)
    .where(_slots.c.service_id == bindparam("sid"), _slots.c.lease_owner == bindparam("owner"))
    .values(next_run_at=bindparam("slot"), lease_owner=null(), lease_expires_at=null())
)


async def reschedule(session: AsyncSession, owner: str, slots: list[dict[str, Any]]) -> None:
    """Set each service's next run and release the lease — only where `owner` still holds
    it (compare-and-set: a lease that expired and was taken over is left to its new
    holder). `slots`: dicts of service_id, next_run_at."""
    await _RESCHEDULE.run(
        session,
        [{"sid": s["service_id"], "slot": s["next_run_at"], "owner": owner} for s in slots],
    )


async def held_leases(
    session: AsyncSession, owner: str, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these services' leases `owner` still holds (locked until commit)."""
    if not ids:
        return set()
    stmt = (
        select(_slots.c.service_id)
        .where(_slots.c.service_id.in_(ids), _slots.c.lease_owner == owner)
        .with_for_update()
    )
    return set((await session.scalars(stmt)).all())


async def renew_leases(
    session: AsyncSession, owner: str, ids: Sequence[uuid.UUID], until: datetime
) -> None:
    """Extend the leases a live worker still holds (queued or running checks)."""
    if ids:
        await session.execute(
            update(_slots)
            .where(_slots.c.service_id.in_(ids), _slots.c.lease_owner == owner)
            .values(lease_expires_at=until)
        )


async def release_leases(session: AsyncSession, owner: str, ids: Sequence[uuid.UUID]) -> None:
    """Give back leases a stopping worker will not run."""
    if ids:
        await session.execute(
            update(_slots)
            .where(_slots.c.service_id.in_(ids), _slots.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
