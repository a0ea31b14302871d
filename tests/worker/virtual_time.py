"""Time that passes only when a test says so, for the scheduler's loops.

`VirtualTime` is both the wall clock (`now`, put in the runtime's place) and the loop time
(`time`, `call_later`: what `CheckScheduler(loop_time=...)` sleeps on). `advance(seconds)`
fires the timers due in those seconds in order, each at its moment; after each it waits
until the schedulers have done everything that timer set off (claims, checks against a
real target, write rounds on a real database) and are asleep again. So seconds of schedule
run in the few milliseconds their work takes, in the same order as in real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# How long (real seconds) the work one timer set off may take before a test fails.
SETTLE_TIMEOUT_S = 10.0


@dataclass(order=True)
class VirtualTimer:
    when: float
    seq: int
    callback: Callable[[asyncio.Future[None]], None] = field(compare=False)
    arg: asyncio.Future[None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualTime:
    def __init__(self, start: datetime) -> None:
        self._start = start
        self._elapsed = 0.0
        self._timers: list[VirtualTimer] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def time(self) -> float:
        return self._elapsed

    def call_later(
        self,
        delay: float,
        callback: Callable[[asyncio.Future[None]], None],
        arg: asyncio.Future[None],
        /,
    ) -> VirtualTimer:
        timer = VirtualTimer(self._elapsed + max(0.0, delay), next(self._seq), callback, arg)
        heapq.heappush(self._timers, timer)
        return timer

    def pending(self) -> list[float]:
        """When the timers not yet fired nor cancelled are due (loop time)."""
        return sorted(t.when for t in self._timers if not t.cancelled)

    async def advance(self, seconds: float, *, settled: Callable[[], bool]) -> None:
        """Move time on by `seconds`, firing each timer due on the way at its moment and
        waiting after each until `settled()` (all the work it set off is done)."""
        until = self._elapsed + seconds
        await self.settle(settled)
        while self._timers and self._timers[0].when <= until:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._elapsed = max(self._elapsed, timer.when)
            timer.callback(timer.arg)
            await self.settle(settled)
        self._elapsed = until

    async def settle(self, settled: Callable[[], bool]) -> None:
        # Real I/O (the databases, the HTTP target) takes real time: poll for it.
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        await asyncio.sleep(0)
        while not settled():
            assert time.monotonic() < deadline, "the work of one timer did not finish in time"
            await asyncio.sleep(0.001)
