"""The store on both backends: schema, time handling, locking, cascades."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Integer, String, Uuid, column, func, insert, select, table

from heartwatch.domain.status import Status
from heartwatch.services.heartbeats import new_service_row
from heartwatch.store import history_pages
from heartwatch.store import services as service_store
from heartwatch.store.database import Database
from heartwatch.store.migrate import SchemaOutOfDate, ensure_current, upgrade
from heartwatch.store.models import Heartbeat, Service, StateTransition
from heartwatch.store.types import UTCDateTime
from tests.conftest import T0, create_pg_database, drop_pg_database


async def _add_service(db: Database, key: str, now: datetime = T0) -> Service:
    async with db.writing() as session:
        row = Service(**new_service_row(key, now))
        session.add(row)
    return row


async def test_migrated_schema_is_current(database: Database) -> None:
    await ensure_current(database)


async def test_unmigrated_database_is_refused_with_a_clear_message(tmp_path: object) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    try:
        with pytest.raises(SchemaOutOfDate, match="heartwatch migrate"):
            await ensure_current(db)
    finally:
        await db.dispose()


async def test_times_come_back_aware_utc_whatever_zone_went_in(database: Database) -> None:
    moscow = timezone(timedelta(hours=3))
    local = datetime(2026, 3, 1, 15, 30, 0, 123456, tzinfo=moscow)
    row = await _add_service(database, "tz", now=local)
    async with database.reading() as session:
        loaded = await session.get(Service, row.id)
    assert loaded is not None
    assert loaded.created_at == local
    assert loaded.created_at.tzinfo == UTC
    assert loaded.created_at.hour == 12


async def test_naive_datetimes_are_rejected(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await _add_service(database, "naive", now=datetime(2026, 1, 1))


async def test_time_range_queries_compare_as_times(database: Database) -> None:
    """On SQLite times are text: they must sort as times (fixed format, all UTC)."""
    row = await _add_service(database, "range")
    async with database.writing() as session:
        for offset in (0, 9, 10, 11, 100_000):
            session.add(
                Heartbeat(
                    service_id=row.id,
                    received_at=T0 + timedelta(seconds=offset, microseconds=offset),
                    kind="success",
                )
            )
    async with database.reading() as session:
        page = await history_pages.history_page(
            session,
            Heartbeat,
            row.id,
            start=T0 + timedelta(seconds=9),
            end=T0 + timedelta(seconds=11, microseconds=11),
            before=None,
            limit=10,
        )
    assert [h.received_at for h in page] == [
        T0 + timedelta(seconds=s, microseconds=s) for s in (11, 10, 9)
    ]


async def test_deleting_a_service_deletes_its_history(database: Database) -> None:
    row = await _add_service(database, "gone")
    async with database.writing() as session:
        session.add(Heartbeat(service_id=row.id, received_at=T0, kind="success"))
        session.add(
            StateTransition(
                service_id=row.id,
                from_status=Status.UNKNOWN,
                to_status=Status.ALIVE,
                at=T0,
                detected_at=T0,
            )
        )
    async with database.writing() as session:
        loaded = await session.get(Service, row.id)
        await session.delete(loaded)
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Heartbeat)) == 0
        assert await session.scalar(select(func.count()).select_from(StateTransition)) == 0


async def test_insert_if_absent_leaves_an_existing_key_alone(database: Database) -> None:
    original = await _add_service(database, "dup")
    async with database.writing() as session:
        await service_store.insert_services_if_absent(
            session, [new_service_row("dup", T0 + timedelta(days=1)), new_service_row("new", T0)]
        )
    async with database.reading() as session:
        rows = {r.key: r for r in await service_store.list_services(session)}
    assert rows["dup"].id == original.id
    assert rows["dup"].created_at == T0
    assert set(rows) == {"dup", "new"}


async def test_a_key_that_looks_like_a_uuid_still_finds_its_service(database: Database) -> None:
    other = await _add_service(database, "plain")
    tricky = await _add_service(database, str(other.id))
    async with database.reading() as session:
        by_id = await service_store.find_service(session, str(other.id))
        by_key = await service_store.find_service(session, str(tricky.id))
    assert by_id is not None and by_id.key == "plain"  # the id wins over the key
    assert by_key is not None and by_key.id == tricky.id


async def test_concurrent_read_then_write_transactions_never_see_database_locked(
    database: Database,
) -> None:
    """API and worker writing at once: every transaction reads, then writes. On SQLite a
    deferred transaction would fail with "database is locked"; BEGIN IMMEDIATE queues.
    On PostgreSQL the row lock the application takes does the same: no lost update."""
    row = await _add_service(database, "counter")

    async def bump() -> None:
        async with database.writing() as session:
            loaded = await session.get(Service, row.id, with_for_update=True)
            assert loaded is not None
            await asyncio.sleep(0)  # let the others start their transactions too
            loaded.heartbeat_count += 1

    await asyncio.gather(*(bump() for _ in range(40)))
    async with database.reading() as session:
        loaded = await session.get(Service, row.id)
    assert loaded is not None and loaded.heartbeat_count == 40


async def test_readers_are_not_blocked_by_an_open_write(database: Database) -> None:
    await _add_service(database, "r")
    async with database.writing() as writer:
        writer.add(Service(**new_service_row("w", T0)))
        await writer.flush()
        async with database.reading() as reader:
            keys = [r.key for r in await service_store.list_services(reader)]
    assert keys == ["r"]  # the uncommitted row is invisible, and the read did not wait


async def test_upgrading_a_populated_database_keeps_its_rows(db_url: str, backend: str) -> None:
    """Each migration must work on a database with data in it, not only an empty one."""
    if backend == "postgresql":
        url = await asyncio.to_thread(create_pg_database, "hw_migrate")
    else:
        url = db_url.replace("heartwatch.db", "populated.db")
    db = Database(url)
    try:
        await upgrade(db, "0002")
        # Only the columns revision 0002 has: today's model would name newer ones.
        old_services = table(
            "services",
            column("id", Uuid),
            column("key", String),
            column("name", String),
            column("description", String),
            column("type", String),
            column("created_at", UTCDateTime),
            column("updated_at", UTCDateTime),
            column("status", String),
            column("status_since", UTCDateTime),
            column("recent_gaps", JSON),
            column("heartbeat_count", Integer),
        )
        row_values = {k: v for k, v in new_service_row("old", T0).items() if k in old_services.c}
        row_values["status"] = "unknown"
        async with db.writing() as session:
            await session.execute(insert(old_services), [row_values])
        await upgrade(db)
        async with db.reading() as session:
            row = await service_store.find_service(session, "old")
        assert row is not None
        assert (row.criticality, row.tags, row.retry_count, row.check_settings) == (
            "medium",
            [],
            0,
            {},
        )
    finally:
        await db.dispose()
        if backend == "postgresql":
            await asyncio.to_thread(drop_pg_database, url)
