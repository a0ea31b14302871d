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
from typing import Any

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
    insert_of,
    padded,
    update_by_id,
)
from heartwatch.store.tables import core_table


@dataclass(slots=True)
class HeartbeatRow:
    """What heartbeat ingest reads of a service."""

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


HEARTBEAT_ROW = tuple(getattr(Service, f.name) for f in fields(HeartbeatRow))
# The services columns ingest writes: `update_heartbeat_rows` takes dicts of `sid` + these.
HEARTBEAT_WRITE = (
    "status",
    "status_since",
    "last_heartbeat_at",
    "failed_at",
    "expected_period_sec",
    "recent_gaps",
    "heartbeat_count",
    "next_deadline_at",
    "last_start_at",
    "updated_at",
)
# What a ping changes when it leaves its service's status, period, failure and run start
# as they were (nearly always): `extend_heartbeat_rows` writes only these.
HEARTBEAT_EXTEND = (
    "last_heartbeat_at",
    "recent_gaps",
    "heartbeat_count",
    "next_deadline_at",
    "updated_at",
)
# The heartbeats columns ingest writes: `insert_heartbeats` takes dicts of these.
HEARTBEAT_INSERT = (
    "id",
    "service_id",
    "received_at",
    "kind",
    "body",
    "source",
    "run_id",
    "duration_ms",
    "latency_ms",
)

_services = core_table(Service)


def _lock(n_keys: int, n_ids: int) -> Compilable:
    where = by_key_or_id(in_binds(Service.key, "k", n_keys), in_binds(Service.id, "i", n_ids))
    return select(*HEARTBEAT_ROW).where(where).order_by(Service.id).with_for_update()


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


_UPDATE = Statement(lambda: update_by_id(_services, ("sid", *HEARTBEAT_WRITE)))
_EXTEND = Statement(lambda: update_by_id(_services, ("sid", *HEARTBEAT_EXTEND)))
_INSERT = Statement(lambda: insert_of(core_table(Heartbeat), HEARTBEAT_INSERT))


async def update_heartbeat_rows(tx: StatementTx, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE for a batch; each dict has `sid` and HEARTBEAT_WRITE."""
    await _UPDATE.run(tx, rows)


async def extend_heartbeat_rows(tx: StatementTx, rows: list[dict[str, Any]]) -> None:
    """`update_heartbeat_rows` of HEARTBEAT_EXTEND only (each dict has `sid` and those):
    for services whose other HEARTBEAT_WRITE columns keep their values."""
    await _EXTEND.run(tx, rows)


async def insert_heartbeats(tx: StatementTx, rows: list[dict[str, Any]]) -> None:
    """One executemany INSERT of heartbeats rows (dicts of HEARTBEAT_INSERT)."""
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
