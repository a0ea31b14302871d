"""Uptime, MTTR, MTBF and SLA over a window, for one service or all of them.

The window is answered in up to three pieces: the raw history before the first whole
hour, the rolled-up hours, and the raw history after the last rolled-up hour (up to
now). Rollups are an index over the transitions, not a second truth: the pieces meet on
hour boundaries and use the same arithmetic (`domain.uptime`), so the answer equals a
computation over the raw transitions alone — a property test holds them to that.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain import latency
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import (
    StatusTimes,
    ceil_day,
    ceil_hour,
    floor_day,
    floor_hour,
    time_in_status,
)
from heartwatch.services import maintenance_uptime
from heartwatch.services.lifecycle import as_of
from heartwatch.store import app_state, history
from heartwatch.store import incidents as incident_store
from heartwatch.store.models import Service

PERIODS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "365d": timedelta(days=365),
}

# app_state keys: every hour before this one is rolled up for every service; every UTC
# day before this one has its latency histograms summed in `latency_days`.
ROLLED_THROUGH = "rollups.through"
DAYS_ROLLED_THROUGH = "rollups.days_through"


async def rolled_through(session: AsyncSession, key: str = ROLLED_THROUGH) -> datetime | None:
    value = await app_state.get_app_state(session, key)
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class Watermarks:
    hours: datetime | None
    days: datetime | None


async def watermarks(session: AsyncSession) -> Watermarks:
    values = await app_state.get_app_states(session, (ROLLED_THROUGH, DAYS_ROLLED_THROUGH))

    def at(key: str) -> datetime | None:
        value = values.get(key)
        return datetime.fromisoformat(value) if value else None

    return Watermarks(at(ROLLED_THROUGH), at(DAYS_ROLLED_THROUGH))


@dataclass(frozen=True, slots=True)
class Report:
    service_id: uuid.UUID
    start: datetime
    end: datetime
    times: StatusTimes
    incident_count: int
    # Durations of the incidents resolved in the window (MTTR is their mean).
    recoveries_s: tuple[float, ...]
    sla_target: float | None
    latency_ms: dict[str, float | None] | None
    # Seconds taken out because a maintenance window covered them (None: not asked to).
    maintenance_s: float | None = None

    @property
    def mttr_s(self) -> float | None:
        return fmean(self.recoveries_s) if self.recoveries_s else None

    @property
    def mtbf_s(self) -> float | None:
        """Mean time between failures: up time per incident."""
        return self.times.up_s / self.incident_count if self.incident_count else None

    @property
    def sla_met(self) -> bool | None:
        uptime = self.times.uptime_percent
        if self.sla_target is None or uptime is None:
            return None
        return uptime >= self.sla_target


def _rolled_until(row: Service, through: datetime | None) -> datetime | None:
    """Rollups of this service can be trusted before this hour."""
    if through is None:
        return None
    if row.rollup_dirty_from is not None:
        return min(through, floor_hour(row.rollup_dirty_from))
    return through


async def _raw(
    session: AsyncSession, ids: list[uuid.UUID], windows: list[tuple[datetime, datetime]]
) -> list[dict[uuid.UUID, StatusTimes]]:
    """Time in status from the raw transitions over each window [a, b)."""
    nonempty = [(a, b) for a, b in windows if a < b]
    found = iter(await history.histories(session, ids, nonempty))
    out: list[dict[uuid.UUID, StatusTimes]] = []
    for a, b in windows:
        times: dict[uuid.UUID, StatusTimes] = {}
        if a < b:
            seen = next(found)
            for sid in ids:
                opening, changes = seen.get(sid, (Status.UNKNOWN, []))
                times[sid] = time_in_status(opening, changes, a, b)
        out.append(times)
    return out


async def status_times(
    session: AsyncSession, rows: Sequence[Service], start: datetime, end: datetime
) -> dict[uuid.UUID, StatusTimes]:
    """Seconds per status in [start, end) for each service. Time before a service existed
    is not counted at all: not even as unknown."""
    return await _status_times(session, rows, start, end, await rolled_through(session))


async def _status_times(
    session: AsyncSession,
    rows: Sequence[Service],
    start: datetime,
    end: datetime,
    through: datetime | None,
) -> dict[uuid.UUID, StatusTimes]:
    first_whole = ceil_hour(start)
    groups: dict[datetime | None, list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        until = _rolled_until(row, through)
        rolled_end = None if until is None else min(until, floor_hour(end))
        groups[rolled_end if rolled_end and rolled_end > first_whole else None].append(row.id)

    totals = {row.id: StatusTimes() for row in rows}
    born = {row.id: floor_hour(row.created_at) for row in rows}
    for rolled_end, ids in groups.items():
        if rolled_end is None:
            pieces = await _raw(session, ids, [(start, end)])
        else:
            # the raw edges around the rolled-up hours (one statement), the hours' sums
            pieces = await _raw(session, ids, [(start, first_whole), (rolled_end, end)])
            sums = await history.rollup_sums(session, ids, first_whole, rolled_end)
            pieces.append({sid: StatusTimes(dict(s)) for sid, s in sums.items()})
            # Rollups begin with a service's first hour: whole hours before it have no
            # row, and are unknown time, as the raw computation has them.
            for sid in ids:
                unborn = (min(born[sid], rolled_end) - first_whole).total_seconds()
                if unborn > 0:
                    totals[sid].add(Status.UNKNOWN, unborn)
        for piece in pieces:
            for sid, times in piece.items():
                totals[sid].merge(times)
    # Every piece answers the time before a service existed as unknown (no transition is
    # stamped before its creation, and rollups have whole hours before it as unknown):
    # take it back out, so `unknown` is time the service was there with no verdict.
    for row in rows:
        unborn = (min(row.created_at, end) - start).total_seconds()
        if unborn > 0:
            seconds = totals[row.id].seconds
            seconds[Status.UNKNOWN] = max(0.0, seconds[Status.UNKNOWN] - unborn)
    return totals


async def latency_percentiles(
    session: AsyncSession, row: Service, start: datetime, end: datetime
) -> dict[str, float | None]:
    """p50/p95/p99 of check latencies: daily and hourly histograms for rolled-up time
    (raw results there may be pruned), raw results after it."""
    return await _latency_percentiles(session, row, start, end, await watermarks(session))


async def _latency_percentiles(
    session: AsyncSession, row: Service, start: datetime, end: datetime, marks: Watermarks
) -> dict[str, float | None]:
    # A late transition redoes an hour's seconds, never its latencies: the histograms of
    # every rolled-up hour stand, dirty or not (their raw results may be pruned by now).
    counts: dict[str, int] = {}
    raw_from = start
    first = floor_hour(start)
    if marks.hours is not None and marks.hours > first:
        # [first, days) and [days_end, hours) from hourly rows, whole days between from
        # daily ones: ~90 + 48 rows for 90 days instead of 2,160.
        days = (ceil_day(first), min(floor_day(marks.hours), marks.days or first))
        hours = [(first, marks.hours)]
        if days[0] < days[1]:
            hours = [(first, days[0]), (days[1], marks.hours)]
        counts = await history.latency_counts(session, row.id, hours, days)
        raw_from = max(start, marks.hours)
    raw = await history.latencies(session, [row.id], raw_from, end)
    latency.merge(counts, latency.histogram(raw.get(row.id, [])))
    return {
        f"p{pct:g}": latency.percentile_of_histogram(counts, pct) for pct in latency.PERCENTILES
    }


async def reports(
    session: AsyncSession,
    rows: Sequence[Service],
    start: datetime,
    end: datetime,
    *,
    with_latency: bool = False,
    exclude_maintenance: bool = False,
) -> list[Report]:
    marks = await watermarks(session)
    times = await _status_times(session, rows, start, end, marks.hours)
    excluded = None
    if exclude_maintenance:
        excluded = await maintenance_uptime.excluded_times(session, rows, start, end)
        times = {sid: maintenance_uptime.without(t, excluded[sid]) for sid, t in times.items()}
    ids = None if len(rows) > 50 else [r.id for r in rows]
    stats = await incident_store.incident_stats(session, ids, start, end)
    out = []
    for row in rows:
        count, durations = stats.get(row.id, (0, []))
        t = times[row.id]
        lat = None
        if with_latency and is_probe(row.type):
            lat = await _latency_percentiles(session, row, start, end, marks)
        out.append(
            Report(
                service_id=row.id,
                start=start,
                end=end,
                times=t,
                incident_count=count,
                recoveries_s=tuple(durations),
                sla_target=row.sla_target,
                latency_ms=lat,
                maintenance_s=(
                    None if excluded is None else sum(excluded[row.id].seconds.values())
                ),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    """Every service's report over one window, and the totals across them."""

    reports: list[Report]  # in the order of the services given
    by_status: Counter[Status]  # current statuses, as of the window's end
    open_incidents: int
    times: StatusTimes  # summed over every service
    incident_count: int
    mttr_s: float | None  # over every incident resolved in the window


async def summary(
    session: AsyncSession,
    rows: Sequence[Service],
    rules: HeartbeatRules,
    start: datetime,
    end: datetime,
    *,
    exclude_maintenance: bool = False,
) -> Summary:
    """The reports of these services over [start, end), with their totals; statuses as
    of `end`."""
    service_reports = await reports(
        session, rows, start, end, exclude_maintenance=exclude_maintenance
    )
    total = StatusTimes()
    for report in service_reports:
        total.merge(report.times)
    durations = [d for report in service_reports for d in report.recoveries_s]
    return Summary(
        reports=service_reports,
        by_status=Counter(as_of(row, rules, end).status for row in rows),
        open_incidents=await incident_store.count_open(session),
        times=total,
        incident_count=sum(report.incident_count for report in service_reports),
        mttr_s=sum(durations) / len(durations) if durations else None,
    )
