"""Incidents follow transitions (docs/architecture.md, "Transaction rules"): one opens in
the transaction of a transition into down and closes in the transaction of the next
transition to alive.

Called from `services.transitions.record_transitions` with the service rows already
locked by the writer, so "is one open?" and "open one" cannot interleave with another
writer; the partial unique index on open incidents backs that up.

The pages people read (and the count of open ones) are read here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.alerts import IncidentFacts
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import DOWN
from heartwatch.ids import new_id
from heartwatch.store import incidents as store

_OPENS = DOWN  # into down (or straight into dead): an outage began
_CLOSES = frozenset({Status.ALIVE})
# At most one incident is open per service (the partial unique index): this many is
# every open one, short of a registry of more services than that.
_OPEN_LIMIT = 100_000


def _failed_at_open(facts: Any) -> int:
    """Probes: the failed checks so far (the failing streak that crossed the threshold).
    A heartbeat service has no checks to count: 0, and the API leaves it out."""
    if is_probe(facts.type):
        return int(facts.streak_count) if facts.streak_up is False else 1
    return 0


async def _error_of(session: AsyncSession, facts: Any, at: datetime) -> str | None:
    """What went wrong, in the service's words: a probe's last error, or the body of
    the fail signal that turned a heartbeat service down (`/fail` with "disk full")."""
    if is_probe(facts.type):
        return str(facts.last_error) if facts.last_error else None
    if facts.failed_at != at:
        return None
    body = await store.fail_signal_body(session, facts.id, at)
    return body.strip()[:1000] or None if body else None


@dataclass(slots=True)
class _Open:
    id: uuid.UUID
    started_at: datetime
    row: dict[str, Any] | None  # set when opened in this batch (not yet stored)
    error: str | None


async def follow(
    session: AsyncSession, transitions: Sequence[dict[str, Any]]
) -> dict[uuid.UUID, IncidentFacts]:
    """Open and close incidents for transition rows (time order per service). Returns,
    per transition id, the incident it opened, closed or continued (for the alerts)."""
    relevant = [t for t in transitions if t["to_status"] in _OPENS | _CLOSES]
    if not relevant:
        return {}
    service_ids = {t["service_id"] for t in relevant}
    facts = await store.failure_facts(session, service_ids)
    stored = await store.open_incidents(session, list(service_ids))
    open_now = {sid: _Open(i.id, i.started_at, None, i.last_error) for sid, i in stored.items()}
    new: list[dict[str, Any]] = []
    closes: list[dict[str, Any]] = []
    told: dict[uuid.UUID, IncidentFacts] = {}
    for t in relevant:
        sid, at = t["service_id"], t["at"]
        if t["to_status"] in _OPENS:
            if sid in open_now:  # down -> dead: the same outage goes on
                going = open_now[sid]
                told[t["id"]] = IncidentFacts(str(going.id), going.started_at, None, going.error)
                continue
            if sid not in facts:
                continue
            error = await _error_of(session, facts[sid], at)
            row = {
                "id": new_id(),
                "service_id": sid,
                "started_at": at,
                "recovered_at": None,
                "resolved": False,
                "checks_failed_count": _failed_at_open(facts[sid]),
                "last_error": error or t["reason"],
                "opened_by": t["id"],
                "closed_by": None,
            }
            new.append(row)
            open_now[sid] = _Open(row["id"], at, row, row["last_error"])
            told[t["id"]] = IncidentFacts(str(row["id"]), at, None, row["last_error"])
        elif sid in open_now:
            incident = open_now.pop(sid)
            told[t["id"]] = IncidentFacts(str(incident.id), incident.started_at, at, incident.error)
            if incident.row is None:
                closes.append({"iid": incident.id, "recovered_at": at, "closed_by": t["id"]})
            else:  # opened and closed within this batch
                incident.row.update(recovered_at=at, resolved=True, closed_by=t["id"])
    # Closes first: a batch may close the stored incident and open the next one (a
    # recovery and a new outage in one group commit), and the partial unique index allows
    # one open incident per service at every statement, not only at the commit.
    await store.close_incidents(session, closes)
    await store.insert_incidents(session, new)
    return told


async def page(
    session: AsyncSession,
    *,
    service_id: uuid.UUID | None = None,
    service_key: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[Row[Any]]:
    """Incidents newest first (each with its `service_key`), of one service or all, that
    overlap [start, end] (an outage still going, or one that began before `start` and
    ended after it, is included); `before` is the (started_at, id) of the previous
    page's last."""
    return await store.incidents_page(
        session,
        service_id=service_id,
        service_key=service_key,
        start=start,
        end=end,
        before=before,
        limit=limit,
    )


async def open_now(session: AsyncSession) -> list[Row[Any]]:
    """Every open incident, newest first (each with its `service_key`)."""
    return await store.incidents_page(session, active_only=True, limit=_OPEN_LIMIT)


async def count_open(session: AsyncSession) -> int:
    """How many incidents are open now, across every service (counted in the database)."""
    return await store.count_open(session)
