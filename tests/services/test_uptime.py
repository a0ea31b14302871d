"""Uptime from rollups + raw edges equals uptime from raw transitions alone, on both
backends; pruning raw results changes no answer; late transitions are redone."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from heartwatch.domain import latency
from heartwatch.domain.heartbeat import HeartbeatRules, Transition
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import HOUR, StatusTimes
from heartwatch.services import registry, rollups, uptime
from heartwatch.services.lifecycle import transition_values
from heartwatch.services.probes import record_checks
from heartwatch.services.transitions import record_transitions
from heartwatch.store import history
from heartwatch.store.database import Database
from heartwatch.store.models import CheckResult, LatencyDay, Service, UptimeRollup
from tests.conftest import T0
from tests.services.test_probes import DEAD_AFTER, create_http, finished

HOURS = 30
RULES = HeartbeatRules()


async def create(db: Database, key: str, at: datetime = T0) -> Service:
    async with db.writing() as session:
        return await registry.create_service(
            session, key=key, name=None, description="", expected_period_sec=60, now=at
        )


async def random_history(db: Database, row: Service, rng: random.Random, n: int) -> None:
    """`n` transitions at random moments over HOURS hours, recorded like any writer's."""
    moments = sorted(T0 + timedelta(seconds=rng.uniform(0, HOURS * 3600)) for _ in range(n))
    current = Status.UNKNOWN
    for at in moments:
        to = rng.choice([s for s in Status if s is not current])
        async with db.writing() as session:
            t = Transition(current, to, at, "test")
            await record_transitions(session, transition_values(row.id, [t], at))
        current = to


async def raw_times(db: Database, row: Service, start: datetime, end: datetime) -> StatusTimes:
    async with db.reading() as session:
        return (await uptime._raw(session, [row.id], [(start, end)]))[0][row.id]


async def raw_since_creation(
    db: Database, row: Service, start: datetime, end: datetime
) -> StatusTimes:
    """The raw computation over the part of [start, end) the service existed in."""
    start = max(start, row.created_at)
    return await raw_times(db, row, start, end) if start < end else StatusTimes()


async def answered(db: Database, row: Service, start: datetime, end: datetime) -> StatusTimes:
    async with db.reading() as session:
        fresh = await session.get(Service, row.id)
        assert fresh is not None
        return (await uptime.status_times(session, [fresh], start, end))[row.id]


def assert_same(a: StatusTimes, b: StatusTimes) -> None:
    for status in Status:
        assert abs(a.seconds[status] - b.seconds[status]) <= 1e-6, status


async def test_rollups_plus_raw_edges_equal_the_raw_computation(database: Database) -> None:
    rng = random.Random(7)
    rows = [await create(database, f"svc-{i}") for i in range(3)]
    for row in rows:
        await random_history(database, row, rng, 25)
    now = T0 + timedelta(hours=HOURS + 2, minutes=17)
    assert await rollups.roll_up(database, now) > 0
    async with database.reading() as session:
        assert await uptime.rolled_through(session) == T0.replace(minute=0) + timedelta(
            hours=HOURS + 2
        )
    for _ in range(20):
        a, b = sorted(T0 + timedelta(seconds=rng.uniform(-3600, (HOURS + 2) * 3600)) for _ in "ab")
        for row in rows:
            expected = await raw_since_creation(database, row, a, b)
            assert_same(await answered(database, row, a, b), expected)


async def test_time_before_a_service_existed_is_not_counted_rolled_up_or_raw(
    database: Database,
) -> None:
    """Rollups start at a service's first hour; a window reaching further back answers
    only the time since the service existed, not the time before as unknown (that made a
    new service look unknown for most of its first day)."""
    await create(database, "old", at=T0 - timedelta(days=2))
    row = await create(database, "new", at=T0 + timedelta(hours=5, minutes=10))
    async with database.writing() as session:
        t = Transition(Status.UNKNOWN, Status.ALIVE, T0 + timedelta(hours=6), "first")
        await record_transitions(session, transition_values(row.id, [t], t.at))
    now = T0 + timedelta(hours=30)
    await rollups.roll_up(database, now)
    for start in (T0 - timedelta(days=1, minutes=20), T0 + timedelta(hours=5), T0):
        expected = await raw_since_creation(database, row, start, now)
        assert expected.seconds[Status.UNKNOWN] == 50 * 60  # from creation to alive
        assert_same(await answered(database, row, start, now), expected)


