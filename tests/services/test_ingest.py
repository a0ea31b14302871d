"""Heartbeat ingest against real databases: registration, statuses, batching, races."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from heartwatch.domain.heartbeat import HeartbeatRules, Signal
from heartwatch.domain.status import Status
from heartwatch.services.heartbeats import HeartbeatIngest, Ping, PingOutcome, UnknownService
from heartwatch.store import services as service_store
from heartwatch.store.database import Database
from heartwatch.store.models import Heartbeat, Service, StateTransition
from tests.conftest import T0
from tests.helpers import ManualClock

RULES = HeartbeatRules()


def ingest(db: Database, clock: ManualClock, *, auto_register: bool = True) -> HeartbeatIngest:
    return HeartbeatIngest(db, clock, RULES, auto_register=auto_register)


async def ping(
    hb: HeartbeatIngest, clock: ManualClock, key: str, signal: Signal = Signal.SUCCESS
) -> PingOutcome:
    outcome = await hb.record(Ping(key=key, signal=signal, received_at=clock.now()))
    assert isinstance(outcome, PingOutcome)
    return outcome


async def transitions(db: Database) -> list[tuple[Status, Status, object]]:
    async with db.reading() as session:
        rows = await session.scalars(select(StateTransition).order_by(StateTransition.at))
        return [(t.from_status, t.to_status, t.at) for t in rows]


async def test_first_heartbeat_registers_the_service_as_unknown(database: Database) -> None:
    clock = ManualClock(T0)
    outcome = await ping(ingest(database, clock), clock, "billing")
    assert outcome.registered and outcome.status is Status.UNKNOWN
    async with database.reading() as session:
        row = await service_store.find_service(session, "billing")
    assert row is not None
    assert (row.name, row.type, row.heartbeat_count, row.created_at) == (
        "billing",
        "heartbeat",
        1,
        T0,
    )


async def test_period_is_learned_from_the_fourth_heartbeat(database: Database) -> None:
    clock, hb = ManualClock(T0), None
    hb = ingest(database, clock)
    statuses = []
    for _ in range(4):
        statuses.append((await ping(hb, clock, "job")).status)
        clock.advance(60)
    assert statuses == [Status.UNKNOWN] * 3 + [Status.ALIVE]
    assert await transitions(database) == [
        (Status.UNKNOWN, Status.ALIVE, T0 + timedelta(seconds=180))
    ]


async def test_fail_signal_is_down_at_once_and_success_recovers(database: Database) -> None:
    clock = ManualClock(T0)
    hb = ingest(database, clock)
    for _ in range(4):
        await ping(hb, clock, "etl")
        clock.advance(60)
    assert (await ping(hb, clock, "etl", Signal.FAIL)).status is Status.DOWN
    clock.advance(5)
    assert (await ping(hb, clock, "etl", Signal.START)).status is Status.DOWN
    clock.advance(5)
    assert (await ping(hb, clock, "etl")).status is Status.ALIVE
    assert [(f, t) for f, t, _ in await transitions(database)] == [
        (Status.UNKNOWN, Status.ALIVE),
        (Status.ALIVE, Status.DOWN),
        (Status.DOWN, Status.ALIVE),
    ]


async def test_an_unnoticed_outage_is_still_recorded_when_the_next_heartbeat_arrives(
    database: Database,
) -> None:
    """The worker may not have ticked yet: ingest catches up on the steps that passed."""
    clock = ManualClock(T0)
    hb = ingest(database, clock)
    for _ in range(4):
        await ping(hb, clock, "api")
        clock.advance(60)
    last = clock.advance(-60)
    clock.advance(300)  # past 4P = 240 s, no worker in this test
    await ping(hb, clock, "api")
    assert await transitions(database) == [
        (Status.UNKNOWN, Status.ALIVE, last),
        (Status.ALIVE, Status.SILENT, last + timedelta(seconds=120)),
        (Status.SILENT, Status.DOWN, last + timedelta(seconds=240)),
        (Status.DOWN, Status.ALIVE, last + timedelta(seconds=300)),
    ]


async def test_auto_registration_off_reports_unknown_keys(database: Database) -> None:
    clock = ManualClock(T0)
    outcome = await ingest(database, clock, auto_register=False).record(
        Ping(key="stranger", signal=Signal.SUCCESS, received_at=T0)
    )
    assert outcome == UnknownService("stranger")
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Service)) == 0


async def test_declared_period_in_a_ping_applies_at_once(database: Database) -> None:
    clock = ManualClock(T0)
    outcome = await ingest(database, clock).record(
        Ping(key="cron", signal=Signal.SUCCESS, received_at=T0, period=300)
    )
    assert isinstance(outcome, PingOutcome) and outcome.status is Status.ALIVE
    async with database.reading() as session:
        row = await service_store.find_service(session, "cron")
    assert row is not None
    assert row.expected_period_sec == 300
    assert row.next_deadline_at == T0 + timedelta(seconds=600)


async def test_concurrent_pings_share_transactions_and_all_are_stored(database: Database) -> None:
    clock = ManualClock(T0)
    hb = ingest(database, clock)
    keys = [f"svc-{i % 25}" for i in range(400)]
    outcomes = await asyncio.gather(
        *(hb.record(Ping(key=k, signal=Signal.SUCCESS, received_at=T0)) for k in keys)
    )
    assert [o.key for o in outcomes if isinstance(o, PingOutcome)] == keys
    assert sum(o.registered for o in outcomes if isinstance(o, PingOutcome)) == 25
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Heartbeat)) == 400
        assert await session.scalar(select(func.count()).select_from(Service)) == 25
        counts = await session.scalars(select(Service.heartbeat_count))
        assert set(counts) == {16}


async def test_two_processes_registering_one_key_at_once_make_one_service(
    database: Database,
) -> None:
    """Two ingest pipelines (as in two API processes) racing on a new key."""
    clock = ManualClock(T0)
    first, second = ingest(database, clock), ingest(database, clock)
    results = await asyncio.gather(
        *(
            pipeline.record(Ping(key="racy", signal=Signal.SUCCESS, received_at=T0))
            for pipeline in (first, second) * 10
        )
    )
    assert all(isinstance(r, PingOutcome) for r in results)
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Service)) == 1
        row = await service_store.find_service(session, "racy")
    assert row is not None and row.heartbeat_count == 20


async def test_one_bad_batch_does_not_poison_later_pings(database: Database) -> None:
    clock = ManualClock(T0)
    hb = ingest(database, clock)
    await database.dispose()  # the pool reconnects on next use
    assert (await ping(hb, clock, "resilient")).registered


async def test_a_batch_with_a_new_key_or_a_transition_is_recorded_once(
    database: Database,
) -> None:
    """Such a batch is first tried without a session, given up before anything is written,
    then recorded in a session: every ping once, every transition once."""
    clock = ManualClock(T0)
    hb = ingest(database, clock)
    for _ in range(3):
        await ping(hb, clock, "known")
        clock.advance(60)
    # Together: the fourth beat of "known" (unknown -> alive) and a new key.
    results = await asyncio.gather(
        *(
            hb.record(Ping(key=k, signal=Signal.SUCCESS, received_at=clock.now()))
            for k in ("known", "new", "known")
        )
    )
    assert [r.status for r in results if isinstance(r, PingOutcome)] == [
        Status.ALIVE,
        Status.UNKNOWN,
        Status.ALIVE,
    ]
    assert [(a, b) for a, b, _ in await transitions(database)] == [(Status.UNKNOWN, Status.ALIVE)]
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Heartbeat)) == 6
