"""The deadline index covers scheduled services: ingest sets `next_deadline_at` to the
expected run, and the worker reads the service only once that has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from heartwatch.domain.heartbeat import HeartbeatRules, Signal
from heartwatch.domain.status import Status
from heartwatch.services.cron_schedules import ScheduleSpec, set_schedule
from heartwatch.services.evaluator import evaluate_due
from heartwatch.services.heartbeats import HeartbeatIngest, Ping
from heartwatch.services.registry import create_service
from heartwatch.store.database import Database
from heartwatch.store.models import Service
from tests.helpers import ManualClock

RULES = HeartbeatRules()
PING = datetime(2026, 1, 1, 23, 1, tzinfo=UTC)  # 02:01 MSK
RUN = datetime(2026, 1, 2, 23, 0, tzinfo=UTC)  # the next night's 02:00 MSK


async def _deadline(db: Database, key: str) -> datetime | None:
    async with db.reading() as session:
        return await session.scalar(select(Service.next_deadline_at).where(Service.key == key))


async def test_the_evaluator_reads_a_scheduled_service_only_past_its_run(
    database: Database,
) -> None:
    spec = ScheduleSpec("0 2 * * *", "Europe/Moscow")
    async with database.writing() as session:
        for key in ("backup", "steady"):
            await create_service(
                session,
                key=key,
                name=None,
                description="",
                expected_period_sec=None,
                now=PING - timedelta(hours=1),
                schedule=spec,
            )
    ingest = HeartbeatIngest(database, ManualClock(PING), RULES, auto_register=False)
    await ingest.record(Ping(key="backup", signal=Signal.SUCCESS, received_at=PING))
    assert await _deadline(database, "backup") == RUN
    assert await _deadline(database, "steady") is None  # never heard from: no deadline

    async with database.writing() as session:
        seen, changes = await evaluate_due(session, RUN - timedelta(seconds=1), RULES)
    assert (seen, changes) == (0, [])
    async with database.writing() as session:
        seen, changes = await evaluate_due(session, RUN + timedelta(minutes=6), RULES)
    assert seen == 1
    assert [(key, t.to_status, t.at) for key, t in changes] == [
        ("backup", Status.SILENT, RUN),
        ("backup", Status.DOWN, RUN + timedelta(minutes=5)),
    ]
    assert [t.reason for _, t in changes][-1] == "expected run at 02:00 MSK missed"
    # Down: the next moment is dead, seven days after the last heartbeat.
    assert await _deadline(database, "backup") == PING + timedelta(days=7)

    # A new zone moves the deadline with it.
    async with database.writing() as session:
        row = (await session.scalars(select(Service).where(Service.key == "backup"))).one()
        now = RUN + timedelta(minutes=10)
        tokyo = ScheduleSpec("0 2 * * *", "Asia/Tokyo")
        await set_schedule(session, row, tokyo, period=None, rules=RULES, now=now)
    ingest = HeartbeatIngest(
        database, ManualClock(RUN + timedelta(minutes=20)), RULES, auto_register=False
    )
    late = RUN + timedelta(minutes=20)
    await ingest.record(Ping(key="backup", signal=Signal.SUCCESS, received_at=late))
    # 02:00 JST on 3 January is 17:00 UTC on 3 January.
    assert await _deadline(database, "backup") == datetime(2026, 1, 3, 17, 0, tzinfo=UTC)
