"""Maintenance windows: when planned work is under way, statuses are still computed and
recorded, but alerts are held; an alert held is sent when the window ends only if the
service is still down then.

A window is one-off (`starts_at` to `ends_at`) or recurring (a cron schedule in a zone,
each run opening it for `duration`), and covers one service, every service with a tag,
or everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cronsim import CronSim

from heartwatch.domain.schedule import CronSchedule, InvalidSchedule, parse_schedule

MAX_DURATION = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    id: uuid.UUID
    # One-off: [starts_at, ends_at). Recurring: each run of `cron`, for `duration`.
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cron: CronSchedule | None = None
    duration: timedelta | None = None
    # What it covers: one service, the services with a tag, or (neither) everything.
    service_id: uuid.UUID | None = None
    tag: str | None = None

    def covers(self, service_id: uuid.UUID, tags: Iterable[str]) -> bool:
        if self.service_id is not None:
            return self.service_id == service_id
        if self.tag is not None:
            return self.tag in tags
        return True

    def span_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The stretch of this window that `moment` falls in, if any."""
        if self.cron is None:
            assert self.starts_at is not None and self.ends_at is not None
            if self.starts_at <= moment < self.ends_at:
                return self.starts_at, self.ends_at
            return None
        assert self.duration is not None
        start = _last_run_at_or_before(self.cron, moment)
        if start is not None and moment < start + self.duration:
            return start, start + self.duration
        return None

    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The stretches of this window that overlap [start, end), clipped to it."""
        if self.cron is None:
            assert self.starts_at is not None and self.ends_at is not None
            lo, hi = max(start, self.starts_at), min(end, self.ends_at)
            return [(lo, hi)] if lo < hi else []
        assert self.duration is not None
        out: list[tuple[datetime, datetime]] = []
        # A run up to `duration` before `start` may still be open at `start`.
        for run in _runs_between(self.cron, start - self.duration, end):
            lo, hi = max(start, run), min(end, run + self.duration)
            if lo < hi:
                out.append((lo, hi))
        return out


def _last_run_at_or_before(cron: CronSchedule, moment: datetime) -> datetime | None:
    try:
        it = CronSim(cron.expression, moment.astimezone(cron.zone) + timedelta(seconds=1), True)
        for _ in range(3):  # a repeated hour may yield a wall time just after `moment`
            run = next(it).astimezone(UTC)
            if run <= moment:
                return run
    except StopIteration:
        return None
    return None


def _runs_between(cron: CronSchedule, start: datetime, end: datetime) -> list[datetime]:
    runs: list[datetime] = []
    moment = start - timedelta(microseconds=1)
    while len(runs) < 10_000:  # a minutely window over a year is the worst case asked
        nxt = cron.next_run_after(moment)
        if nxt is None or nxt >= end:
            break
        runs.append(nxt)
        moment = nxt
    return runs


def one_off(
    window_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    *,
    service_id: uuid.UUID | None = None,
    tag: str | None = None,
) -> MaintenanceWindow:
    if ends_at <= starts_at:
        raise InvalidSchedule("a maintenance window ends after it starts (`until` > `from`)")
    if service_id is not None and tag is not None:
        raise InvalidSchedule("a maintenance window covers one service or one tag, not both")
    return MaintenanceWindow(window_id, starts_at, ends_at, service_id=service_id, tag=tag)


def recurring(
    window_id: uuid.UUID,
    expression: str,
    zone: str,
    duration: timedelta,
    *,
    service_id: uuid.UUID | None = None,
    tag: str | None = None,
) -> MaintenanceWindow:
    if not timedelta(0) < duration <= MAX_DURATION:
        raise InvalidSchedule("a recurring window lasts more than 0 s and at most 7 days")
    if service_id is not None and tag is not None:
        raise InvalidSchedule("a maintenance window covers one service or one tag, not both")
    cron = parse_schedule(expression, zone)
    return MaintenanceWindow(
        window_id, cron=cron, duration=duration, service_id=service_id, tag=tag
    )


def covering(
    windows: Sequence[MaintenanceWindow], service_id: uuid.UUID, tags: Iterable[str], at: datetime
) -> tuple[datetime, datetime] | None:
    """The span of a window covering this service at `at` that ends last, if any."""
    tag_set = set(tags)
    spans = [
        span
        for w in windows
        if w.covers(service_id, tag_set) and (span := w.span_at(at)) is not None
    ]
    return max(spans, key=lambda s: s[1]) if spans else None
