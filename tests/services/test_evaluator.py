"""The worker's deadline evaluation against real databases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, select

from heartwatch.domain.heartbeat import HeartbeatRules, Signal
from heartwatch.domain.status import Status
from heartwatch.services.evaluator import evaluate_due
from heartwatch.services.heartbeats import HeartbeatIngest, Ping
from heartwatch.store.database import Database
from heartwatch.store.models import Service, StateTransition
from tests.conftest import T0
from tests.helpers import ManualClock

RULES = HeartbeatRules()


async def declare_and_ping(db: Database, key: str, period: float, at: datetime) -> None:
    hb = HeartbeatIngest(db, ManualClock(at), RULES, auto_register=True)
    await hb.record(Ping(key=key, signal=Signal.SUCCESS, received_at=at, period=period))


async def evaluate(db: Database, now: datetime, limit: int = 500) -> int:
    async with db.writing() as session:
        seen, _ = await evaluate_due(session, now, RULES, limit=limit)
    return seen


async def history(db: Database, key: str) -> list[tuple[Status, datetime, datetime]]:
    async with db.reading() as session:
        rows = await session.execute(
            select(StateTransition.to_status, StateTransition.at, StateTransition.detected_at)
            .join(Service)
            .where(Service.key == key)
            .order_by(StateTransition.at)
        )
        return [(s, at, det) for s, at, det in rows.all()]


async def test_transitions_are_stamped_when_the_condition_became_true(database: Database) -> None:
    await declare_and_ping(database, "a", 60, T0)
    late = T0 + timedelta(seconds=300)  # the worker looks long after both deadlines
    await evaluate(database, late)
    assert await history(database, "a") == [
        (Status.ALIVE, T0, T0),
        (Status.SILENT, T0 + timedelta(seconds=120), late),
        (Status.DOWN, T0 + timedelta(seconds=240), late),
    ]


async def test_only_services_past_their_deadline_are_read(database: Database) -> None:
    """A tick costs O(services that change), not O(all services)."""
    for i in range(50):
        await declare_and_ping(database, f"slow-{i}", 3600, T0)
    await declare_and_ping(database, "fast", 10, T0)
    loaded: list[int] = []

    def count_rows(session: object, instance: object) -> None:  # ORM "load" hook
        loaded.append(1)

    event.listen(Service, "load", count_rows)
    try:
        assert await evaluate(database, T0 + timedelta(seconds=25)) == 1
    finally:
        event.remove(Service, "load", count_rows)
    assert len(loaded) == 1


async def test_an_evaluated_service_gets_its_next_deadline(database: Database) -> None:
    await declare_and_ping(database, "b", 60, T0)
    await evaluate(database, T0 + timedelta(seconds=130))
    async with database.reading() as session:
        row = (await session.scalars(select(Service).where(Service.key == "b"))).one()
    assert row.status is Status.SILENT
    assert row.next_deadline_at == T0 + timedelta(seconds=240)
    # Nothing is due before that deadline: the next tick touches nothing.
    assert await evaluate(database, T0 + timedelta(seconds=200)) == 0


async def test_dead_after_seven_days_then_nothing_is_due(database: Database) -> None:
    await declare_and_ping(database, "c", 60, T0)
    await evaluate(database, T0 + timedelta(days=8))
    assert [s for s, _, _ in await history(database, "c")][-1] is Status.DEAD
    assert (await history(database, "c"))[-1][1] == T0 + timedelta(days=7)
    async with database.reading() as session:
        row = (await session.scalars(select(Service).where(Service.key == "c"))).one()
    assert row.next_deadline_at is None


async def test_batches_cover_every_due_service(database: Database) -> None:
    for i in range(7):
        await declare_and_ping(database, f"s{i}", 10, T0)
    now = T0 + timedelta(seconds=25)
    assert await evaluate(database, now, limit=3) == 3
    assert await evaluate(database, now, limit=3) == 3
    assert await evaluate(database, now, limit=3) == 1
    async with database.reading() as session:
        statuses = set(await session.scalars(select(Service.status)))
    assert statuses == {Status.SILENT}