async def test_a_transition_stamped_in_a_rolled_up_hour_is_redone(database: Database) -> None:
    row = await create(database, "late")
    async with database.writing() as session:
        t = Transition(Status.UNKNOWN, Status.ALIVE, T0, "first")
        await record_transitions(session, transition_values(row.id, [t], T0))
    now = T0 + timedelta(hours=10)
    await rollups.roll_up(database, now)
    # a probe-style outage stamped hours back, recorded now
    async with database.writing() as session:
        t = Transition(Status.ALIVE, Status.DOWN, T0 + timedelta(hours=3), "late")
        await record_transitions(session, transition_values(row.id, [t], now))
    window = (T0, now)
    expected = await raw_times(database, row, *window)
    assert expected.down_s == 7 * 3600
    assert_same(await answered(database, row, *window), expected)  # before the redo
    await rollups.roll_up(database, now + timedelta(minutes=5))
    async with database.reading() as session:
        assert await session.scalar(select(Service.rollup_dirty_from)) is None
    assert_same(await answered(database, row, *window), expected)  # from redone rollups


async def test_pruning_raw_results_changes_no_answer(database: Database) -> None:
    row = await create_http(database, "web", interval=60)
    rng = random.Random(3)
    checks = []
    for i in range(48 * 4):  # two days, every 15 minutes
        at = T0 + timedelta(minutes=15 * i)
        check = finished(row, rng.random() > 0.2, at)
        checks.append(check)
    for check in checks:
        async with database.writing() as session:
            await record_checks(session, [check], now=check.finished_at, dead_after=DEAD_AFTER)
    now = T0 + timedelta(days=2, hours=1)
    await rollups.roll_up(database, now)
    async with database.reading() as session:
        fresh = await session.get(Service, row.id)
        assert fresh is not None
        before = (await uptime.reports(session, [fresh], T0, now, with_latency=True))[0]
    deleted = await rollups.prune(database, now, retention=timedelta(hours=12))
    assert deleted > 0
    async with database.reading() as session:
        oldest = await session.scalar(select(func.min(CheckResult.checked_at)))
        assert oldest is not None and oldest >= now - timedelta(hours=12)
        assert await session.scalar(select(func.count()).select_from(UptimeRollup)) == 48
        fresh = await session.get(Service, row.id)
        assert fresh is not None
        after = (await uptime.reports(session, [fresh], T0, now, with_latency=True))[0]
    assert after.times.seconds == before.times.seconds
    assert after.incident_count == before.incident_count and after.mttr_s == before.mttr_s
    assert after.latency_ms == before.latency_ms  # rolled-up hours use their histograms
    assert before.incident_count > 0 and before.mttr_s is not None


async def test_raw_results_not_yet_rolled_up_are_never_pruned(database: Database) -> None:
    row = await create_http(database, "web", interval=60)
    async with database.writing() as session:
        await record_checks(session, [finished(row, True, T0)], now=T0, dead_after=DEAD_AFTER)
    far = T0 + timedelta(days=31)  # past the retention: only the missing rollup keeps it
    assert await rollups.prune(database, far, retention=timedelta(days=30)) == 0  # no rollups yet
    await rollups.roll_up(database, far)
    assert await rollups.prune(database, far, retention=timedelta(days=30)) == 1


