"""What the web dashboard shows: every service as a card on the overview, the counts per
status, and the version of that state (a digest of what the overview shows, so every
API process computes the same one and a dashboard can tell whether anything changed).

Statuses are as of `now` (services.lifecycle.as_of), as GET /services shows them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import HeartbeatRules, expected_period
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.snippets import hide
from heartwatch.domain.status import SEVERITY, Status
from heartwatch.domain.uptime import Change, StatusTimes, floor_day, segments
from heartwatch.services.lifecycle import as_of
from heartwatch.store import history
from heartwatch.store import listing as store

# Problems first: the worst status at the top; within one, the longest-standing first.
_ORDER = {
    Status.DEAD: 0,
    Status.DOWN: 1,
    Status.SILENT: 2,
    Status.UNKNOWN: 3,
    Status.ALIVE: 4,
    Status.PAUSED: 5,
}


@dataclass(frozen=True, slots=True)
class Card:
    """One service on the overview."""

    id: uuid.UUID
    key: str
    name: str
    type: str
    status: Status
    status_since: datetime
    last_heartbeat_at: datetime | None
    last_check_at: datetime | None
    last_latency_ms: float | None
    last_error: str | None  # hidden (domain.snippets.hide) unless `reveal`
    period_sec: float | None  # a probe's interval, a heartbeat service's expected period
    tags: tuple[str, ...]
    criticality: str

    @property
    def is_probe(self) -> bool:
        return is_probe(self.type)

    @property
    def is_problem(self) -> bool:
        return SEVERITY[self.status] > 0


def card_of(row: Any, rules: HeartbeatRules, now: datetime, reveal: bool) -> Card:
    """One service (an ORM row, or a listing row) as of `now`."""
    probe = is_probe(row.type)
    current = as_of(row, rules, now)
    return Card(
        id=row.id,
        key=row.key,
        name=row.name,
        type=row.type,
        status=current.status,
        status_since=current.status_since,
        last_heartbeat_at=row.last_heartbeat_at,
        last_check_at=row.last_check_at,
        last_latency_ms=row.last_latency_ms,
        last_error=row.last_error if reveal else hide(row.last_error),
        period_sec=row.check_interval_sec if probe else expected_period(current, rules),
        tags=tuple(row.tags or ()),
        criticality=row.criticality,
    )


async def cards(
    session: AsyncSession, rules: HeartbeatRules, now: datetime, *, reveal: bool
) -> list[Card]:
    """Every service as of `now`, problems first."""
    rows = await store.listing_rows(session, None)
    found = [card_of(row, rules, now, reveal) for _, row in rows]
    found.sort(key=lambda c: (_ORDER[c.status], c.status_since, c.key))
    return found


def counts(found: Iterable[Card]) -> Counter[Status]:
    return Counter(card.status for card in found)


@dataclass(frozen=True, slots=True)
class Filter:
    """The overview's filter (its query parameters): empty fields filter nothing."""

    status: Status | None = None
    tag: str = ""
    text: str = ""

    def keeps(self, card: Card) -> bool:
        if self.status is not None and card.status is not self.status:
            return False
        if self.tag and self.tag not in card.tags:
            return False
        if self.text:
            needle = self.text.casefold()
            return needle in card.key.casefold() or needle in card.name.casefold()
        return True


def all_tags(found: Iterable[Card]) -> list[str]:
    return sorted({tag for card in found for tag in card.tags})


def version(found: Sequence[Card]) -> str:
    """The state's version: changes when a service's status (or since when) changes, one
    is added or removed, or renamed; not on every heartbeat (the overview's "3 min ago"
    is kept fresh by the page itself)."""
    digest = hashlib.sha256()
    for card in sorted(found, key=lambda c: c.key):
        digest.update(
            f"{card.key}\x1f{card.name}\x1f{card.status.value}\x1f"
            f"{card.status_since.isoformat()}\x1e".encode()
        )
    return digest.hexdigest()[:16]


# --- the daily uptime bar -------------------------------------------------------------

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Day:
    """One UTC day of a service's history: time up and down (other statuses: neither)."""

    start: datetime
    up_s: float
    down_s: float

    @property
    def uptime_percent(self) -> float | None:
        observed = self.up_s + self.down_s
        return None if observed <= 0 else 100.0 * self.up_s / observed


def by_day(
    opening: Status,
    changes: Sequence[Change],
    start: datetime,
    end: datetime,
    born: datetime,
) -> list[Day]:
    """Up and down time of each day from `start` (midnight) until `end`, counting nothing
    before `born` (the service's creation)."""
    days = {start + i * DAY: StatusTimes() for i in range(ceil((end - start) / DAY))}
    for a, b, status in segments(opening, changes, start, end):
        a = max(a, born)
        while a < b:
            day = floor_day(a)
            piece_end = min(b, day + DAY)
            days[day].add(status, (piece_end - a).total_seconds())
            a = piece_end
    return [Day(day, t.up_s, t.down_s) for day, t in days.items()]


async def daily_uptime(
    session: AsyncSession, service_id: uuid.UUID, born: datetime, now: datetime, days: int = 90
) -> list[Day]:
    """The last `days` UTC days of a service (today's so far), oldest first: one
    statement over its raw transitions (kept forever)."""
    start = floor_day(now) - (days - 1) * DAY
    (found,) = await history.histories(session, [service_id], [(start, now)])
    opening, changes = found.get(service_id, (Status.UNKNOWN, []))
    return by_day(opening, changes, start, now, born)
