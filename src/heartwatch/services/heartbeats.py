"""Heartbeat ingest: record pings, register unknown services, move statuses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.clock import Clock
from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    Signal,
    Step,
    Transition,
    deadline_in,
    hint,
    receive,
    redeclare_period,
    schedule,
)
from heartwatch.domain.service_types import ServiceType, is_probe
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.group_commit import GroupCommit
from heartwatch.services.lifecycle import state_columns, state_of, transition_values
from heartwatch.services.transitions import record_transitions
from heartwatch.store import heartbeats as heartbeat_store
from heartwatch.store import services as service_store
from heartwatch.store import statements
from heartwatch.store.database import Database
from heartwatch.store.heartbeats import HeartbeatExtend, HeartbeatRow, HeartbeatWrite, NewHeartbeat


@dataclass(frozen=True, slots=True)
class Ping:
    """One report from a service, addressed by its key or (Healthchecks, Kuma) its id."""

    signal: Signal
    received_at: datetime
    key: str | None = None
    service_id: uuid.UUID | None = None
    body: str | None = None
    source: str | None = None
    # A period the sender declares (e.g. the client SDK's interval), in seconds.
    period: float | None = None
    # Pairs a start with its success or failure (Healthchecks' `rid`).
    run_id: str | None = None
    # Latency the sender measured (Uptime Kuma's `ping`).
    latency_ms: float | None = None
    # Register an unknown key: True/False, or None for the server's default.
    create: bool | None = None

    def __post_init__(self) -> None:
        if (self.key is None) == (self.service_id is None):
            raise ValueError("a ping names its service by key or by id, not both")


@dataclass(frozen=True, slots=True)
class PingOutcome:
    service_id: uuid.UUID
    key: str
    status: Status
    received_at: datetime
    registered: bool
    duration_ms: float | None = None
    # What the status needs explained (domain.heartbeat.hint), if anything.
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class UnknownService:
    ident: str


@dataclass(frozen=True, slots=True)
class ServicesFull(UnknownService):
    """An unknown key that auto-registration would have registered, had there not been
    `cap` services already."""

    cap: int = 0


def new_service_row(key: str, now: datetime, *, name: str | None = None) -> dict[str, Any]:
    return {
        "id": new_id(),
        "key": key,
        "name": name or key,
        "description": "",
        "type": ServiceType.HEARTBEAT,
        "created_at": now,
        "updated_at": now,
        "status": Status.UNKNOWN,
        "status_since": now,
        "recent_gaps": [],
        "heartbeat_count": 0,
    }


@dataclass(slots=True)
class _Target:
    """One service of a batch, as it evolves through the batch's pings."""

    id: uuid.UUID
    key: str
    probe: bool
    state: HeartbeatState
    last_start_at: datetime | None
    row: HeartbeatRow  # as read
    touched: bool = False
    # `schedule(state, rules)`, when the rules just worked it out.
    steps: list[Step] | None = None


def _target(row: HeartbeatRow) -> _Target:
    return _Target(row.id, row.key, is_probe(row.type), state_of(row), row.last_start_at, row)


async def _lock_targets(
    tx: statements.StatementTx,
    session: AsyncSession | None,
    pings: Sequence[Ping],
    auto_register: bool,
    max_services: int | None,
) -> tuple[dict[str, _Target], dict[uuid.UUID, _Target], set[str], set[str]]:
    """Lock every service the batch names, registering new keys where allowed: while
    there are fewer than `max_services` services, in the order the batch first names
    them. Returns the services by key and by id, the keys registered, and the keys
    refused for want of room."""
    keys = sorted({p.key for p in pings if p.key is not None})
    ids = sorted({p.service_id for p in pings if p.service_id is not None})
    locked = [_target(r) for r in await heartbeat_store.lock_heartbeat_rows(tx, keys=keys, ids=ids)]
    by_key = {t.key: t for t in locked}
    creatable = {
        p.key
        for p in pings
        if p.key is not None
        and p.key not in by_key
        and (p.create if p.create is not None else auto_register)
    }
    full: set[str] = set()
    if creatable:
        if session is None:
            raise statements.NeedsSession
        first_seen: dict[str, datetime] = {}
        for p in pings:
            if p.key in creatable:
                first_seen.setdefault(p.key, p.received_at)
        if max_services is not None:
            # Counted only here, when a batch registers: a ping to a known service
            # never pays for it. (Concurrent processes may overshoot by a batch each.)
            room = max(0, max_services - await service_store.count_services(session))
            if room < len(first_seen):
                kept = dict(list(first_seen.items())[:room])
                full = first_seen.keys() - kept.keys()
                creatable -= full
                first_seen = kept
        if not first_seen:
            return by_key, {t.id: t for t in locked}, set(), full
        await service_store.insert_services_if_absent(
            session, [new_service_row(k, at) for k, at in sorted(first_seen.items())]
        )
        rows = await heartbeat_store.lock_heartbeat_rows(tx, keys=sorted(creatable), ids=[])
        fresh = [_target(r) for r in rows]
        locked += fresh
        by_key.update((t.key, t) for t in fresh)
    return by_key, {t.id: t for t in locked}, creatable & by_key.keys(), full


