"""The worker loop with a real runtime: ticks, dev-clock wake-ups, and surviving errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from heartwatch.config import Settings
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.status import Status
from heartwatch.runtime import Runtime
from heartwatch.services.heartbeats import Ping
from heartwatch.store.database import Database
from heartwatch.store.models import Service
from heartwatch.worker.runner import Worker


@pytest.fixture
async def runtime(db_url: str, database: Database) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate(
        {
            "database_url": db_url,
            "debug_mode": True,
            "check_interval_seconds": 3600,
            "self_monitor": False,
        }
    )
    async with Runtime.open(settings) as rt:
        yield rt


async def status_of(rt: Runtime, key: str) -> Status:
    async with rt.db.reading() as session:
        status = await session.scalar(select(Service.status).where(Service.key == key))
    assert status is not None
    return status


async def test_a_clock_move_wakes_the_worker_at_once(runtime: Runtime) -> None:
    """Even with an hour-long check interval, a dev clock move is acted on in about a second."""
    await runtime.heartbeats.record(
        Ping(key="w", signal=Signal.SUCCESS, received_at=runtime.clock.now(), period=60)
    )
    stop = asyncio.Event()
    task = asyncio.ensure_future(Worker(runtime).run(stop))
    try:
        await runtime.move_clock(125)
        for _ in range(40):
            if await status_of(runtime, "w") is Status.SILENT:
                break
            await asyncio.sleep(0.05)
        assert await status_of(runtime, "w") is Status.SILENT
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_a_failing_tick_does_not_end_the_worker(runtime: Runtime) -> None:
    worker = Worker(runtime)
    calls = 0
    real_tick = worker.tick

    async def flaky_tick() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return await real_tick()

    worker.tick = flaky_tick  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.ensure_future(worker.run(stop))
    await runtime.move_clock(1)  # wake it for a second tick
    for _ in range(40):
        if calls >= 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert calls >= 2