async def test_report_figures(database: Database) -> None:
    """Hand-computed: up 1 h, down 30 min (one incident), up again 30 min."""
    row = await create(database, "api")
    steps = [
        (Status.UNKNOWN, Status.ALIVE, T0),
        (Status.ALIVE, Status.DOWN, T0 + timedelta(hours=1)),
        (Status.DOWN, Status.ALIVE, T0 + timedelta(hours=1, minutes=30)),
    ]
    for frm, to, at in steps:
        async with database.writing() as session:
            t = Transition(frm, to, at, "test")
            await record_transitions(session, transition_values(row.id, [t], at))
    async with database.writing() as session:
        fresh = await session.get(Service, row.id)
        assert fresh is not None
        fresh.sla_target = 99.0
    now = T0 + timedelta(hours=2)
    async with database.reading() as session:
        fresh = await session.get(Service, row.id)
        assert fresh is not None
        [report] = await uptime.reports(session, [fresh], now - timedelta(hours=24), now)
    assert report.times.up_s == 5400 and report.times.down_s == 1800
    assert report.times.uptime_percent == 75.0
    assert report.incident_count == 1 and report.mttr_s == 1800 and report.mtbf_s == 5400
    assert report.sla_met is False


async def test_summary_totals_over_every_service(database: Database) -> None:
    """Two services, each up 90 min and down 30 min in the last two hours: one outage
    over (30 min to recover), one still open (counted by the database)."""
    outages = {"api": (T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=30)), "db": None}
    rows = []
    for key, outage in outages.items():
        row = await create(database, key)
        down_at = outage[0] if outage else T0 + timedelta(hours=1, minutes=30)
        steps = [(Status.UNKNOWN, Status.ALIVE, T0), (Status.ALIVE, Status.DOWN, down_at)]
        if outage:
            steps.append((Status.DOWN, Status.ALIVE, outage[1]))
        for frm, to, at in steps:
            async with database.writing() as session:
                t = Transition(frm, to, at, "test")
                await record_transitions(session, transition_values(row.id, [t], at))
        rows.append(row)
    now = T0 + timedelta(hours=2)
    async with database.writing() as session:  # db's stored status, as a worker records it
        db = await session.get(Service, rows[1].id)
        assert db is not None
        db.status, db.status_since = Status.DOWN, T0 + timedelta(hours=1, minutes=30)
    async with database.reading() as session:
        fresh = await registry.list_services(session)
        summary = await uptime.summary(session, fresh, RULES, now - timedelta(hours=24), now)
    assert [r.service_id for r in summary.reports] == [r.id for r in fresh]
    assert summary.times.up_s == 2 * 5400 and summary.times.down_s == 2 * 1800
    assert summary.incident_count == 2 and summary.mttr_s == 1800
    assert summary.open_incidents == 1
    assert summary.by_status == {Status.UNKNOWN: 1, Status.DOWN: 1}


async def test_a_redo_after_pruning_keeps_the_hours_checks(database: Database) -> None:
    """A late transition redoes the seconds per status; the checks and latencies of that
    hour came from raw results that may be pruned by now, and stay as they were."""
    row = await create_http(database, "old", interval=60)
    for i in range(4):
        at = T0 + timedelta(minutes=10 * i)
        async with database.writing() as session:
            await record_checks(session, [finished(row, True, at)], now=at, dead_after=DEAD_AFTER)
    now = T0 + timedelta(days=3)
    await rollups.roll_up(database, now)
    assert await rollups.prune(database, now, retention=timedelta(days=1)) > 0
    async with database.writing() as session:
        t = Transition(Status.ALIVE, Status.DOWN, T0 + timedelta(minutes=45), "late")
        await record_transitions(session, transition_values(row.id, [t], now))
    await rollups.roll_up(database, now + timedelta(minutes=5))
    async with database.reading() as session:
        first = await session.get(UptimeRollup, (row.id, T0))
    assert first is not None and first.checks == 4 and first.down_s == 15 * 60


