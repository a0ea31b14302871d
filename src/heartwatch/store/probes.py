"""The probe scheduler's statements: claim due checks (leases on `scheduler_state`), read
what running and recording a check needs, write its result and its service's new state,
set the next slot.

Plain rows, no ORM objects, and compiled-once `Statement`s run in a `StatementTx` (see
`store.statements`): this runs for every check (bench/scheduler.py). Core tables, not the
mapped classes: a select of mapped attributes still runs through the ORM's loading
machinery row by row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Text, bindparam, null, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.status import Status
from heartwatch.store.models import CheckResult, SchedulerState, Service
from heartwatch.store.statements import (
    MAX_IN,
    Compilable,
    Statement,
    StatementTx,
    column_binds,
    in_binds,
    in_values,
    padded,
    select_of,
)
from heartwatch.store.tables import core_table

_services = core_table(Service)
_slots = core_table(SchedulerState)
_results = core_table(CheckResult)


def _claim() -> Compilable:
    now = bindparam("now", type_=_slots.c.lease_expires_at.type)
    free = or_(_slots.c.lease_expires_at.is_(None), _slots.c.lease_expires_at < now)
    due = (
        select(_slots.c.service_id)
        .join(_services, _services.c.id == _slots.c.service_id)
        .where(
            _slots.c.next_run_at <= bindparam("horizon", type_=_slots.c.next_run_at.type),
            free,
            _services.c.status != bindparam("paused", type_=_services.c.status.type),
        )
        .order_by(_slots.c.next_run_at)
        # (Both named: SQLite otherwise adds an OFFSET of its own, an anonymous parameter.)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .with_for_update(skip_locked=True, of=_slots)
    )
    return (
        update(_slots)
        .where(_slots.c.service_id.in_(due.scalar_subquery()), free)
        .values(column_binds(["lease_owner", "lease_expires_at"]))
        .returning(_slots.c.service_id, _slots.c.next_run_at)
    )


_CLAIM = Statement(_claim)


async def claim_due_checks(
    tx: StatementTx,
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
    claiming at this very moment, so two workers never claim the same service."""
    values = {
        "now": now,
        "horizon": horizon,
        "limit": limit,
        "offset": 0,
        "lease_owner": owner,
        "lease_expires_at": lease_until,
        "paused": Status.PAUSED,
    }
    return [(sid, at) for sid, at in await _CLAIM.fetch(tx, values)]


async def _select_by_ids(
    tx: StatementTx, stmt: Statement, ids: Sequence[uuid.UUID], **values: Any
) -> list[Any]:
    """Rows of `stmt` (of shape n: `id IN (i0 ... i{n-1})`), in chunks of sorted ids: rows
    locked by a chunk's `ORDER BY id ... FOR UPDATE` are still locked in id order
    overall."""
    if not ids:
        return []
    ordered = sorted(ids)
    rows: list[Any] = []
    for start in range(0, len(ordered), MAX_IN):
        chunk = ordered[start : start + MAX_IN]
        n = padded(len(chunk))
        rows += await stmt.fetch(tx, in_values("i", chunk, n) | values, n)
    return rows


# The scheduler's rows. Each field is its column: the statements are made from the fields.


class ProbeSpecRow(NamedTuple):
    """What the scheduler reads to run a service's check. The checker settings come as
    their stored JSON text: the scheduler keeps them parsed by that text, so a claim costs
    no JSON decoding and no pydantic validation."""

    id: uuid.UUID
    key: str
    type: str
    endpoint: str | None
    timeout_ms: int | None
    retry_count: int
    retry_backoff_ms: int
    check_interval_sec: float | None
    check_settings_json: str | None


class ProbeStateRow(NamedTuple):
    """What recording a check reads of its service."""

    id: uuid.UUID
    key: str
    status: Status
    status_since: datetime
    streak_up: bool | None
    streak_count: int
    streak_since: datetime | None
    failure_threshold: int
    success_threshold: int
    check_interval_sec: float | None


class ProbeWrite(NamedTuple):
    """A service's state as a batch of checks left it (`update_probe_rows`)."""

    sid: uuid.UUID  # the service's id
    status: Status
    status_since: datetime
    streak_up: bool | None
    streak_count: int
    streak_since: datetime | None
    last_check_at: datetime
    last_latency_ms: float | None
    last_error: str | None


