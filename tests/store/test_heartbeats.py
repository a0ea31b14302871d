"""Heartbeat ingest's statements (compiled once, plain DBAPI parameters) on both backends:
they must read and write exactly what the ORM reads and writes."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.heartbeats import new_service_row
from heartwatch.store import heartbeats as heartbeat_store
from heartwatch.store import services as service_store
from heartwatch.store.database import Database
from heartwatch.store.heartbeats import HeartbeatExtend, HeartbeatWrite, NewHeartbeat
from heartwatch.store.models import Heartbeat, Service
from heartwatch.store.statements import StatementTx
from tests.conftest import T0


async def _services(db: Database, keys: list[str]) -> None:
    async with db.writing() as session:
        session.add_all(Service(**new_service_row(k, T0)) for k in keys)


async def test_locked_rows_are_the_services_named_by_key_or_id(database: Database) -> None:
    keys = [f"svc-{i:02d}" for i in range(11)]
    await _services(database, keys)
    async with database.writing() as session:
        by_orm = {s.key: s for s in await service_store.lock_services(session, keys=keys, ids=[])}
        # 11 keys are padded to an IN list of 16; ids and keys may be mixed.
        ids = [by_orm["svc-03"].id, by_orm["svc-04"].id]
        rows = await heartbeat_store.lock_heartbeat_rows(
            await StatementTx.joining(session), keys=keys[5:], ids=ids
        )
        none = await heartbeat_store.lock_heartbeat_rows(
            await StatementTx.joining(session), keys=["nobody"], ids=[]
        )
    assert none == []
    assert [r.key for r in rows] == sorted(
        ["svc-03", "svc-04", *keys[5:]], key=lambda k: by_orm[k].id
    )
    for row in rows:
        orm = by_orm[row.key]
        assert (row.id, row.type, row.status, row.status_since) == (
            orm.id,
            "heartbeat",
            Status.UNKNOWN,
            T0,
        )
        assert row.status_since.tzinfo == UTC
        assert (row.recent_gaps, row.heartbeat_count, row.last_heartbeat_at) == ([], 0, None)


async def test_written_rows_read_back_through_the_orm(database: Database) -> None:
    await _services(database, ["a", "b"])
    moscow = timezone(timedelta(hours=3))
    at = (T0 + timedelta(seconds=90)).astimezone(moscow)  # any zone in, UTC stored
    async with database.writing() as session:
        rows = await heartbeat_store.lock_heartbeat_rows(
            await StatementTx.joining(session), keys=["a", "b"], ids=[]
        )
        await heartbeat_store.update_heartbeat_rows(
            await StatementTx.joining(session),
            [
                HeartbeatWrite(
                    sid=r.id,
                    status=Status.ALIVE,
                    status_since=at,
                    last_heartbeat_at=at,
                    failed_at=None,
                    expected_period_sec=30.0,
                    recent_gaps=[1.5, 2.0],
                    heartbeat_count=7,
                    next_deadline_at=at + timedelta(seconds=60),
                    last_start_at=None,
                    updated_at=at,
                )
                for r in rows
            ],
        )
        await heartbeat_store.insert_heartbeats(
            await StatementTx.joining(session),
            [
                NewHeartbeat(
                    id=new_id(),
                    service_id=rows[0].id,
                    received_at=at,
                    kind=Signal.FAIL,
                    # Outside text: a NUL would fail the whole statement on PostgreSQL.
                    body="log\x00tail",
                    source="127.0.0.1",
                    run_id="r\x001",
                    duration_ms=12.5,
                    latency_ms=None,
                )
            ],
        )
    async with database.reading() as session:
        services = list(await session.scalars(select(Service).order_by(Service.key)))
        (beat,) = await session.scalars(select(Heartbeat))
    for s in services:
        assert (s.status, s.status_since, s.last_heartbeat_at) == (Status.ALIVE, at, at)
        assert s.next_deadline_at == at + timedelta(seconds=60)
        assert (s.recent_gaps, s.heartbeat_count, s.expected_period_sec) == ([1.5, 2.0], 7, 30.0)
        assert s.updated_at == at and s.updated_at.tzinfo == UTC
    assert (beat.service_id, beat.received_at, beat.kind) == (rows[0].id, at, Signal.FAIL)
    assert (beat.body, beat.run_id, beat.duration_ms) == ("log\ufffdtail", "r\ufffd1", 12.5)
    # And the time columns compare as times (fixed UTC text on SQLite).
    deadline = T0 + timedelta(seconds=150)
    async with database.reading() as session:
        after = select(Service.key).where(Service.next_deadline_at > deadline - timedelta(0, 1))
        at_most = select(Service.key).where(Service.next_deadline_at > deadline)
        assert sorted(await session.scalars(after)) == ["a", "b"]
        assert list(await session.scalars(at_most)) == []


async def test_a_failing_statement_raises_what_sqlalchemy_would(database: Database) -> None:
    await _services(database, ["a"])
    row = _beat(new_id())  # no such service: the foreign key refuses it
    with pytest.raises(IntegrityError):
        async with database.writing() as session:
            await heartbeat_store.insert_heartbeats(await StatementTx.joining(session), [row])


async def test_extended_rows_change_only_the_columns_a_plain_ping_moves(
    database: Database,
) -> None:
    await _services(database, ["a"])
    at = T0 + timedelta(seconds=5)
    async with database.writing() as session:
        (row,) = await heartbeat_store.lock_heartbeat_rows(
            await StatementTx.joining(session), keys=["a"], ids=[]
        )
        values = HeartbeatExtend(
            sid=row.id,
            last_heartbeat_at=at,
            recent_gaps=[5.0],
            heartbeat_count=2,
            next_deadline_at=at + timedelta(seconds=10),
            updated_at=at,
        )
        await heartbeat_store.extend_heartbeat_rows(await StatementTx.joining(session), [values])
    async with database.reading() as session:
        (s,) = await session.scalars(select(Service))
    assert (s.last_heartbeat_at, s.recent_gaps, s.heartbeat_count) == (at, [5.0], 2)
    assert (s.next_deadline_at, s.updated_at) == (at + timedelta(seconds=10), at)
    assert (s.status, s.status_since, s.failed_at) == (Status.UNKNOWN, T0, None)


def _beat(service_id: uuid.UUID) -> NewHeartbeat:
    return NewHeartbeat(new_id(), service_id, T0, Signal.SUCCESS, None, None, None, None, None)
