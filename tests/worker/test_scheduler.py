"""The probe scheduler against a real local HTTP target and real databases.

Its loops run on `VirtualTime` (tests/worker/virtual_time.py): seconds of schedule pass
at once, in the order they would in real time; one test runs it on the event loop's own
time, as it runs in the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.checkers.base import Outcome
from heartwatch.config import Settings
from heartwatch.domain.heartbeat import Transition
from heartwatch.domain.status import Status
from heartwatch.runtime import Runtime
from heartwatch.services import registry
from heartwatch.services.probes import FinishedCheck, ProbedService
from heartwatch.store import statements
from heartwatch.store.database import Database
from heartwatch.store.models import CheckResult, Incident, Service
from heartwatch.worker.scheduler import CheckScheduler
from tests.worker.virtual_time import VirtualTime


@pytest.fixture
async def runtime(db_url: str, database: Database) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate(
        {"database_url": db_url, "self_monitor": False, "max_concurrent_checks": 50}
    )
    async with Runtime.open(settings) as rt:
        yield rt


@pytest.fixture
def virtual_time(runtime: Runtime) -> VirtualTime:
    """The runtime's clock from now on; pass it to the schedulers as their loop time."""
    vt = VirtualTime(runtime.clock.now())
    runtime.clock = vt
    return vt


def asleep(*schedulers: CheckScheduler) -> bool:
    """Whether each scheduler's three loops wait for their timers (or for a claim, or a
    check's result) and no check is running: nothing happens until time moves on."""
    return all(
        not s._running
        and all(
            w is not None and not w.done() for w in (s._claim_wakeup, s._wakeup, s._write_wakeup)
        )
        for s in schedulers
    )


async def add(rt: Runtime, key: str, url: str, interval: float = 1) -> None:
    async with rt.db.writing() as session:
        await registry.create_service(
            session,
            key=key,
            name=None,
            description="",
            expected_period_sec=None,
            now=rt.clock.now(),
            probe=registry.ProbeConfig(
                type="http", endpoint=url, check_interval_sec=interval, timeout_ms=800
            ),
            checkers=rt.checkers,
        )


async def results(rt: Runtime) -> dict[str, list[CheckResult]]:
    async with rt.db.reading() as session:
        rows = await session.execute(
            select(Service.key, CheckResult).join(Service).order_by(CheckResult.scheduled_at)
        )
        out: dict[str, list[CheckResult]] = defaultdict(list)
        for key, result in rows.all():
            out[key].append(result)
        return out


async def run_for(vt: VirtualTime, schedulers: list[CheckScheduler], seconds: float) -> None:
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(s.run(stop)) for s in schedulers]
    await vt.advance(seconds, settled=lambda: asleep(*schedulers))
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_checks_run_on_a_fixed_grid_without_drift(
    runtime: Runtime, virtual_time: VirtualTime, http_target: str
) -> None:
    for i in range(10):
        await add(runtime, f"ok-{i}", f"{http_target}/ok")
    await add(runtime, "broken", f"{http_target}/fail")
    await run_for(virtual_time, [CheckScheduler(runtime, loop_time=virtual_time)], 4.5)
    got = await results(runtime)
    assert set(got) == {*(f"ok-{i}" for i in range(10)), "broken"}
    for key, checks in got.items():
        assert len(checks) >= 3, key
        slots = [c.scheduled_at for c in checks if c.scheduled_at is not None]
        assert len(slots) == len(checks)
        # next = scheduled + interval, exactly: the grid does not slide with run time
        gaps = [b - a for a, b in itertools.pairwise(slots)]
        assert set(gaps) == {timedelta(seconds=1)}, slots
        for c in checks:
            assert c.started_at >= c.scheduled_at  # type: ignore[operator]
    async with runtime.db.reading() as session:
        broken = await registry.get_service(session, "broken")
        fine = await registry.get_service(session, "ok-0")
    assert broken.status is Status.DOWN and "503" in (broken.last_error or "")
    assert fine.status is Status.ALIVE and fine.last_latency_ms is not None


