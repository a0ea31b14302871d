"""The heartbeat ingest statements (compiled once, plain DBAPI parameters) on both backends:
they must read and write exactly what the ORM reads and writes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.dialects.sqlite import aiosqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.heartbeats import new_service_row
from heartwatch.store import queries
from heartwatch.store.database import Database
from heartwatch.store.dialects.sqlite import BUSY_TIMEOUT_S
from heartwatch.store.models import Heartbeat, Service
from heartwatch.store.types import UTCDateTime, sqlite_utc_text
from tests.conftest import T0


async def _services(db: Database, keys: list[str]) -> None:
    async with db.writing() as session:
        session.add_all(Service(**new_service_row(k, T0)) for k in keys)


async def test_locked_rows_are_the_services_named_by_key_or_id(database: Database) -> None:
    keys = [f"svc-{i:02d}" for i in range(11)]
    await _services(database, keys)
    async with database.writing() as session:
        by_orm = {s.key: s for s in await queries.lock_services(session, keys=keys, ids=[])}
        # 11 keys are padded to an IN list of 16; ids and keys may be mixed.
        ids = [by_orm["svc-03"].id, by_orm["svc-04"].id]
        rows = await queries.lock_heartbeat_rows(
            await queries.StatementTx.joining(session), keys=keys[5:], ids=ids
        )
        none = await queries.lock_heartbeat_rows(
            await queries.StatementTx.joining(session), keys=["nobody"], ids=[]
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
        rows = await queries.lock_heartbeat_rows(
            await queries.StatementTx.joining(session), keys=["a", "b"], ids=[]
        )
        await queries.update_heartbeat_rows(
            await queries.StatementTx.joining(session),
            [
                {
                    "sid": r.id,
                    "status": Status.ALIVE,
                    "status_since": at,
                    "last_heartbeat_at": at,
                    "failed_at": None,
                    "expected_period_sec": 30.0,
                    "recent_gaps": [1.5, 2.0],
                    "heartbeat_count": 7,
                    "next_deadline_at": at + timedelta(seconds=60),
                    "last_start_at": None,
                    "updated_at": at,
                }
                for r in rows
            ],
        )
        await queries.insert_heartbeats(
            await queries.StatementTx.joining(session),
            [
                {
                    "id": new_id(),
                    "service_id": rows[0].id,
                    "received_at": at,
                    "kind": Signal.FAIL,
                    # Outside text: a NUL would fail the whole statement on PostgreSQL.
                    "body": "log\x00tail",
                    "source": "127.0.0.1",
                    "run_id": "r\x001",
                    "duration_ms": 12.5,
                    "latency_ms": None,
                }
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
            await queries.insert_heartbeats(await queries.StatementTx.joining(session), [row])


async def test_extended_rows_change_only_the_columns_a_plain_ping_moves(
    database: Database,
) -> None:
    await _services(database, ["a"])
    at = T0 + timedelta(seconds=5)
    async with database.writing() as session:
        (row,) = await queries.lock_heartbeat_rows(
            await queries.StatementTx.joining(session), keys=["a"], ids=[]
        )
        values = {
            "sid": row.id,
            "last_heartbeat_at": at,
            "recent_gaps": [5.0],
            "heartbeat_count": 2,
            "next_deadline_at": at + timedelta(seconds=10),
            "updated_at": at,
            # Ignored: not HEARTBEAT_EXTEND.
            "status": Status.DOWN,
            "failed_at": at,
        }
        await queries.extend_heartbeat_rows(await queries.StatementTx.joining(session), [values])
    async with database.reading() as session:
        (s,) = await session.scalars(select(Service))
    assert (s.last_heartbeat_at, s.recent_gaps, s.heartbeat_count) == (at, [5.0], 2)
    assert (s.next_deadline_at, s.updated_at) == (at + timedelta(seconds=10), at)
    assert (s.status, s.status_since, s.failed_at) == (Status.UNKNOWN, T0, None)


@given(
    at=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    )
)
def test_sqlite_time_text_is_what_sqlalchemy_writes(at: datetime) -> None:
    dialect = aiosqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)  # as a compiled statement has it
    processor = impl.bind_processor(dialect)
    assert processor is not None
    assert sqlite_utc_text(at) == processor(at)
    assert queries._bind_processor(impl, dialect) is sqlite_utc_text


async def _beats(db: Database) -> int:
    async with db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(Heartbeat)) or 0)


def _beat(service_id: uuid.UUID) -> dict[str, object]:
    return {
        "id": new_id(),
        "service_id": service_id,
        "received_at": T0,
        "kind": Signal.SUCCESS,
        "body": None,
        "source": None,
        "run_id": None,
        "duration_ms": None,
        "latency_ms": None,
    }


async def test_a_statement_transaction_commits_at_the_end_and_rolls_back_on_error(
    database: Database,
) -> None:
    await _services(database, ["a"])
    async with queries.statement_transaction(database) as tx:
        (row,) = await queries.lock_heartbeat_rows(tx, keys=["a"], ids=[])
        await queries.insert_heartbeats(tx, [_beat(row.id)])
    assert await _beats(database) == 1

    async def change_mind() -> None:
        async with queries.statement_transaction(database) as tx:
            await queries.insert_heartbeats(tx, [_beat(row.id)])
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await change_mind()
    assert await _beats(database) == 1
    # A statement the database refuses: rolled back, and the next transaction works.
    with pytest.raises(IntegrityError):
        async with queries.statement_transaction(database) as tx:
            await queries.insert_heartbeats(tx, [_beat(row.id), _beat(new_id())])
    async with queries.statement_transaction(database) as tx:
        await queries.insert_heartbeats(tx, [_beat(row.id)])
    assert await _beats(database) == 2


async def _hold_the_write_lock(
    db: Database, holding: asyncio.Event, release: asyncio.Event
) -> None:
    """Another writer: holds SQLite's write lock from `holding` until `release` (the
    event loop must keep running for it to let go)."""
    async with db.writing() as session:
        await session.execute(update(Service).values(description="busy"))
        holding.set()
        await release.wait()


async def test_a_statement_transaction_cancelled_while_waiting_for_the_lock_leaves_none_open(
    sqlite_database: Database,
) -> None:
    """Cancelled while its BEGIN waits for the write lock in aiosqlite's thread (that BEGIN
    may still go through there): the connection is dropped, so no transaction is left
    open on it to block every other writer, and the next statement transaction works."""
    db = sqlite_database
    await _services(db, ["a"])
    holding, release = asyncio.Event(), asyncio.Event()

    async def ingest() -> None:
        async with queries.statement_transaction(db):
            raise AssertionError("cancelled while waiting for the lock: never here")

    writer = asyncio.create_task(_hold_the_write_lock(db, holding, release))
    await holding.wait()
    waiting = asyncio.create_task(ingest())
    await asyncio.sleep(0.05)  # waiting in aiosqlite's thread
    waiting.cancel()
    release.set()
    await writer
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with queries.statement_transaction(db) as tx:
        (row,) = await queries.lock_heartbeat_rows(tx, keys=["a"], ids=[])
        await queries.insert_heartbeats(tx, [_beat(row.id)])
    async with db.writing() as session:  # the lock is free for everybody else too
        await session.execute(update(Service).values(description="free"))
    assert await _beats(db) == 1


async def test_write_lean_runs_work_that_needs_a_session_again_in_one(
    database: Database,
) -> None:
    await _services(database, ["a"])
    tries: list[bool] = []

    async def work(tx: queries.StatementTx, session: AsyncSession | None) -> uuid.UUID:
        tries.append(session is not None)
        (row,) = await queries.lock_heartbeat_rows(tx, keys=["a"], ids=[])
        await queries.insert_heartbeats(tx, [_beat(row.id)])
        if session is None:
            raise queries.NeedsSession  # (even after a write: the try is rolled back)
        return row.id

    assert isinstance(await queries.write_lean(database, work), uuid.UUID)
    assert tries == [False, True]
    assert await _beats(database) == 1

    async def lean(tx: queries.StatementTx, session: AsyncSession | None) -> None:
        tries.append(session is not None)

    await queries.write_lean(database, lean)
    assert tries == [False, True, False]


async def test_a_statement_transaction_waits_for_the_write_lock_off_the_event_loop(
    sqlite_database: Database,
) -> None:
    """Another writer holds SQLite's write lock: ingest waits for it in aiosqlite's thread
    (with the busy timeout), and the event loop keeps running the writer meanwhile."""
    db = sqlite_database
    await _services(db, ["a"])
    holding, release = asyncio.Event(), asyncio.Event()

    async def ingest() -> None:
        await holding.wait()
        async with queries.statement_transaction(db) as tx:
            (row,) = await queries.lock_heartbeat_rows(tx, keys=["a"], ids=[])
            await queries.insert_heartbeats(tx, [_beat(row.id)])

    writer = asyncio.create_task(_hold_the_write_lock(db, holding, release))
    ingesting = asyncio.create_task(ingest())
    await holding.wait()
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert not ingesting.done() and not writer.done()  # waiting, loop alive
    release.set()
    await asyncio.gather(writer, ingesting)
    assert await _beats(db) == 1
    # The busy timeout on the connection is what it was before (a try without waiting is
    # made with none).
    async with db.write_connection() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        cursor = await raw.driver_connection.execute("PRAGMA busy_timeout")
        assert await cursor.fetchone() == (int(BUSY_TIMEOUT_S * 1000),)


async def test_the_kept_write_connection_is_one_user_at_a_time(database: Database) -> None:
    async with database.write_connection() as kept, database.write_connection() as other:
        assert other is not kept  # from the pool
    async with database.write_connection() as again:
        assert again is kept
    await database.dispose()
    assert kept.closed
    async with database.write_connection() as fresh:
        assert fresh is not kept and not fresh.closed