class _Runs:
    """Finds the start a success or failure closes, to record how long the run took."""

    def __init__(self, tx: statements.StatementTx) -> None:
        self._tx = tx
        # Events of this batch, not yet in the table: (service, run id) -> (kind, at).
        self._latest: dict[tuple[uuid.UUID, str | None], tuple[Signal, datetime]] = {}

    async def duration_ms(self, target: _Target, ping: Ping) -> float | None:
        slot = (target.id, ping.run_id)
        previous = self._latest.get(slot)
        if ping.signal in (Signal.START, Signal.SUCCESS, Signal.FAIL):
            self._latest[slot] = (ping.signal, ping.received_at)
        if ping.signal not in (Signal.SUCCESS, Signal.FAIL) or target.last_start_at is None:
            return None  # most services never send a start: no lookup for them
        if previous is None:
            previous = await heartbeat_store.last_run_event(self._tx, target.id, ping.run_id)
        if previous is None or previous[0] is not Signal.START:
            return None
        return max(0.0, (ping.received_at - previous[1]).total_seconds() * 1000)


def _apply(target: _Target, ping: Ping, rules: HeartbeatRules) -> list[Transition]:
    """The status rules for one ping (a probe service's status is its checks' business:
    a ping to it is recorded, nothing more)."""
    if target.probe:
        return []
    at = ping.received_at
    transitions: list[Transition] = []
    # A scheduled service keeps its schedule: a sender's ?period= does not replace it.
    if (
        ping.period is not None
        and ping.period != target.state.declared_period
        and target.state.cron is None
    ):
        target.state, transitions = redeclare_period(target.state, ping.period, at, rules)
    target.state, more, target.steps = receive(target.state, ping.signal, at, rules)
    return transitions + more if transitions else more


async def record_pings(
    session: AsyncSession,
    pings: Sequence[Ping],
    *,
    rules: HeartbeatRules,
    auto_register: bool,
    now: datetime,
    max_services: int | None = None,
) -> list[PingOutcome | UnknownService]:
    """Store a batch of pings in the caller's transaction; one outcome per ping, in order.
    Each service is read once and written once per batch, however many pings it got."""
    tx = await statements.StatementTx.joining(session)
    return await _record(
        tx,
        session,
        pings,
        rules=rules,
        auto_register=auto_register,
        now=now,
        max_services=max_services,
    )


