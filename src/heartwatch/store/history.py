"""Reading status history, rollups and raw results over time windows, for many services
at once (a fixed number of statements however many services are asked about)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Select,
    Text,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import Change
from heartwatch.store.models import (
    CheckResult,
    Heartbeat,
    LatencyDay,
    Service,
    StateTransition,
    UptimeRollup,
)
from heartwatch.store.tables import core_table, insert_for

Stmt = TypeVar("Stmt", bound=Select[*tuple[Any, ...]])


def _only(stmt: Stmt, column: Any, ids: Sequence[uuid.UUID] | None) -> Stmt:
    """Restrict to some services (None: all of them)."""
    return stmt if ids is None else stmt.where(column.in_(ids))


def _latest_by(at: datetime) -> Any:
    """The id of a service's (correlated: `Service`) latest transition at or before `at`."""
    return (
        select(StateTransition.id)
        .where(StateTransition.service_id == Service.id, StateTransition.at <= at)
        .order_by(StateTransition.at.desc(), StateTransition.id.desc())
        .limit(1)
        .correlate(Service)
        .scalar_subquery()
    )


async def statuses_at(
    session: AsyncSession, service_ids: Sequence[uuid.UUID] | None, at: datetime
) -> dict[uuid.UUID, Status]:
    """The status each service had at `at`: its latest transition at or before it.
    Services without one were still in their initial status (unknown) then."""
    stmt = _only(
        select(Service.id, StateTransition.to_status).join(
            StateTransition, StateTransition.id == _latest_by(at)
        ),
        Service.id,
        service_ids,
    )
    return {sid: Status(to) for sid, to in (await session.execute(stmt)).all()}


async def changes_between(
    session: AsyncSession,
    service_ids: Sequence[uuid.UUID] | None,
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, list[Change]]:
    """Transitions stamped in (start, end), per service, in the order they happened."""
    stmt = _only(
        select(StateTransition.service_id, StateTransition.at, StateTransition.to_status)
        .where(StateTransition.at > start, StateTransition.at < end)
        .order_by(StateTransition.service_id, StateTransition.at, StateTransition.id),
        StateTransition.service_id,
        service_ids,
    )
    changes: dict[uuid.UUID, list[Change]] = defaultdict(list)
    for sid, at, to in (await session.execute(stmt)).all():
        changes[sid].append(Change(at, Status(to)))
    return changes


async def histories(
    session: AsyncSession,
    service_ids: Sequence[uuid.UUID] | None,
    windows: Sequence[tuple[datetime, datetime]],
) -> list[dict[uuid.UUID, tuple[Status, list[Change]]]]:
    """For each window [a, b): each service's status at `a` (`statuses_at`) and its
    changes in (a, b) (`changes_between`), all windows in one statement: an uptime answer
    reads the raw edges around its rolled-up hours, and each round trip costs about a
    millisecond whatever it reads. Services without a transition by `a` were unknown."""
    parts: list[Any] = []
    for i, (a, b) in enumerate(windows):
        opening = select(
            Service.id.label("sid"),
            literal(i).label("win"),
            literal(0).label("kind"),
            StateTransition.at,
            StateTransition.to_status,
            StateTransition.id.label("tid"),
        ).join(StateTransition, StateTransition.id == _latest_by(a))
        changes = select(
            StateTransition.service_id,
            literal(i),
            literal(1),
            StateTransition.at,
            StateTransition.to_status,
            StateTransition.id,
        ).where(StateTransition.at > a, StateTransition.at < b)
        parts.append(_only(opening, Service.id, service_ids))
        parts.append(_only(changes, StateTransition.service_id, service_ids))
    found: list[dict[uuid.UUID, tuple[Status, list[Change]]]] = [{} for _ in windows]
    if not parts:
        return found
    union = union_all(*parts)
    rows = (await session.execute(union.order_by("win", "kind", "sid", "at", "tid"))).all()
    for sid, win, kind, at, to, _ in rows:
        seen = found[win]
        if kind == 0:
            seen[sid] = (Status(to), [])
        else:
            seen.setdefault(sid, (Status.UNKNOWN, []))[1].append(Change(at, Status(to)))
    return found


STATUS_COLUMNS = {
    Status.ALIVE: UptimeRollup.alive_s,
    Status.SILENT: UptimeRollup.silent_s,
    Status.DOWN: UptimeRollup.down_s,
    Status.DEAD: UptimeRollup.dead_s,
    Status.UNKNOWN: UptimeRollup.unknown_s,
    Status.PAUSED: UptimeRollup.paused_s,
}


async def rollup_sums(
    session: AsyncSession,
    service_ids: Sequence[uuid.UUID] | None,
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, dict[Status, float]]:
    """Seconds per status summed over the rolled-up hours in [start, end)."""
    stmt = _only(
        select(UptimeRollup.service_id, *(func.sum(c) for c in STATUS_COLUMNS.values()))
        .where(UptimeRollup.hour >= start, UptimeRollup.hour < end)
        .group_by(UptimeRollup.service_id),
        UptimeRollup.service_id,
        service_ids,
    )
    return {
        row[0]: {s: float(v or 0.0) for s, v in zip(STATUS_COLUMNS, row[1:], strict=True)}
        for row in (await session.execute(stmt)).all()
    }


