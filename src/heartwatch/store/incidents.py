"""Queries over `incidents`: the open ones a transition may close, the pages people read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import Signal
from heartwatch.store.models import Heartbeat, Incident, Service
from heartwatch.store.statements import Statement, StatementTx
from heartwatch.store.tables import core_table, insert_rows

# The table, for the Core statements over plain rows below.
_incidents = core_table(Incident)


async def open_incidents(
    session: AsyncSession, service_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Incident]:
    """The open incident of each service that has one (the partial index keeps it one)."""
    if not service_ids:
        return {}
    stmt = select(Incident).where(
        Incident.service_id.in_(service_ids), Incident.resolved.is_(False)
    )
    return {i.service_id: i for i in (await session.scalars(stmt)).all()}


async def open_with_services(session: AsyncSession) -> list[tuple[Incident, Service]]:
    """Every open incident with its service (the reminders walk them)."""
    stmt = select(Incident, Service).join(Service).where(Incident.resolved.is_(False))
    return [(i, s) for i, s in (await session.execute(stmt)).all()]


async def failure_facts(session: AsyncSession, service_ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """What an incident opening or closing reads of each service: its type, its probe
    streak, when it last failed and its last error (plain rows, by id)."""
    stmt = select(
        Service.id,
        Service.type,
        Service.streak_up,
        Service.streak_count,
        Service.failed_at,
        Service.last_error,
    ).where(Service.id.in_(service_ids))
    return {row.id: row for row in (await session.execute(stmt)).all()}


async def fail_signal_body(
    session: AsyncSession, service_id: uuid.UUID, received_at: datetime
) -> str | None:
    """The body of the service's fail signal received at that moment, if there is one."""
    return await session.scalar(
        select(Heartbeat.body)
        .where(
            Heartbeat.service_id == service_id,
            Heartbeat.received_at == received_at,
            Heartbeat.kind == Signal.FAIL,
        )
        .limit(1)
    )


async def insert_incidents(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await insert_rows(session, Incident, rows)


async def close_incidents(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Resolve open incidents; each dict has `iid`, `recovered_at`, `closed_by`. Only an
    incident still open is touched."""
    if not rows:
        return
    stmt = (
        update(_incidents)
        .where(_incidents.c.id == bindparam("iid"), _incidents.c.resolved.is_(False))
        .values(
            resolved=True,
            recovered_at=bindparam("recovered_at"),
            closed_by=bindparam("closed_by"),
        )
    )
    await session.execute(stmt, rows)


class _FailureCount(NamedTuple):
    sid: uuid.UUID  # the service's id
    n: int  # failed checks to add
    error: str | None  # the latest one's


_COUNT_FAILURES = Statement(
    lambda: (
        update(_incidents)
        .where(_incidents.c.service_id == bindparam("sid"), _incidents.c.resolved.is_(False))
        .values(
            checks_failed_count=_incidents.c.checks_failed_count + bindparam("n"),
            last_error=bindparam("error"),
        )
    ),
    fields=_FailureCount._fields,
)


async def count_failures(
    tx: StatementTx, failures: dict[uuid.UUID, tuple[int, str | None]]
) -> None:
    """Add failed checks (and the latest error) to the services' open incidents (a
    compiled-once statement: the scheduler's write round runs it for every failure)."""
    await _COUNT_FAILURES.run(
        tx, [_FailureCount(sid, n, error) for sid, (n, error) in failures.items()]
    )


def _page(stmt: Any, before: tuple[datetime, uuid.UUID] | None, limit: int) -> Any:
    if before is not None:
        at, iid = before
        stmt = stmt.where(
            (Incident.started_at < at) | ((Incident.started_at == at) & (Incident.id < iid))
        )
    return stmt.order_by(Incident.started_at.desc(), Incident.id.desc()).limit(limit)


# What the incident pages show, as plain rows (attribute names as on Incident, plus
# `service_key`): ORM objects cost /incidents/active half its time (bench/api_latency.py).
PAGE_COLUMNS = (
    Incident.id,
    Incident.service_id,
    Service.key.label("service_key"),
    Incident.started_at,
    Incident.recovered_at,
    Service.type.label("service_type"),
    Incident.checks_failed_count,
    Incident.last_error,
    Incident.resolved,
)


async def incidents_page(
    session: AsyncSession,
    *,
    service_id: uuid.UUID | None = None,
    service_key: str | None = None,
    active_only: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 100,
) -> list[Row[Any]]:
    """Incidents newest first, as rows of PAGE_COLUMNS.
    [start, end] selects incidents that overlap the window (an outage that began before
    it and was still going counts)."""
    stmt = select(*PAGE_COLUMNS).join(Service, Service.id == Incident.service_id)
    if service_id is not None:
        stmt = stmt.where(Incident.service_id == service_id)
    if service_key is not None:
        stmt = stmt.where(Service.key == service_key)
    if active_only:
        stmt = stmt.where(Incident.resolved.is_(False))
    if end is not None:
        stmt = stmt.where(Incident.started_at <= end)
    if start is not None:
        stmt = stmt.where(Incident.resolved.is_(False) | (Incident.recovered_at >= start))
    # (Widened: the precise row type has more columns than a tuple type can spell.)
    return cast(list[Row[Any]], list((await session.execute(_page(stmt, before, limit))).all()))


async def count_open(session: AsyncSession) -> int:
    """How many incidents are open now (across every service)."""
    stmt = select(func.count()).select_from(Incident).where(Incident.resolved.is_(False))
    return int(await session.scalar(stmt) or 0)


async def incident_stats(
    session: AsyncSession, service_ids: Sequence[uuid.UUID] | None, start: datetime, end: datetime
) -> dict[uuid.UUID, tuple[int, list[float]]]:
    """Per service: incidents that started in [start, end], and the durations (seconds)
    of those resolved in it (for MTTR)."""
    stmt = select(Incident.service_id, Incident.started_at, Incident.recovered_at).where(
        ((Incident.started_at >= start) & (Incident.started_at <= end))
        | ((Incident.recovered_at >= start) & (Incident.recovered_at <= end))
    )
    if service_ids is not None:
        stmt = stmt.where(Incident.service_id.in_(service_ids))
    stats: dict[uuid.UUID, tuple[int, list[float]]] = {}
    for sid, started, recovered in (await session.execute(stmt)).all():
        count, durations = stats.get(sid, (0, []))
        if start <= started <= end:
            count += 1
        if recovered is not None and start <= recovered <= end:
            durations.append((recovered - started).total_seconds())
        stats[sid] = (count, durations)
    return stats
