"""Probe services against real databases: recording checks, the schedule, leases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from heartwatch.checkers.base import Outcome
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.probe import ProbeRules, ProbeState, apply_result
from heartwatch.domain.status import Status
from heartwatch.services import registry, schedule
from heartwatch.services.errors import Invalid
from heartwatch.services.probes import (
    FinishedCheck,
    ProbeSpec,
    SpecReader,
    next_slot,
    record_checks,
)
from heartwatch.store.database import Database
from heartwatch.store.models import CheckResult, SchedulerState, Service, StateTransition
from heartwatch.store.probes import ProbeSpecRow
from tests.conftest import T0

CHECKERS = CheckerRegistry()
DEAD_AFTER = timedelta(days=7)


async def claim_due(
    db: Database,
    owner: str,
    now: datetime,
    *,
    lease: timedelta,
    queued: dict[uuid.UUID, datetime] | None = None,
) -> list[tuple[datetime, ProbeSpec]]:
    """What is due by `now`, up to 10 services."""
    return await schedule.claim_due(
        db,
        SpecReader(CHECKERS),
        owner=owner,
        now=now,
        horizon=timedelta(0),
        lease=lease,
        limit=10,
        queued=queued or {},
    )


async def create_http(db: Database, key: str, interval: float = 30, **extra: object) -> Service:
    async with db.writing() as session:
        return await registry.create_service(
            session,
            key=key,
            name=None,
            description="",
            expected_period_sec=None,
            now=T0,
            probe=registry.ProbeConfig(
                type="http",
                endpoint="http://127.0.0.1:9/health",
                check_interval_sec=interval,
                **extra,  # type: ignore[arg-type]
            ),
            checkers=CHECKERS,
        )


def finished(
    row: Service, up: bool, at: datetime, scheduled: datetime | None = None
) -> FinishedCheck:
    return FinishedCheck(
        service_id=row.id,
        outcome=Outcome(up=up, latency_ms=12.0, error=None if up else "status 503 not in 200-399"),
        attempts=1,
        started_at=at - timedelta(milliseconds=12),
        finished_at=at,
        scheduled_at=scheduled,
    )


async def test_create_validates_and_schedules_within_one_interval(database: Database) -> None:
    row = await create_http(database, "web", interval=30)
    assert (row.type, row.timeout_ms, row.status) == ("http", 10_000, Status.UNKNOWN)
    async with database.reading() as session:
        slot = (await session.scalars(select(SchedulerState))).one()
    assert T0 <= slot.next_run_at <= T0 + timedelta(seconds=30)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (registry.ProbeConfig(type="gopher", endpoint="x"), "known types are heartbeat"),
        (registry.ProbeConfig(type="http", endpoint="not a url"), "endpoint"),
        (
            registry.ProbeConfig(
                type="http", endpoint="http://h/", check_interval_sec=5, timeout_ms=5000
            ),
            "below the check interval",
        ),
        (registry.ProbeConfig(type="tcp", endpoint="no-port"), "port"),
        (
            registry.ProbeConfig(
                type="http", endpoint="http://h/", settings={"expect_keywrd": "x"}
            ),
            "expect_keywrd",
        ),
    ],
)
async def test_bad_probe_configs_are_refused_with_reasons(
    sqlite_database: Database, config: registry.ProbeConfig, words: str
) -> None:
    async with sqlite_database.writing() as session:
        with pytest.raises(Invalid, match=words):
            await registry.create_service(
                session,
                key="bad",
                name=None,
                description="",
                expected_period_sec=None,
                now=T0,
                probe=config,
                checkers=CHECKERS,
            )


async def test_recorded_checks_move_the_status_and_keep_the_history(database: Database) -> None:
    row = await create_http(database, "api", failure_threshold=2)
    checks = [
        finished(row, True, T0 + timedelta(seconds=30)),
        finished(row, False, T0 + timedelta(seconds=60)),
        finished(row, False, T0 + timedelta(seconds=90)),
    ]
    async with database.writing() as session:
        changes = await record_checks(
            session, checks, now=T0 + timedelta(seconds=91), dead_after=DEAD_AFTER
        )
    assert [(t.from_status, t.to_status, t.at) for _, t in changes] == [
        (Status.UNKNOWN, Status.ALIVE, T0 + timedelta(seconds=30)),
        (Status.ALIVE, Status.DOWN, T0 + timedelta(seconds=60)),
    ]
    async with database.reading() as session:
        fresh = await registry.get_service(session, "api")
        assert (fresh.status, fresh.last_error) == (Status.DOWN, "status 503 not in 200-399")
        assert await session.scalar(select(func.count()).select_from(CheckResult)) == 3
        assert await session.scalar(select(func.count()).select_from(StateTransition)) == 2


async def test_checks_of_a_deleted_service_are_dropped(database: Database) -> None:
    row = await create_http(database, "gone")
    async with database.writing() as session:
        await registry.delete_service(session, "gone")
    async with database.writing() as session:
        await record_checks(session, [finished(row, True, T0)], now=T0, dead_after=DEAD_AFTER)
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(CheckResult)) == 0


def test_next_slot_keeps_the_phase_and_skips_missed_slots() -> None:
    row = Service(check_interval_sec=30.0, status=Status.ALIVE)
    scheduled = T0
    assert next_slot(row, scheduled, T0 + timedelta(seconds=2)) == T0 + timedelta(seconds=30)
    # the worker was away for 100 s: the next slot is the next one on the grid, not a burst
    assert next_slot(row, scheduled, T0 + timedelta(seconds=100)) == T0 + timedelta(seconds=120)
    assert next_slot(row, scheduled, T0 + timedelta(seconds=120)) == T0 + timedelta(seconds=150)
    dead = Service(check_interval_sec=30.0, status=Status.DEAD)
    assert next_slot(dead, scheduled, T0) == T0 + timedelta(seconds=300)


async def test_two_workers_never_claim_the_same_service(database: Database) -> None:
    for i in range(60):
        await create_http(database, f"svc-{i}", interval=10)
    now = T0 + timedelta(seconds=10)

    async def claim(owner: str) -> list[object]:
        got: list[object] = []
        for _ in range(4):
            claimed = await claim_due(database, owner, now, lease=timedelta(seconds=30))
            got += [spec.service_id for _, spec in claimed]
            await asyncio.sleep(0)
        return got

    a, b = await asyncio.gather(claim("a"), claim("b"))
    assert not set(a) & set(b)
    assert len(a) + len(b) == 60


async def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_release_it(
    database: Database,
) -> None:
    row = await create_http(database, "handover", interval=10)
    now = T0 + timedelta(seconds=10)
    first = await claim_due(database, "dead-worker", now, lease=timedelta(seconds=30))
    assert [spec.service_id for _, spec in first] == [row.id]
    later = now + timedelta(seconds=31)
    taken = await claim_due(database, "alive-worker", later, lease=timedelta(seconds=30))
    assert [spec.service_id for _, spec in taken] == [row.id]
    scheduled = taken[0][0]
    async with database.writing() as session:  # the dead one wakes up late
        await record_checks(
            session,
            [finished(row, True, later, scheduled)],
            now=later,
            dead_after=DEAD_AFTER,
            owner="dead-worker",
        )
    async with database.reading() as session:
        state = (await session.scalars(select(SchedulerState))).one()
        results = await session.scalar(select(func.count()).select_from(CheckResult))
    assert state.lease_owner == "alive-worker"  # compare-and-set: not released by the other
    assert results == 0  # and its late result for a slot it no longer holds is dropped
    async with database.writing() as session:
        await record_checks(
            session,
            [finished(row, True, later, scheduled)],
            now=later,
            dead_after=DEAD_AFTER,
            owner="alive-worker",
        )
    async with database.reading() as session:
        state = (await session.scalars(select(SchedulerState))).one()
    assert state.lease_owner is None
    assert state.next_run_at == scheduled + timedelta(seconds=10) or state.next_run_at > later
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(CheckResult)) == 1


async def test_paused_services_are_not_claimed(database: Database) -> None:
    await create_http(database, "resting", interval=10)
    async with database.writing() as session:
        await registry.update_service(
            session,
            "resting",
            registry.ServiceChanges(paused=True),
            rules=HeartbeatRules(),
            now=T0,
        )
    now = T0 + timedelta(seconds=20)
    assert await claim_due(database, "w", now, lease=timedelta(0)) == []


async def test_a_slot_already_queued_here_is_not_claimed_again(database: Database) -> None:
    row = await create_http(database, "queued", interval=10)
    now = T0 + timedelta(seconds=10)
    ((slot, spec),) = await claim_due(database, "w", now, lease=timedelta(0))
    assert spec.service_id == row.id and spec.interval_s == 10
    later = now + timedelta(seconds=1)  # its lease ran out: the same slot is due again
    assert await claim_due(database, "w", later, lease=timedelta(0), queued={row.id: slot}) == []
    # (That claim leased it anew: it is still this worker's to run and write.)
    again = await claim_due(database, "w", later + timedelta(seconds=1), lease=timedelta(0))
    assert [(at, s.service_id) for at, s in again] == [(slot, row.id)]


async def test_a_check_that_only_extends_the_streak_updates_the_row(database: Database) -> None:
    row = await create_http(database, "steady")
    first, second = T0 + timedelta(seconds=30), T0 + timedelta(seconds=60)
    async with database.writing() as session:
        await record_checks(session, [finished(row, True, first)], now=first, dead_after=DEAD_AFTER)
    later = FinishedCheck(
        service_id=row.id,
        outcome=Outcome(up=True, latency_ms=7.5),
        attempts=1,
        started_at=second - timedelta(milliseconds=8),
        finished_at=second,
    )
    async with database.writing() as session:
        changes = await record_checks(session, [later], now=second, dead_after=DEAD_AFTER)
    assert changes == []
    async with database.reading() as session:
        fresh = await registry.get_service(session, "steady")
    assert (fresh.status, fresh.status_since, fresh.streak_up) == (Status.ALIVE, first, True)
    assert (fresh.streak_count, fresh.streak_since) == (2, first)
    assert (fresh.last_check_at, fresh.last_latency_ms, fresh.last_error) == (second, 7.5, None)


async def test_a_batch_counts_every_check_of_a_service_as_the_rules_do(database: Database) -> None:
    """Several checks of one service in one batch, starting from alive (the usual check
    takes a shortcut past the state objects): the row and the transitions are those of
    `apply_result` applied to each check in turn."""
    plans = {
        "up-up": [True, True],
        "up-down": [True, False],
        "down-up": [False, True],
        "up-up-down-down": [True, True, False, False],
        "up-down-up": [True, False, True],
    }
    rows = {key: await create_http(database, key, failure_threshold=2) for key in plans}
    start = T0 + timedelta(seconds=10)
    async with database.writing() as session:  # all alive first, a streak of one
        await record_checks(
            session,
            [finished(row, True, start) for row in rows.values()],
            now=start,
            dead_after=DEAD_AFTER,
        )
    rules = ProbeRules(failure_threshold=2, dead_after=DEAD_AFTER)
    expected: dict[str, tuple[ProbeState, list[tuple[Status, Status, datetime]]]] = {}
    batch = []
    for key, plan in plans.items():
        state = ProbeState(Status.ALIVE, start, True, 1, start)
        moves = []
        for i, up in enumerate(plan):
            at = start + timedelta(seconds=30 * (i + 1))
            batch.append(finished(rows[key], up, at))
            state, transitions = apply_result(state, up, at, rules, None if up else "x")
            moves += [(t.from_status, t.to_status, t.at) for t in transitions]
        expected[key] = (state, moves)
    now = start + timedelta(seconds=200)
    async with database.writing() as session:
        changes = await record_checks(session, batch, now=now, dead_after=DEAD_AFTER)
    got_moves: dict[str, list[tuple[Status, Status, datetime]]] = {key: [] for key in plans}
    for service, t in changes:
        got_moves[service.key].append((t.from_status, t.to_status, t.at))
    async with database.reading() as session:
        for key, (state, moves) in expected.items():
            fresh = await registry.get_service(session, key)
            got = ProbeState(
                fresh.status,
                fresh.status_since,
                fresh.streak_up,
                fresh.streak_count,
                fresh.streak_since,
            )
            assert got == state, key
            assert got_moves[key] == moves, key
            assert fresh.last_check_at == start + timedelta(seconds=30 * len(plans[key])), key


async def test_status_changes_name_their_service(database: Database) -> None:
    row = await create_http(database, "named")
    async with database.writing() as session:
        changes = await record_checks(
            session, [finished(row, False, T0)], now=T0, dead_after=DEAD_AFTER
        )
    assert [(s.id, s.key, t.to_status) for s, t in changes] == [(row.id, "named", Status.DOWN)]


def test_checker_settings_are_parsed_once_per_stored_text() -> None:
    reader = SpecReader(CHECKERS)
    parsed: list[object] = []
    original = reader.checkers.get("http").Settings.model_validate

    def counting(data: object) -> object:
        parsed.append(data)
        return original(data)

    http_settings = reader.checkers.get("http").Settings
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http_settings, "model_validate", counting)
        a = reader.settings("http", '{"expect_keyword": "ok"}')
        b = reader.settings("http", '{"expect_keyword": "ok"}')
        c = reader.settings("http", '{"expect_keyword": "fine"}')  # an edit: parsed anew
    assert a == b and a[0] is b[0]
    assert c[0] is not None and getattr(c[0], "expect_keyword", None) == "fine"
    assert parsed == [{"expect_keyword": "ok"}, {"expect_keyword": "fine"}]
    settings, problem = reader.settings("http", '{"expect_keywrd": "x"}')
    assert settings is None and problem is not None and "expect_keywrd" in problem
    settings, problem = reader.settings("gopher", "{}")
    assert settings is None and problem is not None and "gopher" in problem


def test_a_spec_is_kept_while_its_row_is_unchanged() -> None:
    reader = SpecReader(CHECKERS)
    row = ProbeSpecRow(
        id=uuid.uuid4(),
        key="web",
        type="http",
        endpoint="http://127.0.0.1:9/health",
        timeout_ms=800,
        retry_count=0,
        retry_backoff_ms=0,
        check_interval_sec=30.0,
        check_settings_json='{"expect_keyword": "ok"}',
    )
    first = reader.spec(row)
    assert reader.spec(row._replace()) is first  # an equal row read again
    edited = reader.spec(row._replace(timeout_ms=500))
    assert edited is not first and edited.timeout_ms == 500
    assert (edited.interval_s, edited.endpoint) == (30.0, "http://127.0.0.1:9/health")
    assert reader.spec(row._replace(check_interval_sec=10.0)).interval_s == 10.0