async def test_latency_from_days_hours_and_raw_equals_the_raw_histogram(
    database: Database,
) -> None:
    """Four days of checks with random latencies: a window's percentiles (from the hour
    it starts in) read from daily sums, the hours around them and the raw tail are those
    of all its raw latencies (histograms add up exactly), and stay so once the raw
    results are pruned."""
    row = await create_http(database, "web", interval=60)
    rng = random.Random(11)
    checks = []
    for i in range((4 * 24 + 3) * 3):  # every 20 minutes, to 15:10 on the last day
        at = T0 + timedelta(minutes=20 * i, seconds=rng.uniform(0, 60))
        check = finished(row, rng.random() > 0.1, at)
        outcome = replace(check.outcome, latency_ms=rng.lognormvariate(4, 1))
        checks.append(replace(check, outcome=outcome))
    async with database.writing() as session:
        await record_checks(session, checks, now=checks[-1].finished_at, dead_after=DEAD_AFTER)
    now = T0 + timedelta(days=4, hours=3, minutes=30)
    await rollups.roll_up(database, now)
    async with database.reading() as session:
        days = await session.scalar(select(func.count()).select_from(LatencyDay))
    assert days == 4  # Jan 5 (from its 12:00), 6, 7, 8: whole days before 15:00 on Jan 9

    async def percentiles(start: datetime) -> dict[str, float | None] | None:
        async with database.reading() as session:
            fresh = await session.get(Service, row.id)
            assert fresh is not None
            [report] = await uptime.reports(session, [fresh], start, now, with_latency=True)
        return report.latency_ms

    windows = [T0, T0 + timedelta(hours=13), T0 + timedelta(days=1, hours=12), now - 1.5 * HOUR]
    before = {start: await percentiles(start) for start in windows}
    for start in windows:
        values = [c.outcome.latency_ms for c in checks if c.finished_at >= start]
        counts = latency.histogram(v for v in values if v is not None)
        assert before[start] is not None and before[start] == {
            f"p{p:g}": latency.percentile_of_histogram(counts, p) for p in latency.PERCENTILES
        }, start
    assert await rollups.prune(database, now, retention=timedelta(hours=1)) > 0
    assert {start: await percentiles(start) for start in windows} == before


async def test_histories_read_each_window_as_the_separate_queries_do(database: Database) -> None:
    """The raw edges of an answer come from one statement (`history.histories`); it must
    say what `statuses_at` and `changes_between` say window by window."""
    rng = random.Random(21)
    rows = [await create(database, f"svc-{i}") for i in range(3)]
    for row in rows[:2]:  # the third never changes: unknown throughout
        await random_history(database, row, rng, 25)
    windows = []
    for _ in range(6):
        a, b = sorted(T0 + timedelta(seconds=rng.uniform(-3600, (HOURS + 1) * 3600)) for _ in "ab")
        windows.append((a, b))
    windows.append((T0 + timedelta(hours=2), T0 + timedelta(hours=2)))  # empty
    async with database.reading() as session:
        for ids in ([r.id for r in rows], None, [rows[0].id]):
            found = await history.histories(session, ids, windows)
            for (a, b), seen in zip(windows, found, strict=True):
                opening = await history.statuses_at(session, ids, a)
                changes = await history.changes_between(session, ids, a, b)
                expected = {
                    sid: (opening.get(sid, Status.UNKNOWN), changes.get(sid, []))
                    for sid in set(opening) | set(changes)
                }
                assert seen == expected


async def test_pruning_goes_service_by_service_in_small_chunks(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prune finds old rows per service (through the (service, time) index) in bounded
    chunks; every old row of every service goes, no newer one does."""
    monkeypatch.setattr(rollups, "PRUNE_SERVICES", 2)
    monkeypatch.setattr(rollups, "PRUNE_CHUNK", 3)
    rows = [await create_http(database, f"web-{i}", interval=60) for i in range(5)]
    for row in rows:
        checks = [finished(row, True, T0 + timedelta(minutes=10 * k)) for k in range(12)]
        async with database.writing() as session:
            await record_checks(session, checks, now=checks[-1].finished_at, dead_after=DEAD_AFTER)
    now = T0 + timedelta(days=1)
    await rollups.roll_up(database, now)
    cutoff = T0 + timedelta(minutes=65)  # 7 checks of each service are older
    assert await rollups.prune(database, now, retention=now - cutoff) == 5 * 7
    async with database.reading() as session:
        left = (await session.execute(select(CheckResult.service_id, CheckResult.checked_at))).all()
    assert len(left) == 5 * 5 and all(at >= cutoff for _, at in left)
