"""The worker's hourly rollups and the retention job.

Rollups: every complete hour gets one `uptime_rollups` row per service (seconds per
status, checks, failures, latency percentiles and histogram), and every complete UTC day
one `latency_days` row per service with latencies (its hours' histograms summed). An
hour counts as complete a little after it ends (`GRACE`), so results finishing across
the boundary land first. A transition stamped in an hour that is already rolled up (a
probe outage is stamped at its first failed check, maybe hours back) marks its service
dirty in the same transaction (`services.transitions`); the next run redoes that
service's seconds per status from there (never its checks or latencies: those stand).
So rollups always equal the raw computation, and uptime can read them blindly.

Retention: raw check results and heartbeats older than the retention period are deleted,
but never ones in hours not yet rolled up; transitions, incidents and rollups stay. Sent
and failed alerts older than the retention period leave the outbox too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog

from heartwatch.domain import latency
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import (
    DAY,
    HOUR,
    StatusTimes,
    floor_day,
    floor_hour,
    time_in_status_by_hour,
)
from heartwatch.services.uptime import DAYS_ROLLED_THROUGH, ROLLED_THROUGH, rolled_through
from heartwatch.store import app_state, history
from heartwatch.store import notifications as notification_store
from heartwatch.store.database import Database
from heartwatch.store.models import CheckResult, Heartbeat

log = structlog.get_logger("heartwatch.rollups")

GRACE = timedelta(minutes=2)
# Hours rolled up per transaction when catching up (bounded write-lock time on SQLite).
HOURS_PER_BATCH = 24
PRUNE_CHUNK = 5000
PRUNE_SERVICES = 500  # services per pruning statement (bounded bind parameters)

_COLUMNS = {
    Status.ALIVE: "alive_s",
    Status.SILENT: "silent_s",
    Status.DOWN: "down_s",
    Status.DEAD: "dead_s",
    Status.UNKNOWN: "unknown_s",
    Status.PAUSED: "paused_s",
}


def _row(
    sid: uuid.UUID,
    hour: datetime,
    times: StatusTimes,
    activity: tuple[int, int],
    latencies: list[float],
) -> dict[str, Any]:
    values = sorted(latencies)
    return {
        "service_id": sid,
        "hour": hour,
        **{column: times.seconds[status] for status, column in _COLUMNS.items()},
        "checks": activity[0],
        "failures": activity[1],
        "latency_p50_ms": latency.percentile(values, 50),
        "latency_p95_ms": latency.percentile(values, 95),
        "latency_p99_ms": latency.percentile(values, 99),
        "latency_histogram": latency.histogram(values),
    }


async def compute_rollups(
    db: Database, service_ids: Sequence[uuid.UUID] | None, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Rollup rows for the hours in [start, end) (on the hour) of these services (None:
    every service that existed before `end`)."""
    async with db.reading() as session:
        existing = dict(await history.services_created_before(session, end))
        ids = list(existing) if service_ids is None else [s for s in service_ids if s in existing]
        if not ids:
            return []
        opening = await history.statuses_at(session, ids, start)
        changes = await history.changes_between(session, ids, start, end)
        # Hour by hour, but jumping over hours without any result or heartbeat: catching
        # up on a long quiet stretch costs a query per busy hour, not per hour.
        activity: dict[datetime, dict[uuid.UUID, tuple[int, int]]] = {}
        lat: dict[datetime, dict[uuid.UUID, list[float]]] = {}
        h = start
        while (busy := await history.next_activity(session, ids, h, end)) is not None:
            h = floor_hour(busy)
            activity[h] = await history.activity_counts(session, ids, h, h + HOUR)
            lat[h] = await history.latencies(session, ids, h, h + HOUR)
            h += HOUR
        rows = [
            (sid, h, activity.get(h, {}).get(sid, (0, 0)), lat.get(h, {}).get(sid, []))
            for h in _hours(start, end)
            for sid in ids
            if existing[sid] < h + HOUR  # born by the end of the hour
        ]
        by_service = {
            sid: time_in_status_by_hour(
                opening.get(sid, Status.UNKNOWN), changes.get(sid, []), start, end
            )
            for sid in ids
        }
    return [_row(sid, h, by_service[sid][h], act, lat) for sid, h, act, lat in rows]


