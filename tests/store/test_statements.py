"""The compiled-once statements of the hot paths (plain DBAPI parameters, each value
through its column's own bind processor) and the transactions they run in, on both
backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Dialect, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.dialects.sqlite import aiosqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from heartwatch.ids import new_id
from heartwatch.store import heartbeats, probes, statements
from heartwatch.store.database import Database
from heartwatch.store.dialects.sqlite import BUSY_TIMEOUT_S
from heartwatch.store.heartbeats import HeartbeatExtend, HeartbeatWrite, NewHeartbeat
from heartwatch.store.models import AppState, CheckResult, SchedulerState, Service
from heartwatch.store.probes import NewCheckResult, NextRun, ProbeExtend, ProbeWrite
from heartwatch.store.statements import (
    NeedsSession,
    Prepared,
    Statement,
    StatementTx,
    statement_transaction,
    write_lean,
)
from heartwatch.store.tables import core_table
from heartwatch.store.types import UTCDateTime, sqlite_utc_text
from tests.conftest import T0


def test_prepared_params_are_each_value_through_its_own_bind_processor() -> None:
    """The batched parameter builder (all of a row's values at once, then only the values
    that need converting, times memoised per batch) gives what converting value by value
    with each column's own processor gives, in DBAPI order."""
    dialect = aiosqlite.dialect()
    statement = insert(core_table(CheckResult)).values(
        {c: bindparam(c) for c in NewCheckResult._fields}
    )
    prepared = Prepared(statement, dialect)
    at = datetime(2026, 1, 5, 12, 0, 0, 250, tzinfo=UTC)
    rows = [
        {
            "id": new_id(),
            "service_id": new_id(),
            "up": up,
            "latency_ms": 1.5,
            "http_status": 200,
            "error": None if up else "status 503 not in 200-399",
            "failed_assertion": None if up else "status",
            "detail": "ok",
            "attempts": 1,
            "scheduled_at": at,
            "started_at": at + timedelta(milliseconds=i),
            "checked_at": None if i == 1 else at + timedelta(seconds=1),
        }
        for i, up in enumerate([True, False, True])
    ]
    compiled = statement.compile(dialect=dialect)
    assert compiled.positiontup is not None
    expected = []
    for row in rows:
        values = []
        for name in compiled.positiontup:
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            values.append(row[name] if process is None else process(row[name]))
        expected.append(tuple(values))
    assert prepared.params(rows) == expected


def test_prepared_params_of_a_statement_with_one_parameter_or_none() -> None:
    dialect = aiosqlite.dialect()
    services = core_table(Service)
    prepared = Prepared(
        select(services.c.key).where(services.c.id == bindparam("sid", type_=services.c.id.type)),
        dialect,
    )
    sid = new_id()
    assert prepared.params([{"sid": sid}]) == [(sid.hex,)]
    assert Prepared(select(services.c.key), dialect).params([{}]) == [()]


def test_sqlite_times_are_formatted_directly() -> None:
    dialect = aiosqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)  # as a compiled statement has it
    assert statements._bind_processor(impl, dialect) is sqlite_utc_text


def test_ids_read_back_are_parsed_once_and_equal_to_the_parsed_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialect = aiosqlite.dialect()
    processor = Uuid().dialect_impl(dialect).result_processor(dialect, None)
    assert processor is not None
    parse = statements._result_processor(Uuid().dialect_impl(dialect), dialect, None)
    assert parse is not None
    a, b = new_id(), new_id()
    first = parse(a.hex)
    assert first == a == processor(a.hex)
    assert parse(a.hex) is first  # kept
    assert parse(None) is None
    monkeypatch.setattr(statements, "_MAX_KEPT_IDS", len(statements._kept_ids))
    assert parse(b.hex) == b  # one more than it may keep: what was kept is dropped
    assert parse(a.hex) == a and parse(a.hex) is not first


# A statement of the kind the hot paths declare, over a table of their own.
_app_state = core_table(AppState)


class _Note(NamedTuple):
    key: str
    value: str
    updated_at: datetime


_PUT_NOTE = Statement.inserting(_app_state, _Note._fields)


def _note(key: str = "a") -> _Note:
    return _Note(key, "x", T0)


async def _notes(db: Database) -> int:
    async with db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(AppState)) or 0)


async def test_a_statement_transaction_commits_at_the_end_and_rolls_back_on_error(
    database: Database,
) -> None:
    async with statement_transaction(database) as tx:
        await _PUT_NOTE.run(tx, [_note("a")])
    assert await _notes(database) == 1

    async def change_mind() -> None:
        async with statement_transaction(database) as tx:
            await _PUT_NOTE.run(tx, [_note("b")])
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await change_mind()
    assert await _notes(database) == 1
    # A statement the database refuses: rolled back, and the next transaction works.
    with pytest.raises(IntegrityError):
        async with statement_transaction(database) as tx:
            await _PUT_NOTE.run(tx, [_note("b"), _note("a")])
    async with statement_transaction(database) as tx:
        await _PUT_NOTE.run(tx, [_note("b")])
    assert await _notes(database) == 2


async def _hold_the_write_lock(
    db: Database, holding: asyncio.Event, release: asyncio.Event
) -> None:
    """Another writer: holds SQLite's write lock from `holding` until `release` (the
    event loop must keep running for it to let go)."""
    async with db.writing() as session:
        await session.execute(update(AppState).values(value="busy"))
        holding.set()
        await release.wait()


