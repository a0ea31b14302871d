"""Every service as a listing shows it (GET /services), remade only where a row changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.status import Status
from heartwatch.store import listing as store


@dataclass(frozen=True, slots=True)
class Shown:
    """One service as the listing renders it (the caller's format)."""

    body: bytes
    status: Status  # as shown, as of the moment it was made (what `?status=` filters on)
    until: datetime | None  # the next moment its as-of view changes (its next deadline)
    tags: tuple[str, ...] = ()  # (what `?tag=` filters on)


# Renders a row of store.listing.LISTING_COLUMNS as of `now`.
Render = Callable[[Row[Any], HeartbeatRules, datetime], Shown]


@dataclass(frozen=True, slots=True)
class _View:
    """One service as a listing showed it, and for how long that stays true."""

    fingerprint: tuple[Any, ...]  # of the row it was made from (store.listing)
    rules: HeartbeatRules
    since: datetime  # the moment it was made as of...
    until: datetime | None  # ...and the next moment its as-of view changes (a deadline)
    status: Status
    body: bytes
    tags: tuple[str, ...]

    def holds(self, fingerprint: tuple[Any, ...], rules: HeartbeatRules, now: datetime) -> bool:
        return (
            self.fingerprint == fingerprint
            and (self.rules is rules or self.rules == rules)
            and self.since <= now
            and (self.until is None or now < self.until)
        )


class ServiceListing:
    """GET /services shows every service; between two calls hardly any of them change.
    Each service's rendering is kept with the row it was made from, and is shown again
    while that row is unchanged and `now` has not reached the service's next deadline
    (before it, the as-of view cannot move): only changed rows are read converted and
    rendered again. That made a listing of 1,000 services several times cheaper
    (bench/api_latency.py). When most rows change between calls (probes checked more
    often than the list is read), it reads them all converted at once instead, as a
    listing without views would, with their fingerprints: such a call costs a few percent
    more than one without views. A memo of a pure function (`render`), so one per app is
    safe (`create_app` makes it; it lives in `app.state`, not in a module global); it
    keeps only the services of the latest call."""

    def __init__(self, render: Render) -> None:
        self._render = render
        self._views: dict[str, _View] = {}
        # Most views were rebuilt last time (a first call, or rows that change between
        # every two calls): then read every row converted at once, not fingerprints first.
        self._mostly_rebuilt = True

    async def json(
        self,
        session: AsyncSession,
        rules: HeartbeatRules,
        now: datetime,
        status: Status | None,
        tag: str | None = None,
    ) -> bytes:
        """A JSON array of every service (by key) as of `now`; with `status`, of those
        whose status as shown is that; with `tag`, of those tagged so."""
        kept: dict[str, _View] = self._views
        views: dict[str, _View] = {}
        if self._mostly_rebuilt:
            rows = await store.listing_rows(session, None)
            keys = [row.key for _, row in rows]
        else:
            fingerprints = await store.listing_fingerprints(session)
            keys = [key for key, _ in fingerprints]
            stale = []
            for key, fp in fingerprints:
                view = kept.get(key)
                if view is not None and view.holds(fp, rules, now):
                    views[key] = view
                else:
                    stale.append(key)
            rows = await store.listing_rows(session, stale) if stale else []
        rebuilt = 0
        for fingerprint, row in rows:
            view = kept.get(row.key)
            if view is None or not view.holds(fingerprint, rules, now):
                shown = self._render(row, rules, now)
                view = _View(
                    fingerprint, rules, now, shown.until, shown.status, shown.body, shown.tags
                )
                rebuilt += 1
            views[row.key] = view
        self._views = views
        self._mostly_rebuilt = rebuilt > len(keys) // 2
        # (In the order read; a service deleted in between is left out.)
        parts = [
            view.body
            for key in keys
            if (view := views.get(key)) is not None
            and (status is None or view.status is status)
            and (tag is None or tag in view.tags)
        ]
        return b"[" + b",".join(parts) + b"]"