def _hours(start: datetime, end: datetime) -> list[datetime]:
    out, h = [], start
    while h < end:
        out.append(h)
        h += HOUR
    return out


async def roll_up(db: Database, now: datetime, stop: asyncio.Event | None = None) -> int:
    """Bring rollups up to the last complete hour; returns how many rows were written.
    A long catch-up (a worker back after days) stops between batches when `stop` is set;
    the next run goes on from where it got."""
    target = floor_hour(now - GRACE)
    written = 0
    async with db.reading() as session:
        through = await rolled_through(session)
        if through is None:
            earliest = await history.earliest_service(session)
            through = floor_hour(earliest) if earliest is not None else target
        dirty = await history.dirty_services(session)

    # Late transitions first: redo those services' hours up to the watermark (services
    # dirty from the same hour together: a probe outage across many services is one pass).
    by_hour: dict[datetime, list[tuple[uuid.UUID, datetime]]] = defaultdict(list)
    for sid, dirty_from in dirty:
        by_hour[floor_hour(dirty_from)].append((sid, dirty_from))
    for start, marks in sorted(by_hour.items()):
        ids = [sid for sid, _ in marks]
        rows = await compute_rollups(db, ids, start, through) if start < through else []
        async with db.writing() as session:
            await history.upsert_rollups(session, rows, only_seconds=True)
            await history.clear_dirty(session, marks)
        written += len(rows)

    while through < target and not (stop is not None and stop.is_set()):
        end = min(target, through + HOURS_PER_BATCH * HOUR)
        rows = await compute_rollups(db, None, through, end)
        async with db.writing() as session:
            await history.upsert_rollups(session, rows)
            await app_state.put_app_state(session, ROLLED_THROUGH, end.isoformat(), now)
        written += len(rows)
        through = end
    if written:
        log.info("rollups written", rows=written, through=through.isoformat())
    return written + await roll_up_days(db, through, now, stop)


async def roll_up_days(
    db: Database, through: datetime, now: datetime, stop: asyncio.Event | None = None
) -> int:
    """Sum the hourly latency histograms of every UTC day that is wholly rolled up (all
    its hours before `through`) into `latency_days`; returns how many rows were written.
    Picks up from its own watermark, so days of rollups written before this existed (or
    by bench/gen_history.py) are filled in too."""
    async with db.reading() as session:
        day = await rolled_through(session, DAYS_ROLLED_THROUGH)
        if day is None:
            earliest = await history.earliest_service(session)
            day = floor_day(earliest) if earliest is not None else floor_day(through)
    written = 0
    while day + DAY <= through and not (stop is not None and stop.is_set()):
        async with db.reading() as session:
            ids = [sid for sid, _ in await history.services_created_before(session, day + DAY)]
            sums = await history.hourly_latency_sums(session, ids, day, day + DAY)
        rows = [
            {"service_id": sid, "day": day, "latency_histogram": json.dumps(counts)}
            for sid, counts in sums.items()
        ]
        day += DAY
        async with db.writing() as session:
            await history.upsert_latency_days(session, rows)
            await app_state.put_app_state(session, DAYS_ROLLED_THROUGH, day.isoformat(), now)
        written += len(rows)
    return written


async def prune(db: Database, now: datetime, retention: timedelta) -> int:
    """Delete raw results older than `retention` that are already rolled up."""
    async with db.reading() as session:
        through = await rolled_through(session)
        service_ids = await history.all_service_ids(session)
    if through is None:
        return 0
    cutoff = min(now - retention, through)
    deleted = 0
    for model in (CheckResult, Heartbeat):
        for i in range(0, len(service_ids), PRUNE_SERVICES):
            some = service_ids[i : i + PRUNE_SERVICES]
            while True:
                async with db.writing() as session:
                    n = await history.prune_before(session, model, some, cutoff, PRUNE_CHUNK)
                deleted += n
                if n < PRUNE_CHUNK:
                    break
    while True:  # delivered (or given up) alerts: the outbox is not an archive
        async with db.writing() as session:
            n = await notification_store.prune_settled(session, now - retention, PRUNE_CHUNK)
        deleted += n
        if n < PRUNE_CHUNK:
            break
    if deleted:
        log.info("raw history pruned", rows=deleted, before=cutoff.isoformat())
    return deleted
