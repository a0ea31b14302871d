"""Incidents open and close with transitions, on both backends."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from heartwatch.domain.heartbeat import HeartbeatRules, Signal
from heartwatch.ids import new_id
from heartwatch.services import incidents as incident_service
from heartwatch.services import registry
from heartwatch.services.evaluator import evaluate_due
from heartwatch.services.heartbeats import HeartbeatIngest, Ping, record_pings
from heartwatch.services.probes import record_checks
from heartwatch.store.database import Database
from heartwatch.store.models import Incident, Service
from tests.conftest import T0
from tests.helpers import ManualClock
from tests.services.test_probes import DEAD_AFTER, create_http, finished

RULES = HeartbeatRules()


async def ping(db: Database, key: str, at: datetime, signal: Signal = Signal.SUCCESS) -> None:
    hb = HeartbeatIngest(db, ManualClock(at), RULES, auto_register=True)
    await hb.record(Ping(key=key, signal=signal, received_at=at, period=60))


async def incidents(db: Database) -> list[Incident]:
    async with db.reading() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.started_at))).all())


async def test_a_missed_deadline_opens_one_incident_and_a_heartbeat_closes_it(
    database: Database,
) -> None:
    await ping(database, "cron", T0)
    async with database.writing() as session:
        await evaluate_due(session, T0 + timedelta(seconds=300), RULES)
    [opened] = await incidents(database)
    # stamped when it turned down (last beat + 4P), not when the worker saw it
    assert opened.started_at == T0 + timedelta(seconds=240) and not opened.resolved
    assert opened.checks_failed_count == 0  # a heartbeat service has no checks to count
    assert opened.last_error and "no heartbeat" in opened.last_error.lower()

    async with database.writing() as session:  # down -> dead: still the same outage
        await evaluate_due(session, T0 + timedelta(days=8), RULES)
    assert len(await incidents(database)) == 1

    back = T0 + timedelta(days=8, seconds=30)
    await ping(database, "cron", back)
    [closed] = await incidents(database)
    assert closed.resolved and closed.recovered_at == back
    assert closed.closed_by is not None and closed.opened_by is not None
    assert closed.checks_failed_count == 0


async def test_a_fail_signal_opens_an_incident_at_once(database: Database) -> None:
    await ping(database, "job", T0)
    await ping(database, "job", T0 + timedelta(seconds=10), Signal.FAIL)
    [opened] = await incidents(database)
    assert opened.started_at == T0 + timedelta(seconds=10) and opened.checks_failed_count == 0
    await ping(database, "job", T0 + timedelta(seconds=70))
    [closed] = await incidents(database)
    assert closed.resolved and closed.recovered_at == T0 + timedelta(seconds=70)


async def test_down_and_up_within_one_batch_is_a_closed_incident(database: Database) -> None:
    await ping(database, "job", T0)
    pings = [
        Ping(key="job", signal=Signal.FAIL, received_at=T0 + timedelta(seconds=5)),
        Ping(key="job", signal=Signal.SUCCESS, received_at=T0 + timedelta(seconds=6)),
    ]
    async with database.writing() as session:
        await record_pings(session, pings, rules=RULES, auto_register=False, now=T0)
    [incident] = await incidents(database)
    assert incident.resolved and incident.started_at == T0 + timedelta(seconds=5)
    assert incident.recovered_at == T0 + timedelta(seconds=6)


async def test_a_recovery_and_a_new_outage_in_one_batch_close_the_old_incident_first(
    database: Database,
) -> None:
    """The stored incident is closed before the batch's new one is inserted: the partial
    unique index allows one open incident per service at every statement."""
    await ping(database, "job", T0)
    await ping(database, "job", T0 + timedelta(seconds=5), Signal.FAIL)
    pings = [
        Ping(key="job", signal=Signal.SUCCESS, received_at=T0 + timedelta(seconds=10)),
        Ping(key="job", signal=Signal.FAIL, received_at=T0 + timedelta(seconds=11)),
    ]
    async with database.writing() as session:
        await record_pings(session, pings, rules=RULES, auto_register=False, now=T0)
    first, second = await incidents(database)
    assert first.resolved and first.recovered_at == T0 + timedelta(seconds=10)
    assert not second.resolved and second.started_at == T0 + timedelta(seconds=11)


async def test_probe_incidents_count_failed_checks_and_keep_the_error(database: Database) -> None:
    row = await create_http(database, "web", failure_threshold=2)
    t = [T0 + timedelta(seconds=30 * i) for i in range(1, 8)]

    async def record(up: bool, at: datetime) -> None:
        async with database.writing() as session:
            await record_checks(session, [finished(row, up, at)], now=at, dead_after=DEAD_AFTER)

    await record(True, t[0])
    await record(False, t[1])
    assert await incidents(database) == []  # one failure is below the threshold
    await record(False, t[2])
    [opened] = await incidents(database)
    assert opened.started_at == t[1]  # the first failure of the streak
    assert opened.checks_failed_count == 2
    assert opened.last_error == "status 503 not in 200-399"
    async with database.writing() as session:  # two more failures in one batch
        late = [finished(row, False, t[3]), finished(row, False, t[4])]
        await record_checks(session, late, now=t[4], dead_after=DEAD_AFTER)
    [still] = await incidents(database)
    assert still.checks_failed_count == 4 and not still.resolved
    await record(True, t[5])
    [closed] = await incidents(database)
    assert closed.resolved and closed.recovered_at == t[5] and closed.checks_failed_count == 4


async def test_at_most_one_open_incident_per_service_is_enforced_by_the_database(
    database: Database,
) -> None:
    await ping(database, "db", T0)
    async with database.reading() as session:
        sid = await session.scalar(select(Service.id).where(Service.key == "db"))

    def incident(resolved: bool) -> Incident:
        return Incident(
            id=new_id(), service_id=sid, started_at=T0, resolved=resolved, checks_failed_count=0
        )

    async with database.writing() as session:
        session.add_all([incident(True), incident(True), incident(False)])
    with pytest.raises(IntegrityError):
        async with database.writing() as session:
            session.add(incident(False))


async def test_racing_writers_open_one_incident(database: Database) -> None:
    """Two ingest pipelines (as in two API processes) get fail signals for one service
    at the same moment: the row lock makes the second see the first's incident."""
    await ping(database, "svc", T0)
    at = T0 + timedelta(seconds=10)

    async def fail_from(n: int) -> None:
        hb = HeartbeatIngest(database, ManualClock(at), RULES, auto_register=False)
        await hb.record(Ping(key="svc", signal=Signal.FAIL, received_at=at + n * timedelta(0)))

    for _ in range(3):
        await asyncio.gather(*(fail_from(n) for n in range(4)))
    opened = await incidents(database)
    assert len(opened) == 1 and not opened[0].resolved


