"""Heartbeat ingest's statements: lock the services a batch of pings names, write their
new state, insert the heartbeats, find the start a run's end closes.

These run for every heartbeat (bench/ingest.py): compiled-once `Statement`s, run in a
`StatementTx` (see `store.statements`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, literal_column, select

from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.status import Status
from heartwatch.store.models import Heartbeat, Service
from heartwatch.store.services import by_key_or_id
from heartwatch.store.statements import (
    Compilable,
    Statement,
    StatementTx,
    in_binds,
    in_values,
    padded,
    select_of,
)
from heartwatch.store.tables import core_table

# Ingest's rows. Each field is its column: the statements are made from the fields.


@dataclass(slots=True)
class HeartbeatRow:
    """What heartbeat ingest reads of a service. (A dataclass: `lifecycle.state_of` reads
    it as it reads a `Service`.)"""

    id: uuid.UUID
    key: str
    type: str
    status: Status
    status_since: datetime
    last_heartbeat_at: datetime | None
    failed_at: datetime | None
    expected_period_sec: float | None
    recent_gaps: list[float]
    heartbeat_count: int
    last_start_at: datetime | None
    resume_on_ping: bool
    schedule: str | None
    timezone: str | None
    grace_sec: float | None
    early_tolerance_sec: float | None
    max_runtime_sec: float | None


_HEARTBEAT_ROW = tuple(f.name for f in fields(HeartbeatRow))


class HeartbeatWrite(NamedTuple):
    """A service's state as a batch of pings left it (`update_heartbeat_rows`)."""

    sid: uuid.UUID  # the service's id
    status: Status
    status_since: datetime
    last_heartbeat_at: datetime | None
    failed_at: datetime | None
    expected_period_sec: float | None
    recent_gaps: list[float]
    heartbeat_count: int
    next_deadline_at: datetime | None
    last_start_at: datetime | None
    updated_at: datetime


class HeartbeatExtend(NamedTuple):
    """What pings change when they leave their service's status, period, failure and run
    start as they were (nearly always): `extend_heartbeat_rows` writes only these."""

    sid: uuid.UUID  # the service's id
    last_heartbeat_at: datetime | None
    recent_gaps: list[float]
    heartbeat_count: int
    next_deadline_at: datetime | None
    updated_at: datetime


class NewHeartbeat(NamedTuple):
    """A `heartbeats` row (`insert_heartbeats`)."""

    id: uuid.UUID
    service_id: uuid.UUID
    received_at: datetime
    kind: Signal
    body: str | None
    source: str | None
    run_id: str | None
    duration_ms: float | None
    latency_ms: float | None


_services = core_table(Service)


def _lock(n_keys: int, n_ids: int) -> Compilable:
    where = by_key_or_id(in_binds(Service.key, "k", n_keys), in_binds(Service.id, "i", n_ids))
    return select_of(_services, _HEARTBEAT_ROW).where(where).order_by(Service.id).with_for_update()


_LOCK = Statement(_lock)


async def lock_heartbeat_rows(
    tx: StatementTx, *, keys: Sequence[str], ids: Sequence[uuid.UUID]
) -> list[HeartbeatRow]:
    """`services.lock_services`, as plain rows (the same rows, in the same order, locked
    alike)."""
    if not keys and not ids:
        return []
    n_keys, n_ids = padded(len(keys)), padded(len(ids))
    values = in_values("k", keys, n_keys) | in_values("i", ids, n_ids)
    return [HeartbeatRow(*row) for row in await _LOCK.fetch(tx, values, n_keys, n_ids)]


_UPDATE = Statement.updating(_services, HeartbeatWrite._fields)
_EXTEND = Statement.updating(_services, HeartbeatExtend._fields)
_INSERT = Statement.inserting(core_table(Heartbeat), NewHeartbeat._fields)


async def update_heartbeat_rows(tx: StatementTx, rows: Sequence[HeartbeatWrite]) -> None:
    """One executemany UPDATE for a batch."""
    await _UPDATE.run(tx, rows)


async def extend_heartbeat_rows(tx: StatementTx, rows: Sequence[HeartbeatExtend]) -> None:
    """`update_heartbeat_rows` of only what a plain ping moves."""
    await _EXTEND.run(tx, rows)


async def insert_heartbeats(tx: StatementTx, rows: Sequence[NewHeartbeat]) -> None:
    """One executemany INSERT of heartbeats."""
    await _INSERT.run(tx, rows)


_RUN_EVENTS = (Signal.START, Signal.SUCCESS, Signal.FAIL)
_RUN_EVENT_ROW: tuple[Any, ...] = (Heartbeat.kind, Heartbeat.received_at)


def _last_run_event(by_run_id: bool) -> Compilable:
    # (Every value a bind of its own, as a `Statement` wants them.)
    run_id = bindparam("rid", type_=Heartbeat.run_id.type)
    return (
        select(*_RUN_EVENT_ROW)
        .where(
            Heartbeat.service_id == bindparam("sid", type_=Heartbeat.service_id.type),
            Heartbeat.kind.in_(in_binds(Heartbeat.kind, "kind", len(_RUN_EVENTS))),
            Heartbeat.run_id == run_id if by_run_id else Heartbeat.run_id.is_(None),
        )
        .order_by(Heartbeat.received_at.desc())
        .limit(literal_column("1"))
        .offset(literal_column("0"))
    )


_LAST_RUN_EVENT = Statement(_last_run_event)


async def last_run_event(
    tx: StatementTx, service_id: uuid.UUID, run_id: str | None
) -> tuple[Signal, datetime] | None:
    """The latest start, success or failure of this run (run id, or none), if any."""
    values: dict[str, Any] = {"sid": service_id, "rid": run_id}
    values |= in_values("kind", _RUN_EVENTS, len(_RUN_EVENTS))
    rows = await _LAST_RUN_EVENT.fetch(tx, values, run_id is not None)
    return (Signal(rows[0][0]), rows[0][1]) if rows else None