def _histogram_pairs(column: Any) -> Any:
    """A histogram's `"bucket": count` pairs as text, without the braces."""
    text = column if isinstance(column.type, Text) else sql_cast(column, Text)
    return func.substr(text, 2, func.length(text) - 2)  # '{"85": 3, "86": 1}' -> inside


# Rollup hours that have latencies: some checks, and a histogram that is not '{}'.
_HAS_LATENCY = (
    UptimeRollup.checks > 0,
    func.length(sql_cast(UptimeRollup.latency_histogram, Text)) > 2,
)


def _summed(joined: str | None) -> dict[str, int]:
    """Parse histograms joined by the database into one text (`"85": 3, "86": 1, "85":
    2`) as one JSON object, summing the pairs as they are read: much cheaper than decoding
    and merging thousands of small dicts."""
    counts: dict[str, int] = {}
    if joined:
        add = counts.get

        def summed(items: list[tuple[str, int]]) -> None:
            for bucket, count in items:
                counts[bucket] = add(bucket, 0) + count

        json.loads(f"{{{joined}}}", object_pairs_hook=summed)
    return counts


async def latency_counts(
    session: AsyncSession,
    service_id: uuid.UUID,
    hours: Sequence[tuple[datetime, datetime]],
    days: tuple[datetime, datetime] | None = None,
) -> dict[str, int]:
    """One service's latency histogram summed over rolled-up hours (`hours`: [start, end)
    ranges on the hour) and rolled-up days (`days`: [start, end) on UTC midnights), in
    one statement."""
    parts = [
        select(_histogram_pairs(UptimeRollup.latency_histogram).label("pairs")).where(
            UptimeRollup.service_id == service_id,
            UptimeRollup.hour >= a,
            UptimeRollup.hour < b,
            *_HAS_LATENCY,
        )
        for a, b in hours
        if a < b
    ]
    if days is not None and days[0] < days[1]:
        parts.append(
            select(_histogram_pairs(LatencyDay.latency_histogram).label("pairs")).where(
                LatencyDay.service_id == service_id,
                LatencyDay.day >= days[0],
                LatencyDay.day < days[1],
            )
        )
    if not parts:
        return {}
    pairs = union_all(*parts).subquery()
    return _summed(await session.scalar(select(func.aggregate_strings(pairs.c.pairs, ","))))


async def hourly_latency_sums(
    session: AsyncSession, service_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, dict[str, int]]:
    """These services' hourly latency histograms in [start, end), summed (services with
    no latency there are left out). By service ids, so that each service's hours are
    found through the (service_id, hour) index: a range on `hour` alone would read every
    rollup row ever written (over a second a day at 1,000 services and 90 days)."""
    pairs = _histogram_pairs(UptimeRollup.latency_histogram)
    sums: dict[uuid.UUID, dict[str, int]] = {}
    for i in range(0, len(service_ids), 1000):  # (bounded bind parameters per statement)
        stmt = (
            select(UptimeRollup.service_id, func.aggregate_strings(pairs, ","))
            .where(
                UptimeRollup.service_id.in_(service_ids[i : i + 1000]),
                UptimeRollup.hour >= start,
                UptimeRollup.hour < end,
                *_HAS_LATENCY,
            )
            .group_by(UptimeRollup.service_id)
        )
        for sid, joined in (await session.execute(stmt)).all():
            if counts := _summed(joined):
                sums[sid] = counts
    return sums


