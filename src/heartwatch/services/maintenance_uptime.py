"""Uptime without maintenance: the time a maintenance window covered a service is taken
out of its status times (`exclude_maintenance=true` on the metrics routes), so planned
work does not count against an SLA."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.maintenance import MaintenanceWindow
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import StatusTimes, time_in_status
from heartwatch.services.maintenance_windows import windows
from heartwatch.store import history
from heartwatch.store.models import Service

Span = tuple[datetime, datetime]


def merged_spans(
    planned: Sequence[MaintenanceWindow], row: Service, start: datetime, end: datetime
) -> tuple[Span, ...]:
    """The stretches of [start, end) some window covering `row` was open, merged."""
    tags = set(row.tags or ())
    spans = sorted(span for w in planned if w.covers(row.id, tags) for span in w.spans(start, end))
    merged: list[Span] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


async def excluded_times(
    session: AsyncSession, rows: Sequence[Service], start: datetime, end: datetime
) -> dict[uuid.UUID, StatusTimes]:
    """Per service, the seconds in each status while a window covered it (from the raw
    transitions, which are never pruned)."""
    planned = await windows(session)
    out = {row.id: StatusTimes() for row in rows}
    if not planned:
        return out
    by_spans: dict[tuple[Span, ...], list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        spans = merged_spans(planned, row, max(start, row.created_at), end)
        if spans:
            by_spans[spans].append(row.id)
    for spans, ids in by_spans.items():
        found = await history.histories(session, ids, list(spans))
        for (a, b), seen in zip(spans, found, strict=True):
            for sid in ids:
                opening, changes = seen.get(sid, (Status.UNKNOWN, []))
                out[sid].merge(time_in_status(opening, changes, a, b))
    return out


def without(times: StatusTimes, excluded: StatusTimes) -> StatusTimes:
    return StatusTimes({s: max(0.0, times.seconds[s] - excluded.seconds[s]) for s in Status})
