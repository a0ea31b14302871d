"""Heartbeat ingest: record pings, register unknown services, move statuses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.clock import Clock
from heartwatch.domain.heartbeat import HeartbeatRules, Signal, apply_signal, redeclare_period
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.group_commit import GroupCommit
from heartwatch.services.lifecycle import stage, state_of
from heartwatch.store import queries
from heartwatch.store.database import Database
from heartwatch.store.models import Heartbeat


@dataclass(frozen=True, slots=True)
class Ping:
    key: str
    signal: Signal
    received_at: datetime
    body: str | None = None
    source: str | None = None
    # A period the sender declares (e.g. the client SDK's interval), in seconds.
    period: float | None = None


@dataclass(frozen=True, slots=True)
class PingOutcome:
    service_id: uuid.UUID
    key: str
    status: Status
    received_at: datetime
    registered: bool


@dataclass(frozen=True, slots=True)
class UnknownService:
    key: str


def new_service_row(key: str, now: datetime, *, name: str | None = None) -> dict[str, Any]:
    return {
        "id": new_id(),
        "key": key,
        "name": name or key,
        "description": "",
        "type": "heartbeat",
        "created_at": now,
        "updated_at": now,
        "status": Status.UNKNOWN,
        "status_since": now,
        "recent_gaps": [],
        "heartbeat_count": 0,
    }


async def record_pings(
    session: AsyncSession,
    pings: Sequence[Ping],
    *,
    rules: HeartbeatRules,
    auto_register: bool,
    now: datetime,
) -> list[PingOutcome | UnknownService]:
    """Store a batch of pings in the caller's transaction; one outcome per ping, in order."""
    keys = sorted({p.key for p in pings})
    rows = {row.key: row for row in await queries.lock_services_by_key(session, keys)}
    missing = [k for k in keys if k not in rows]
    if missing and auto_register:
        first_seen = {p.key: p.received_at for p in reversed(pings)}
        await queries.insert_services_if_absent(
            session, [new_service_row(k, first_seen[k]) for k in missing]
        )
        rows.update((r.key, r) for r in await queries.lock_services_by_key(session, missing))

    newly_registered = {k for k in missing if k in rows}
    outcomes: list[PingOutcome | UnknownService] = []
    heartbeats: list[dict[str, Any]] = []
    for ping in pings:  # queue order is arrival order
        row = rows.get(ping.key)
        if row is None:
            outcomes.append(UnknownService(ping.key))
            continue
        at, period = ping.received_at, ping.period
        if period is not None and period != row.expected_period_sec:
            stage(session, row, redeclare_period(state_of(row), period, at, rules), rules, now)
        stage(session, row, apply_signal(state_of(row), ping.signal, at, rules), rules, now)
        row.updated_at = now
        heartbeats.append(
            {
                "id": new_id(),
                "service_id": row.id,
                "received_at": at,
                "kind": ping.signal,
                "body": ping.body,
                "source": ping.source,
            }
        )
        registered = ping.key in newly_registered
        newly_registered.discard(ping.key)  # only the first ping of a new key registered it
        outcomes.append(PingOutcome(row.id, row.key, Status(row.status), at, registered))
    if heartbeats:
        await session.execute(insert(Heartbeat), heartbeats)
    return outcomes


class HeartbeatIngest:
    """The API's entry point for pings: batches concurrent pings into shared transactions."""

    def __init__(
        self, db: Database, clock: Clock, rules: HeartbeatRules, *, auto_register: bool
    ) -> None:
        self._db = db
        self._clock = clock
        self._rules = rules
        self._auto_register = auto_register
        self._batcher: GroupCommit[Ping, PingOutcome | UnknownService] = GroupCommit(self._flush)

    async def record(self, ping: Ping) -> PingOutcome | UnknownService:
        return await self._batcher.submit(ping)

    async def _flush(self, pings: Sequence[Ping]) -> list[PingOutcome | UnknownService]:
        async with self._db.writing() as session:
            return await record_pings(
                session,
                pings,
                rules=self._rules,
                auto_register=self._auto_register,
                now=self._clock.now(),
            )