async def test_a_statement_transaction_cancelled_while_waiting_for_the_lock_leaves_none_open(
    sqlite_database: Database,
) -> None:
    """Cancelled while its BEGIN waits for the write lock in aiosqlite's thread (that BEGIN
    may still go through there): the connection is dropped, so no transaction is left
    open on it to block every other writer, and the next statement transaction works."""
    db = sqlite_database
    holding, release = asyncio.Event(), asyncio.Event()

    async def ingest() -> None:
        async with statement_transaction(db):
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
    async with statement_transaction(db) as tx:
        await _PUT_NOTE.run(tx, [_note()])
    async with db.writing() as session:  # the lock is free for everybody else too
        await session.execute(update(AppState).values(value="free"))
    assert await _notes(db) == 1


async def test_write_lean_runs_work_that_needs_a_session_again_in_one(
    database: Database,
) -> None:
    tries: list[bool] = []

    async def work(tx: StatementTx, session: AsyncSession | None) -> str:
        tries.append(session is not None)
        await _PUT_NOTE.run(tx, [_note()])
        if session is None:
            raise NeedsSession  # (even after a write: the try is rolled back)
        return "done"

    assert await write_lean(database, work) == "done"
    assert tries == [False, True]
    assert await _notes(database) == 1

    async def lean(tx: StatementTx, session: AsyncSession | None) -> None:
        tries.append(session is not None)

    await write_lean(database, lean)
    assert tries == [False, True, False]


async def test_a_statement_transaction_waits_for_the_write_lock_off_the_event_loop(
    sqlite_database: Database,
) -> None:
    """Another writer holds SQLite's write lock: ingest waits for it in aiosqlite's thread
    (with the busy timeout), and the event loop keeps running the writer meanwhile."""
    db = sqlite_database
    holding, release = asyncio.Event(), asyncio.Event()

    async def ingest() -> None:
        await holding.wait()
        async with statement_transaction(db) as tx:
            await _PUT_NOTE.run(tx, [_note()])

    writer = asyncio.create_task(_hold_the_write_lock(db, holding, release))
    ingesting = asyncio.create_task(ingest())
    await holding.wait()
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert not ingesting.done() and not writer.done()  # waiting, loop alive
    release.set()
    await asyncio.gather(writer, ingesting)
    assert await _notes(db) == 1
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


def _postgresql() -> Dialect:
    return asyncpg.dialect()  # type: ignore[no-untyped-call]


class _Slot(NamedTuple):
    """Fields in another order than the statement's parameters."""

    sid: uuid.UUID
    next_run_at: datetime
    owner: str


def test_typed_rows_give_the_parameters_their_values_by_name_give() -> None:
    dialect = aiosqlite.dialect()
    slots = core_table(SchedulerState)
    statement = (
        update(slots)
        .where(slots.c.lease_owner == bindparam("owner"), slots.c.service_id == bindparam("sid"))
        .values(statements.column_binds(["next_run_at"]))
    )
    by_name = Prepared(statement, dialect)
    typed = Prepared(statement, dialect, _Slot._fields)
    rows = [_Slot(new_id(), T0 + timedelta(seconds=i), "w") for i in range(3)]
    assert by_name.parameters == ("next_run_at", "owner", "sid")
    assert typed.params(rows) == by_name.params(r._asdict() for r in rows)
    with pytest.raises(ValueError, match="not fields of the row"):
        Prepared(statement, dialect, ("sid", "next_run_at"))


def test_a_statement_is_compiled_once_per_dialect_and_shape() -> None:
    built: list[int] = []

    def build(n: int) -> Any:
        built.append(n)
        return select(_app_state.c.value).where(
            _app_state.c.key.in_(statements.in_binds(_app_state.c.key, "k", n))
        )

    stmt = Statement(build)
    sqlite, pg = aiosqlite.dialect(), _postgresql()
    assert stmt.on(sqlite, 8) is stmt.on(sqlite, 8)
    assert stmt.on(sqlite, 16) is not stmt.on(sqlite, 8)
    assert stmt.on(pg, 8).sql != stmt.on(sqlite, 8).sql
    assert built == [8, 16, 8]
    assert stmt.on(sqlite, 8).params([statements.in_values("k", ["a", "b"], 8)]) == [
        ("a",) + ("b",) * 7
    ]


@pytest.mark.parametrize(
    ("statement", "row"),
    [
        (heartbeats._UPDATE, HeartbeatWrite),
        (heartbeats._EXTEND, HeartbeatExtend),
        (heartbeats._INSERT, NewHeartbeat),
        (probes._UPDATE, ProbeWrite),
        (probes._EXTEND, ProbeExtend),
        (probes._INSERT_RESULT, NewCheckResult),
        (probes._RESCHEDULE, NextRun),
    ],
)
@pytest.mark.parametrize("dialect", [aiosqlite.dialect(), _postgresql()])
def test_each_typed_write_row_is_its_statement(
    statement: Statement, row: type[tuple[Any, ...]], dialect: Dialect
) -> None:
    """Every field of the row is a parameter of its statement and the other way round:
    the columns it writes (and the row it names) are the row's fields, nothing else."""
    fields: tuple[str, ...] = row._fields  # type: ignore[attr-defined]
    assert sorted(statement.on(dialect).parameters) == sorted(fields)
