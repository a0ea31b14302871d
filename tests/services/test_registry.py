"""Registering, editing and removing services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.keys import InvalidKey
from heartwatch.domain.status import Status
from heartwatch.services import registry
from heartwatch.services.errors import Conflict, Invalid, NotFound
from heartwatch.store.database import Database
from tests.conftest import T0

RULES = HeartbeatRules()


async def create(db: Database, key: str, period: float | None = None) -> None:
    async with db.writing() as session:
        await registry.create_service(
            session, key=key, name=None, description="", expected_period_sec=period, now=T0
        )


async def update(
    db: Database, key: str, changes: registry.ServiceChanges, minutes: float = 0
) -> None:
    async with db.writing() as session:
        await registry.update_service(
            session, key, changes, rules=RULES, now=T0 + timedelta(minutes=minutes)
        )


async def get(db: Database, ident: str) -> tuple[str, Status]:
    async with db.reading() as session:
        row = await registry.get_service(session, ident)
        return row.key, row.status


async def test_duplicate_key_is_a_conflict(database: Database) -> None:
    await create(database, "dup")
    with pytest.raises(Conflict):
        await create(database, "dup")


async def test_bad_key_is_refused(database: Database) -> None:
    with pytest.raises(InvalidKey, match="letters, digits"):
        await create(database, "no spaces")


async def test_rename_keeps_the_service_and_refuses_a_taken_key(database: Database) -> None:
    await create(database, "old")
    await create(database, "taken")
    with pytest.raises(Conflict):
        await update(database, "old", registry.ServiceChanges(key="taken"))
    await update(database, "old", registry.ServiceChanges(key="new"))
    assert (await get(database, "new"))[0] == "new"
    with pytest.raises(NotFound):
        await get(database, "old")


async def test_pause_and_resume_record_transitions(database: Database) -> None:
    await create(database, "p", period=60)
    await update(database, "p", registry.ServiceChanges(paused=True))
    assert (await get(database, "p"))[1] is Status.PAUSED
    await update(database, "p", registry.ServiceChanges(paused=False), minutes=5)
    # Never heard from: back to unknown, not straight to a verdict.
    assert (await get(database, "p"))[1] is Status.UNKNOWN
    async with database.reading() as session:
        changes = await registry.state_history(
            session, service_key="p", start=None, end=None, limit=10
        )
    assert [(t.from_status, t.to_status) for t, _ in reversed(changes)] == [
        (Status.UNKNOWN, Status.PAUSED),
        (Status.PAUSED, Status.UNKNOWN),
    ]


async def test_delete_then_get_is_not_found(database: Database) -> None:
    await create(database, "bye")
    async with database.writing() as session:
        await registry.delete_service(session, "bye")
    with pytest.raises(NotFound):
        await get(database, "bye")
    async with database.writing() as session:
        with pytest.raises(NotFound):
            await registry.delete_service(session, "bye")


async def test_declaring_a_period_keeps_a_paused_service_paused(database: Database) -> None:
    await create(database, "resting", period=60)
    await update(database, "resting", registry.ServiceChanges(paused=True))
    await update(
        database,
        "resting",
        registry.ServiceChanges(set_period=True, expected_period_sec=3600),
        minutes=1,
    )
    assert (await get(database, "resting"))[1] is Status.PAUSED


async def test_mute_until_a_moment_and_unmute(database: Database) -> None:
    await create(database, "quiet")
    until = T0 + timedelta(hours=2)
    async with database.writing() as session:
        with pytest.raises(Invalid, match="future"):
            await registry.mute(session, "quiet", until=T0, now=T0)
        row = await registry.mute(session, "quiet", until=until, now=T0)
        assert row.key == "quiet"
    async with database.reading() as session:
        assert (await registry.get_service(session, "quiet")).muted_until == until
    async with database.writing() as session:
        assert (await registry.unmute(session, "quiet")).muted_until is None
    async with database.reading() as session:
        assert (await registry.get_service(session, "quiet")).muted_until is None
    async with database.writing() as session:
        with pytest.raises(NotFound):
            await registry.mute(session, "nobody", until=until, now=T0)
