"""Uptime as time, not as a count of checks (README, "Incidents and uptime").

A service's history is a step function: a status in force from each transition's stamp
until the next one. Over a window, each status gets the seconds it was in force. Up is
alive or silent (silent is a grace period, as in Healthchecks); down is down or dead;
unknown and paused carry no verdict and are left out of the denominator, as is time
before the service existed (the caller clips the window to its creation).

Everything here is exact arithmetic on the stamps: the rollups (per hour) and the raw
computation are the same function over different windows, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from heartwatch.domain.status import Status

UP = frozenset({Status.ALIVE, Status.SILENT})
DOWN = frozenset({Status.DOWN, Status.DEAD})
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Change:
    """From `at` on, the status is `to`."""

    at: datetime
    to: Status


@dataclass(slots=True)
class StatusTimes:
    """Seconds spent in each status; adds up over disjoint windows."""

    seconds: dict[Status, float] = field(default_factory=lambda: dict.fromkeys(Status, 0.0))

    @property
    def up_s(self) -> float:
        return sum(self.seconds[s] for s in UP)

    @property
    def down_s(self) -> float:
        return sum(self.seconds[s] for s in DOWN)

    @property
    def observed_s(self) -> float:
        return self.up_s + self.down_s

    @property
    def uptime_percent(self) -> float | None:
        """None when nothing was observed (a window of unknown or paused time only)."""
        observed = self.observed_s
        return None if observed <= 0 else 100.0 * self.up_s / observed

    def add(self, status: Status, seconds: float) -> None:
        self.seconds[status] += seconds

    def merge(self, other: StatusTimes) -> None:
        for status, seconds in other.seconds.items():
            self.seconds[status] += seconds


def segments(
    opening: Status, changes: Sequence[Change], start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, Status]]:
    """The steps of the history inside [start, end): (from, to, status), in time order.

    `opening` is the status in force at `start`; `changes` are the transitions stamped
    inside (start, end), sorted by time (ties in the order they were recorded). Changes
    outside the window are ignored, so callers may pass a superset."""
    status, since = opening, start
    for change in changes:
        if change.at <= start:
            status = change.to  # a change at the very start is in force from the start
            continue
        if change.at >= end:
            break
        if change.at > since:
            yield since, change.at, status
        status, since = change.to, change.at
    if end > since:
        yield since, end, status


def time_in_status(
    opening: Status, changes: Sequence[Change], start: datetime, end: datetime
) -> StatusTimes:
    times = StatusTimes()
    for a, b, status in segments(opening, changes, start, end):
        times.add(status, (b - a).total_seconds())
    return times


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + HOUR


def floor_day(at: datetime) -> datetime:
    """The start of `at`'s day, in `at`'s zone (UTC for every stored stamp)."""
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_day(at: datetime) -> datetime:
    floor = floor_day(at)
    return floor if floor == at else floor + DAY


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    """The hour starts h with [h, h+1h) inside [start, end); both ends on the hour."""
    h = start
    while h < end:
        yield h
        h += HOUR


def time_in_status_by_hour(
    opening: Status, changes: Sequence[Change], start: datetime, end: datetime
) -> dict[datetime, StatusTimes]:
    """`time_in_status` for every hour of [start, end) (hour-aligned bounds), one
    entry per hour, including hours with no change."""
    by_hour = {h: StatusTimes() for h in hours(start, end)}
    for a, b, status in segments(opening, changes, start, end):
        h = floor_hour(a)
        while h < b:
            piece_end = min(b, h + HOUR)
            by_hour[h].add(status, (piece_end - max(a, h)).total_seconds())
            h += HOUR
    return by_hour


def status_at(changes: Iterable[Change], at: datetime, before_any: Status) -> Status:
    """The status in force at `at` given the changes up to it (sorted)."""
    status = before_any
    for change in changes:
        if change.at > at:
            break
        status = change.to
    return status