async def upsert_latency_days(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert_for(session)(LatencyDay)
    stmt = stmt.on_conflict_do_update(
        index_elements=["service_id", "day"],
        set_={"latency_histogram": stmt.excluded.latency_histogram},
    )
    await session.execute(stmt, rows)


async def latencies(
    session: AsyncSession,
    service_ids: Sequence[uuid.UUID] | None,
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, list[float]]:
    """Raw check latencies in [start, end), per service."""
    stmt = _only(
        select(CheckResult.service_id, CheckResult.latency_ms).where(
            CheckResult.checked_at >= start,
            CheckResult.checked_at < end,
            CheckResult.latency_ms.is_not(None),
        ),
        CheckResult.service_id,
        service_ids,
    )
    found: dict[uuid.UUID, list[float]] = defaultdict(list)
    for sid, ms in (await session.execute(stmt)).all():
        if ms is not None:
            found[sid].append(float(ms))
    return found


async def activity_counts(
    session: AsyncSession,
    service_ids: Sequence[uuid.UUID] | None,
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, tuple[int, int]]:
    """(checks, failures) per service in [start, end): check results for probes,
    heartbeats (and fail signals) for push services."""
    checks = _only(
        select(
            CheckResult.service_id,
            func.count(),
            func.sum(case((CheckResult.up.is_(False), 1), else_=0)),
        )
        .where(CheckResult.checked_at >= start, CheckResult.checked_at < end)
        .group_by(CheckResult.service_id),
        CheckResult.service_id,
        service_ids,
    )
    beats = _only(
        select(
            Heartbeat.service_id,
            func.count(),
            func.sum(case((Heartbeat.kind == Signal.FAIL, 1), else_=0)),
        )
        .where(Heartbeat.received_at >= start, Heartbeat.received_at < end)
        .group_by(Heartbeat.service_id),
        Heartbeat.service_id,
        service_ids,
    )
    counts: dict[uuid.UUID, tuple[int, int]] = {}
    for stmt in (checks, beats):
        for sid, n, failed in (await session.execute(stmt)).all():
            old = counts.get(sid, (0, 0))
            counts[sid] = (old[0] + int(n), old[1] + int(failed or 0))
    return counts


async def next_activity(
    session: AsyncSession,
    service_ids: Sequence[uuid.UUID] | None,
    start: datetime,
    end: datetime,
) -> datetime | None:
    """The first check result or heartbeat in [start, end), if any."""
    firsts = []
    for at in (CheckResult.checked_at, Heartbeat.received_at):
        stmt = _only(
            select(func.min(at)).where(at >= start, at < end),
            at.class_.service_id,
            service_ids,
        )
        first = await session.scalar(stmt)
        if first is not None:
            firsts.append(first)
    return min(firsts, default=None)


async def upsert_rollups(
    session: AsyncSession, rows: list[dict[str, Any]], *, only_seconds: bool = False
) -> None:
    """Insert or replace rollup rows. `only_seconds`: an existing row keeps its checks,
    failures and latencies and takes only the seconds per status (a redo after a late
    transition: the raw results behind those may be pruned by now, the transitions never)."""
    if not rows:
        return
    stmt = insert_for(session)(UptimeRollup)
    keys = ("service_id", "hour")
    seconds = {c.key for c in STATUS_COLUMNS.values()}
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            c: stmt.excluded[c]
            for c in rows[0]
            if c not in keys and (not only_seconds or c in seconds)
        },
    )
    await session.execute(stmt, rows)


async def mark_rollups_dirty(session: AsyncSession, earliest: dict[uuid.UUID, datetime]) -> None:
    """Lower each service's `rollup_dirty_from` to the given moment (never raise it): the
    rollups from that hour on are redone (a change recorded after its hour was summed)."""
    if not earliest:
        return
    table = core_table(Service)
    at = bindparam("at", type_=Service.rollup_dirty_from.type)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("sid"))
        .values(
            rollup_dirty_from=case(
                (table.c.rollup_dirty_from.is_(None), at),
                (table.c.rollup_dirty_from > at, at),
                else_=table.c.rollup_dirty_from,
            )
        )
    )
    await session.execute(stmt, [{"sid": sid, "at": at_} for sid, at_ in earliest.items()])


async def dirty_services(session: AsyncSession) -> list[tuple[uuid.UUID, datetime]]:
    stmt = select(Service.id, Service.rollup_dirty_from).where(
        Service.rollup_dirty_from.is_not(None)
    )
    return [(sid, at) for sid, at in (await session.execute(stmt)).all() if at is not None]


async def clear_dirty(session: AsyncSession, seen: list[tuple[uuid.UUID, datetime]]) -> None:
    """Clear the marks that were redone; one set meanwhile (lower or not) stays."""
    if not seen:
        return
    table = core_table(Service)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("sid"), table.c.rollup_dirty_from == bindparam("seen"))
        .values(rollup_dirty_from=None)
    )
    await session.execute(stmt, [{"sid": sid, "seen": at} for sid, at in seen])


async def services_created_before(
    session: AsyncSession, at: datetime
) -> list[tuple[uuid.UUID, datetime]]:
    stmt = select(Service.id, Service.created_at).where(Service.created_at < at)
    return [(sid, created) for sid, created in (await session.execute(stmt)).all()]


async def earliest_service(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(Service.created_at)))


async def all_service_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list((await session.scalars(select(Service.id).order_by(Service.id))).all())


async def prune_before(
    session: AsyncSession,
    model: type[CheckResult] | type[Heartbeat],
    service_ids: Sequence[uuid.UUID],
    before: datetime,
    limit: int,
) -> int:
    """Delete up to `limit` raw rows of these services older than `before`; returns how
    many. By service, so each service's old rows are found through its (service_id,
    time) index: a range on the time alone would scan the whole table every hour (tens of
    millions of rows with thousands of probes). Small chunks: on SQLite every chunk holds
    the one write lock only briefly."""
    at = CheckResult.checked_at if model is CheckResult else Heartbeat.received_at
    old = select(model.id).where(model.service_id.in_(service_ids), at < before).limit(limit)
    ids = list((await session.scalars(old)).all())
    if ids:
        await session.execute(delete(model).where(model.id.in_(ids)))
    return len(ids)