@pytest.mark.parametrize("backend", ["sqlite"])  # (the timers do not depend on it)
async def test_without_a_loop_time_the_loops_run_on_the_event_loops_own(
    runtime: Runtime, http_target: str
) -> None:
    """As in the worker: real timers, real seconds (so only two runs of one service)."""
    await add(runtime, "real", f"{http_target}/ok")
    stop = asyncio.Event()
    task = asyncio.ensure_future(CheckScheduler(runtime).run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while len((await results(runtime))["real"]) < 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    first, second = (await results(runtime))["real"][:2]
    # On the 1 s grid (a loaded machine may make the scheduler give up a late slot; the
    # tests on VirtualTime pin that no slot is skipped).
    gap = second.scheduled_at - first.scheduled_at  # type: ignore[operator]
    assert gap >= timedelta(seconds=1) and gap % timedelta(seconds=1) == timedelta(0)
    assert first.started_at >= first.scheduled_at  # type: ignore[operator]
    assert second.started_at >= second.scheduled_at  # type: ignore[operator]


async def test_edits_and_deletes_take_effect_by_the_next_run(
    runtime: Runtime, virtual_time: VirtualTime, http_target: str
) -> None:
    await add(runtime, "doomed", f"{http_target}/ok")
    await add(runtime, "slowed", f"{http_target}/ok")
    scheduler = CheckScheduler(runtime, loop_time=virtual_time)
    stop = asyncio.Event()
    task = asyncio.ensure_future(scheduler.run(stop))
    await virtual_time.advance(2.2, settled=lambda: asleep(scheduler))
    async with runtime.db.writing() as session:
        await registry.delete_service(session, "doomed")
        await registry.update_service(
            session,
            "slowed",
            registry.ServiceChanges(probe={"check_interval_sec": 60}),
            rules=runtime.rules,
            now=runtime.clock.now(),
            checkers=runtime.checkers,
        )
    await virtual_time.advance(3, settled=lambda: asleep(scheduler))
    stop.set()
    await asyncio.wait_for(task, 10)
    got = await results(runtime)
    assert "doomed" not in got  # its results went with it, and no new ones arrived
    slots = [c.scheduled_at for c in got["slowed"]]
    # at most one more run on the old 1 s interval, then nothing for 60 s
    assert slots[-1] - slots[0] <= timedelta(seconds=4)  # type: ignore[operator]


async def test_two_schedulers_share_the_work_without_running_a_slot_twice(
    runtime: Runtime, virtual_time: VirtualTime, http_target: str
) -> None:
    for i in range(30):
        await add(runtime, f"shared-{i}", f"{http_target}/ok")
    schedulers = [
        CheckScheduler(runtime, owner=owner, loop_time=virtual_time) for owner in ("a", "b")
    ]
    await run_for(virtual_time, schedulers, 4)
    got = await results(runtime)
    assert len(got) == 30
    for key, checks in got.items():
        slots = [c.scheduled_at for c in checks]
        assert len(slots) == len(set(slots)), key  # no duplicate run of one slot
        assert len(slots) >= 2, key  # and none missed


async def test_a_write_round_records_what_had_finished_when_it_began(runtime: Runtime) -> None:
    scheduler = CheckScheduler(runtime)
    now = runtime.clock.now()

    def check() -> FinishedCheck:
        return FinishedCheck(uuid.uuid4(), Outcome(up=True), 1, now, now, now)

    written: list[list[FinishedCheck]] = []

    async def record(batch: list[FinishedCheck]) -> list[tuple[ProbedService, Transition]]:
        written.append(list(batch))
        scheduler._finished.append(check())  # one more finishes while this one is written
        await asyncio.sleep(0)
        return []

    scheduler._record = record  # type: ignore[method-assign]
    scheduler._finished.extend([check(), check()])
    await scheduler.write()
    assert [len(batch) for batch in written] == [2]  # not a trickle of one-check rounds
    assert len(scheduler._finished) == 1  # the late one waits for the next round
    await scheduler.write()
    assert [len(batch) for batch in written] == [2, 1]


async def test_a_write_round_needs_a_session_only_when_a_status_changes(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds that change no status (nearly all) run in a session-less transaction; one
    with a transition is rolled back before it writes and runs in a session, so the
    transition, its incident and alerts go through `record_transitions` as always. Failure
    counts of an open incident are written either way."""
    await add(runtime, "lean", "http://127.0.0.1:9/never-probed")
    scheduler = CheckScheduler(runtime)
    writing, sessions = runtime.db.writing, 0

    @contextlib.asynccontextmanager
    async def counted() -> AsyncIterator[AsyncSession]:
        nonlocal sessions
        sessions += 1
        async with writing() as session:
            yield session

    monkeypatch.setattr(runtime.db, "writing", counted)
    lean_tries = 0
    statement_transaction = statements.statement_transaction

    @contextlib.asynccontextmanager
    async def counted_lean(db: Database) -> AsyncIterator[statements.StatementTx]:
        nonlocal lean_tries
        lean_tries += 1
        async with statement_transaction(db) as tx:
            yield tx

    monkeypatch.setattr(statements, "statement_transaction", counted_lean)

    async def one_round(up: bool) -> list[tuple[ProbedService, Transition]]:
        assert await scheduler.claim() == 1  # its next slot, within the claim's horizon
        _, _, slot, spec = heapq.heappop(scheduler._heap)
        now = runtime.clock.now()
        check = FinishedCheck(spec.service_id, Outcome(up=up, latency_ms=1.0), 1, now, now, slot)
        return await scheduler._record([check])

    async def row() -> tuple[Service, list[CheckResult], list[Incident]]:
        async with runtime.db.reading() as session:
            service = (await session.scalars(select(Service))).one()
            checks = list(await session.scalars(select(CheckResult)))
            incidents = list(await session.scalars(select(Incident)))
            return service, checks, incidents

    changes = await one_round(up=True)  # unknown -> alive
    assert [t.to_status for _, t in changes] == [Status.ALIVE] and sessions == 1
    assert lean_tries == 2  # the claim, and the round's try before it needed the session
    changes = await one_round(up=True)  # alive, up again: the streak grows
    service, checks, _ = await row()
    assert changes == [] and sessions == 1
    assert (service.status, service.streak_count, len(checks)) == (Status.ALIVE, 2, 2)
    changes = await one_round(up=False)  # down (failure threshold 1): an incident opens
    assert [t.to_status for _, t in changes] == [Status.DOWN] and sessions == 2
    changes = await one_round(up=False)  # still down: counted into the open incident
    service, checks, (incident,) = await row()
    assert changes == [] and sessions == 2 and lean_tries == 8
    assert (service.status, len(checks)) == (Status.DOWN, 4)
    assert (incident.resolved, incident.checks_failed_count) == (False, 2)


async def test_a_claim_between_a_write_round_and_its_end_queues_the_next_slot(
    runtime: Runtime,
) -> None:
    """The write round has released a slot's lease (committed) but not yet let go of the
    slot in memory when the claim runs: the claim leases the next slot, and it is queued,
    not dropped (which left the service unchecked until its lease ran out)."""
    await add(runtime, "busy", "http://127.0.0.1:9/never-probed")
    scheduler = CheckScheduler(runtime)
    assert await scheduler.claim() == 1
    _, _, slot, spec = heapq.heappop(scheduler._heap)
    now = runtime.clock.now()
    done = FinishedCheck(spec.service_id, Outcome(up=True), 1, now, now, slot)
    await scheduler._record([done])  # committed: the lease is free, the next slot set
    assert await scheduler.claim() == 1  # before the round forgets `slot`
    (_, _, next_slot, _) = scheduler._heap[0]
    assert next_slot > slot and scheduler._queued == {spec.service_id: next_slot}
    scheduler._finished.append(done)
    scheduler._record = _written  # type: ignore[method-assign]
    await scheduler.write()  # the round ends: it forgets its own slot only
    assert scheduler._queued == {spec.service_id: next_slot}


async def _written(batch: list[FinishedCheck]) -> list[tuple[ProbedService, Transition]]:
    return []  # (already recorded above)