async def test_open_incidents_are_counted_in_the_database_and_listed_with_their_keys(
    database: Database,
) -> None:
    for n, key in enumerate(["a", "b", "c"]):
        await ping(database, key, T0)
        await ping(database, key, T0 + timedelta(seconds=10 + n), Signal.FAIL)
    await ping(database, "c", T0 + timedelta(seconds=70))  # c's outage is over
    async with database.reading() as session:
        assert await incident_service.count_open(session) == 2
        opened = await incident_service.open_now(session)
        assert [(i.service_key, i.resolved) for i in opened] == [("b", False), ("a", False)]
        [closed] = await incident_service.page(session, service_key="c", limit=10)
        assert closed.resolved and closed.recovered_at == T0 + timedelta(seconds=70)
        assert len(await incident_service.page(session, limit=10)) == 3


async def test_a_deleted_service_takes_its_open_incident_out_of_the_count(
    database: Database,
) -> None:
    """The count reads `incidents` alone (the listing it replaces joined `services`):
    the cascade keeps the two equal on both backends."""
    for key in ("kept", "gone"):
        await ping(database, key, T0)
        await ping(database, key, T0 + timedelta(seconds=10), Signal.FAIL)
    async with database.writing() as session:
        await registry.delete_service(session, "gone")
    async with database.reading() as session:
        assert await incident_service.count_open(session) == 1
        assert [i.service_key for i in await incident_service.open_now(session)] == ["kept"]
