"""Public status pages: the rules that need no I/O — what a slug may be, a service's
uptime day by day (the 90-day bar), the words and icons a visitor sees, and the version
of a page's state that its ETag is made from."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from heartwatch.domain.badges import STATUS_COLORS, Color, uptime_color
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import DAY, UP, Change, StatusTimes, floor_day, segments

BAR_DAYS = 90
# Resolved incidents shown under the active ones: those that began this many days back.
RECENT_INCIDENT_DAYS = 14
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
_SLUG = re.compile(SLUG_PATTERN)


def valid_slug(slug: str) -> bool:
    """1-64 lowercase letters, digits and inner hyphens: safe in a URL as it is."""
    return _SLUG.match(slug) is not None


@dataclass(frozen=True, slots=True)
class DayCell:
    day: datetime  # the UTC day's start
    up_s: float
    down_s: float
    uptime_percent: float | None  # None: nothing observed that day (or not yet existed)
    color: Color


def bar_days(now: datetime, days: int = BAR_DAYS) -> tuple[datetime, datetime]:
    """[start, end) of the bar: `days` UTC days, today (up to `now`) the last."""
    return floor_day(now) - (days - 1) * DAY, now


def day_cells(
    opening: Status,
    changes: Sequence[Change],
    created_at: datetime,
    now: datetime,
    sla_target: float | None,
    days: int = BAR_DAYS,
) -> list[DayCell]:
    """One cell per UTC day of the bar, oldest first. Time before the service existed is
    no time at all (as in uptime reports)."""
    start, end = bar_days(now, days)
    by_day = {start + i * DAY: StatusTimes() for i in range(days)}
    for a, b, status in segments(opening, changes, max(start, created_at), end):
        day = floor_day(a)
        while day < b:
            piece_end = min(b, day + DAY)
            if day in by_day:
                by_day[day].add(status, (piece_end - max(a, day)).total_seconds())
            day += DAY
    cells = []
    for day, times in by_day.items():
        uptime = times.uptime_percent
        cells.append(
            DayCell(day, times.up_s, times.down_s, uptime, uptime_color(uptime, sla_target))
        )
    return cells


def cell_title(cell: DayCell) -> str:
    """The tooltip of a day: its uptime and its minutes up and down."""
    day = cell.day.strftime("%Y-%m-%d")
    if cell.uptime_percent is None:
        return f"{day}: no data"
    up_min, down_min = round(cell.up_s / 60), round(cell.down_s / 60)
    return f"{day}: {cell.uptime_percent:.2f}% up, {up_min} min up, {down_min} min down"


@dataclass(frozen=True, slots=True)
class Look:
    word: str
    icon: str
    color: Color


_LOOKS = {
    Status.ALIVE: Look("Operational", "✓", STATUS_COLORS[Status.ALIVE]),
    Status.SILENT: Look("Late", "!", STATUS_COLORS[Status.SILENT]),
    Status.DOWN: Look("Down", "✕", STATUS_COLORS[Status.DOWN]),
    Status.DEAD: Look("Down", "✕", STATUS_COLORS[Status.DEAD]),
    Status.UNKNOWN: Look("No data", "?", STATUS_COLORS[Status.UNKNOWN]),
    Status.PAUSED: Look("Paused", "‖", STATUS_COLORS[Status.PAUSED]),
}


def look_of(status: Status) -> Look:
    """Colour, icon and word: never colour alone."""
    return _LOOKS[status]


def overall(statuses: Iterable[Status]) -> Look:
    """The banner over the page: the worst of its services."""
    seen = set(statuses)
    if seen & {Status.DOWN, Status.DEAD}:
        return Look("Some services are down", "✕", Color.RED)
    if Status.SILENT in seen:
        return Look("Some services are late", "!", Color.YELLOW)
    if seen and seen <= UP | {Status.PAUSED, Status.UNKNOWN} and Status.ALIVE in seen:
        return Look("All services are operational", "✓", Color.GREEN)
    return Look("No data yet", "?", Color.GREY)


def moving(statuses: Iterable[Status]) -> bool:
    """Whether the page changes with time alone: today's down minutes grow while a
    service is down (or late), so its version must follow the clock too."""
    return any(s not in (Status.ALIVE, Status.PAUSED, Status.UNKNOWN) for s in statuses)


def state_version(parts: Iterable[object], now: datetime, statuses: Sequence[Status]) -> str:
    """An opaque version of what a page shows: its configuration and its services'
    current state (`parts`), the UTC day (the bar moves on at midnight and incidents age
    out), and while anything is down the minute too. Equal versions render equal pages,
    in any API process."""
    clock = floor_day(now) if not moving(statuses) else now.replace(second=0, microsecond=0)
    digest = hashlib.sha256(repr((tuple(parts), clock.isoformat())).encode())
    return digest.hexdigest()[:32]


def duration_text(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def ago(delta: timedelta) -> str:
    return duration_text(max(0.0, delta.total_seconds()))
