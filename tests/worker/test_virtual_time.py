"""The stand-in time the scheduler tests run on: timers fire in order, each at its moment,
cancelled ones never, and time moves only through `advance`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from tests.conftest import T0
from tests.worker.virtual_time import VirtualTime


def done(future: asyncio.Future[None]) -> None:
    future.set_result(None)


async def test_timers_fire_in_order_at_their_moment_and_cancelled_ones_never() -> None:
    vt = VirtualTime(T0)
    loop = asyncio.get_running_loop()
    seen: list[tuple[str, float]] = []
    futures = {name: loop.create_future() for name in ("late", "early", "cancelled", "beyond")}

    def note(name: str) -> Callable[[asyncio.Future[None]], None]:
        return lambda _: seen.append((name, vt.time()))

    for name, future in futures.items():
        future.add_done_callback(note(name))
    vt.call_later(2.0, done, futures["late"])
    vt.call_later(0.5, done, futures["early"])
    vt.call_later(1.0, done, futures["cancelled"]).cancel()
    vt.call_later(9.0, done, futures["beyond"])
    await vt.advance(3.0, settled=lambda: True)
    assert seen == [("early", 0.5), ("late", 2.0)]
    assert vt.time() == 3.0 and vt.now() == T0 + timedelta(seconds=3)
    assert vt.pending() == [9.0]


async def test_advance_waits_for_the_work_a_timer_set_off() -> None:
    vt = VirtualTime(T0)
    loop = asyncio.get_running_loop()
    finished_at: list[float] = []

    async def work() -> None:
        await asyncio.sleep(0.02)  # real I/O takes real time
        finished_at.append(vt.time())

    tasks: list[asyncio.Task[None]] = []
    started = loop.create_future()
    started.add_done_callback(lambda _: tasks.append(loop.create_task(work())))
    vt.call_later(1.0, done, started)
    await vt.advance(5.0, settled=lambda: all(t.done() for t in tasks))
    assert finished_at == [1.0]  # done before time moved on