async def _record(
    tx: statements.StatementTx,
    session: AsyncSession | None,
    pings: Sequence[Ping],
    *,
    rules: HeartbeatRules,
    auto_register: bool,
    now: datetime,
    max_services: int | None,
) -> list[PingOutcome | UnknownService]:
    """`record_pings` in `tx`. Without a session (`statements.write_lean`) it raises
    `statements.NeedsSession`, before writing anything, for a batch that registers a service
    or records a transition."""
    by_key, by_id, registered_now, full = await _lock_targets(
        tx, session, pings, auto_register, max_services
    )
    runs = _Runs(tx)
    outcomes: list[PingOutcome | UnknownService] = []
    heartbeats: list[NewHeartbeat] = []
    transitions: list[dict[str, Any]] = []
    for ping in pings:  # queue order is arrival order
        target = by_key.get(ping.key) if ping.key is not None else None
        if ping.service_id is not None:
            target = by_id.get(ping.service_id)
        if target is None:
            if ping.key in full and max_services is not None:
                outcomes.append(ServicesFull(ping.key, max_services))
            else:
                outcomes.append(UnknownService(ping.key or str(ping.service_id)))
            continue
        at = ping.received_at
        duration = await runs.duration_ms(target, ping)
        changes = _apply(target, ping, rules)
        if changes:
            if session is None:
                raise statements.NeedsSession
            transitions += transition_values(target.id, changes, now)
        if target.probe:
            target.state = replace(target.state, heartbeat_count=target.state.heartbeat_count + 1)
        if ping.signal is Signal.START:
            target.last_start_at = at
        target.touched = True
        # (Positional, here and in the service's row: cheaper than by keyword, per ping.)
        heartbeats.append(
            NewHeartbeat(
                new_id(),
                target.id,
                at,  # received_at
                ping.signal,
                ping.body,
                ping.source,
                ping.run_id,
                duration,
                ping.latency_ms,
            )
        )
        registered = target.key in registered_now
        registered_now.discard(target.key)  # only the first ping of a new key registered it
        outcomes.append(
            PingOutcome(
                target.id,
                target.key,
                target.state.status,
                at,
                registered,
                duration,
                None if target.probe else hint(target.state, rules),
            )
        )
    rows = [_columns(t, rules, now) for t in by_id.values() if t.touched]
    await heartbeat_store.update_heartbeat_rows(
        tx, [r for r in rows if isinstance(r, HeartbeatWrite)]
    )
    await heartbeat_store.extend_heartbeat_rows(
        tx, [r for r in rows if isinstance(r, HeartbeatExtend)]
    )
    await heartbeat_store.insert_heartbeats(tx, heartbeats)
    if session is not None:
        await record_transitions(session, transitions)
    return outcomes


def _columns(
    target: _Target, rules: HeartbeatRules, now: datetime
) -> HeartbeatWrite | HeartbeatExtend:
    """What to write of a service: `lifecycle.state_columns` with its last start, with the
    next deadline taken from the schedule the rules just walked if they did; or only what
    a plain ping moves, when the other columns keep the values read."""
    state, row = target.state, target.row
    steps = target.steps if target.steps is not None else schedule(state, rules)
    if (
        state.status != row.status
        or state.status_since != row.status_since
        or state.failed_at != row.failed_at
        or state.declared_period != row.expected_period_sec
        or target.last_start_at != row.last_start_at
    ):
        return HeartbeatWrite(
            sid=target.id,
            **state_columns(state, rules, now, steps),
            last_start_at=target.last_start_at,
            updated_at=now,
        )
    return HeartbeatExtend(
        target.id,
        state.last_heartbeat_at,
        list(state.recent_gaps),
        state.heartbeat_count,
        deadline_in(steps, now),  # next_deadline_at
        now,  # updated_at
    )


class HeartbeatIngest:
    """The API's entry point for pings: batches concurrent pings into shared transactions."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        rules: HeartbeatRules,
        *,
        auto_register: bool,
        max_services: int | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._rules = rules
        self._auto_register = auto_register
        # At most this many services, as far as auto-registration is concerned.
        self.max_services = max_services
        self._batcher: GroupCommit[Ping, PingOutcome | UnknownService] = GroupCommit(self._flush)

    async def record(self, ping: Ping) -> PingOutcome | UnknownService:
        return await self._batcher.submit(ping)

    async def _flush(self, pings: Sequence[Ping]) -> list[PingOutcome | UnknownService]:
        now = self._clock.now()
        rules, auto_register, cap = self._rules, self._auto_register, self.max_services

        async def record(
            tx: statements.StatementTx, session: AsyncSession | None
        ) -> list[PingOutcome | UnknownService]:
            return await _record(
                tx,
                session,
                pings,
                rules=rules,
                auto_register=auto_register,
                now=now,
                max_services=cap,
            )

        return await statements.write_lean(self._db, record)