class ProbeExtend(NamedTuple):
    """What changes when checks only extend their service's streak (the usual case):
    `extend_probe_streaks` writes only these."""

    sid: uuid.UUID  # the service's id
    streak_count: int
    last_check_at: datetime
    last_latency_ms: float | None
    last_error: str | None


class NewCheckResult(NamedTuple):
    """A `check_results` row (`insert_check_results`)."""

    id: uuid.UUID
    service_id: uuid.UUID
    up: bool
    latency_ms: float | None
    http_status: int | None
    error: str | None
    failed_assertion: str | None
    detail: str | None
    attempts: int
    scheduled_at: datetime | None
    started_at: datetime
    checked_at: datetime


class NextRun(NamedTuple):
    """A service's next slot, set as its worker gives the lease back (`reschedule`)."""

    sid: uuid.UUID  # the service's id
    next_run_at: datetime
    owner: str  # the worker that must still hold the lease


_SPEC = select_of(
    _services, ProbeSpecRow._fields, check_settings_json=sql_cast(_services.c.check_settings, Text)
)
_STATE = select_of(_services, ProbeStateRow._fields)


_SPECS = Statement(lambda n: _SPEC.where(_services.c.id.in_(in_binds(_services.c.id, "i", n))))


async def probe_spec_rows(tx: StatementTx, ids: Sequence[uuid.UUID]) -> list[ProbeSpecRow]:
    """What running these services' checks needs (of those that still exist)."""
    return [ProbeSpecRow(*row) for row in await _select_by_ids(tx, _SPECS, ids)]


_LOCK = Statement(
    lambda n: (
        _STATE.where(_services.c.id.in_(in_binds(_services.c.id, "i", n)))
        .order_by(_services.c.id)
        .with_for_update()
    )
)
_LOCK_HELD = Statement(
    lambda n: (
        _STATE.join(_slots, _slots.c.service_id == _services.c.id)
        .where(
            _services.c.id.in_(in_binds(_services.c.id, "i", n)),
            _slots.c.lease_owner == bindparam("owner", type_=_slots.c.lease_owner.type),
        )
        .order_by(_services.c.id)
        .with_for_update()
    )
)


async def lock_probe_rows(
    tx: StatementTx, ids: Sequence[uuid.UUID], *, lease_owner: str | None = None
) -> list[ProbeStateRow]:
    """Lock services by id (in id order, as `services.lock_services`), as plain rows.

    With `lease_owner`: only the services whose slot that worker still holds, with their
    `scheduler_state` rows locked too (until commit), in the same statement."""
    if lease_owner is None:
        rows = await _select_by_ids(tx, _LOCK, ids)
    else:
        rows = await _select_by_ids(tx, _LOCK_HELD, ids, owner=lease_owner)
    return [ProbeStateRow(*row) for row in rows]


_UPDATE = Statement.updating(_services, ProbeWrite._fields)
_EXTEND = Statement.updating(_services, ProbeExtend._fields)
_INSERT_RESULT = Statement.inserting(_results, NewCheckResult._fields)


async def update_probe_rows(tx: StatementTx, rows: Sequence[ProbeWrite]) -> None:
    """One executemany UPDATE for a batch."""
    await _UPDATE.run(tx, rows)


async def extend_probe_streaks(tx: StatementTx, rows: Sequence[ProbeExtend]) -> None:
    """`update_probe_rows` for services whose status and streak start did not change."""
    await _EXTEND.run(tx, rows)


async def insert_check_results(tx: StatementTx, rows: Sequence[NewCheckResult]) -> None:
    """One executemany INSERT of check results."""
    await _INSERT_RESULT.run(tx, rows)


_RESCHEDULE = Statement(
    lambda: (
        update(_slots)
        .where(
            _slots.c.service_id == bindparam("sid", type_=_slots.c.service_id.type),
            _slots.c.lease_owner == bindparam("owner", type_=_slots.c.lease_owner.type),
        )
        .values(
            {**column_binds(["next_run_at"]), "lease_owner": null(), "lease_expires_at": null()}
        )
    ),
    fields=NextRun._fields,
)


async def reschedule(tx: StatementTx, slots: Sequence[NextRun]) -> None:
    """Set each service's next run and release the lease — only where its owner still
    holds it (compare-and-set: a lease that expired and was taken over is left to its new
    holder)."""
    await _RESCHEDULE.run(tx, slots)


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
