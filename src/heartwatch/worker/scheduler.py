"""The probe scheduler (docs/architecture.md, "A probe, end to end").

`scheduler_state.next_run_at` is the schedule. Three loops share one worker:

- claim: once a second, lease the services due within the next few seconds that nobody
  holds (one UPDATE ... RETURNING), read their configuration, and push them onto an
  in-memory min-heap; renew the leases this worker holds so that only a dead worker's
  leases ever expire (and are then taken over by another worker);
- dispatch: pop each service at its time (the slots of each 10 ms start together, at
  its end) and run its check under a semaphore (HEARTWATCH_MAX_CONCURRENT_CHECKS);
- write: record the finished checks in one transaction, set each next run to
  `scheduled + interval` (never `finished + interval`: no drift) and release its lease.
  A result is written at most a second after its check, and within a quarter of its
  service's interval (so its next slot is set well before it is due): a transaction
  costs about as much as writing a hundred results in it, so a second's worth of results
  shares one where the intervals allow.

What the loops read and write goes through `services.schedule` (claims and write rounds
run without an ORM session unless a status changes).

Configuration is read at claim time, a few seconds before the run, so an edited interval
or a deleted service takes effect at its next run at the latest.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from heartwatch import gc_tuning
from heartwatch.domain.heartbeat import Transition
from heartwatch.runtime import Runtime
from heartwatch.services import schedule
from heartwatch.services.probes import (
    FinishedCheck,
    ProbedService,
    ProbeSpec,
    SpecReader,
    execute,
)

log = structlog.get_logger("heartwatch.scheduler")


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class LoopTime(Protocol):
    """What the scheduler's loops keep their deadlines and sleep on: the running event
    loop itself (the default), or a stand-in that tests move by hand, with `rt.clock`, to
    run seconds of schedule at once."""

    def time(self) -> float: ...

    def call_later(
        self,
        delay: float,
        callback: Callable[[asyncio.Future[None]], None],
        arg: asyncio.Future[None],
        /,
    ) -> TimerHandle: ...


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class CheckScheduler:
    CLAIM_EVERY_S = 1.0
    HORIZON_S = 5.0
    LEASE_S = 30.0
    WRITE_RETRY_S = 0.25  # after a failed write round
    WRITE_WITHIN_S = 1.0  # how late a result may be written (or a quarter interval)
    WRITE_BATCH = 500
    # Slots are started in buckets of this length, each bucket's together at its end: one
    # wake-up of the dispatcher (and one pass of the event loop) for the slots of 10 ms
    # rather than one each: a sizeable share of the worker's CPU at high check rates
    # (bench/scheduler.py), for a few ms more start drift on average (never early).
    DISPATCH_BUCKET_S = 0.010

    def __init__(
        self, runtime: Runtime, *, owner: str | None = None, loop_time: LoopTime | None = None
    ) -> None:
        self.rt = runtime
        self.owner = owner or worker_id()
        self._loop_time = loop_time  # None: the running event loop's
        # (slot as a POSIX timestamp, tiebreak, slot, spec): the dispatcher compares floats,
        # several times cheaper than aware datetimes, and orders them alike (distinct
        # microseconds stay distinct floats).
        self._heap: list[tuple[float, int, datetime, ProbeSpec]] = []
        self._tiebreak = itertools.count()
        # The slot of each service queued or running here, until its result is written.
        # By slot, not only by service: the claim right after a write round may lease
        # the next slot before the round has let go of this one.
        self._queued: dict[uuid.UUID, datetime] = {}
        self._finished: list[FinishedCheck] = []
        self._write_by = math.inf  # (loop time) when the oldest pending result is due
        # What the writer sleeps on until then: set when `_write_by` comes sooner, or stop.
        self._write_wakeup: asyncio.Future[None] | None = None
        self._specs = SpecReader(runtime.checkers)
        # What the dispatcher sleeps on: set by its timer, a claim that pushed, or stop.
        self._wakeup: asyncio.Future[None] | None = None
        # What the claimer sleeps on between claims: set by its timer, or stop.
        self._claim_wakeup: asyncio.Future[None] | None = None
        self._slots = asyncio.Semaphore(runtime.settings.max_concurrent_checks)
        self._running: set[asyncio.Task[None]] = set()

    # --- the loops ------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        log.info("scheduler started", owner=self.owner)
        gc_tuning.settle_after_startup()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._claim_loop(stop))
                group.create_task(self._dispatch_loop(stop))
                group.create_task(self._write_loop(stop))
                await stop.wait()
                self._wake()  # the dispatcher may be asleep (until its next slot)
                self._wake_writer()
                if self._claim_wakeup is not None:
                    _set_done(self._claim_wakeup)
        finally:
            await self._shutdown()
            log.info("scheduler stopped", owner=self.owner)

    def _time(self) -> LoopTime:
        return self._loop_time or asyncio.get_running_loop()

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        loop, timer = asyncio.get_running_loop(), self._time()
        renew_every = self.LEASE_S / 3
        last_renew = timer.time()
        while not stop.is_set():
            try:
                await self.claim()
                if timer.time() - last_renew >= renew_every:
                    await self.renew_leases()
                    last_renew = timer.time()
            except Exception:
                log.exception("claiming checks failed")
            if stop.is_set():
                break
            self._claim_wakeup = wakeup = loop.create_future()
            handle = timer.call_later(self.CLAIM_EVERY_S, _set_done, wakeup)
            try:
                await wakeup
            finally:
                handle.cancel()
                self._claim_wakeup = None

    async def _dispatch_loop(self, stop: asyncio.Event) -> None:
        # This wakes for every slot (hundreds a second), so it sleeps on one future and
        # one timer rather than on `wait_any`'s tasks.
        loop, timer = asyncio.get_running_loop(), self._time()
        heap = self._heap
        clock = self.rt.clock
        while not stop.is_set():
            now = clock.now().timestamp()
            while heap and heap[0][0] <= now:
                _, _, scheduled_at, spec = heapq.heappop(heap)
                await self._slots.acquire()
                task = loop.create_task(self._run(spec, scheduled_at))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            delay = math.inf  # nothing queued: asleep until a claim pushes (or stop)
            if heap:
                # Wake at the end of the next slot's bucket: the slots of one bucket start
                # together, one wake-up for all of them.
                bucket = self.DISPATCH_BUCKET_S
                end = (math.floor(heap[0][0] / bucket) + 1) * bucket
                delay = min(1.0, end - clock.now().timestamp())
            if delay > 0 and not stop.is_set():
                # uvloop's timers count whole milliseconds from the start of the loop's
                # pass and fire one under half a millisecond at once: rounded up (plus
                # one), the timer fires just after the slot, not in a busy loop before it.
                self._wakeup = wakeup = loop.create_future()
                handle = None
                if not math.isinf(delay):
                    handle = timer.call_later(math.ceil(delay * 1000 + 1) / 1000, _set_done, wakeup)
                try:
                    await wakeup
                finally:
                    if handle is not None:
                        handle.cancel()
                    self._wakeup = None

    def _wake(self) -> None:
        if self._wakeup is not None:
            _set_done(self._wakeup)

    async def _write_loop(self, stop: asyncio.Event) -> None:
        # Sleeps until the oldest pending result is due (woken when a result comes that
        # is due sooner): no rounds, and no wake-ups, while there is nothing to write.
        loop, timer = asyncio.get_running_loop(), self._time()
        while not stop.is_set():
            delay = self._write_by - timer.time()
            if delay > 0:
                self._write_wakeup = wakeup = loop.create_future()
                handle = None if math.isinf(delay) else timer.call_later(delay, _set_done, wakeup)
                try:
                    await wakeup
                finally:
                    if handle is not None:
                        handle.cancel()
                    self._write_wakeup = None
            elif not stop.is_set():
                await self.write()

    def _wake_writer(self) -> None:
        if self._write_wakeup is not None:
            _set_done(self._write_wakeup)

    # --- the steps (also used directly by tests and benchmarks) -----------------------
    async def claim(self) -> int:
        now = self.rt.clock.now()
        limit = max(100, self.rt.settings.max_concurrent_checks * 10)
        claimed = await schedule.claim_due(
            self.rt.db,
            self._specs,
            owner=self.owner,
            now=now,
            horizon=timedelta(seconds=self.HORIZON_S),
            lease=timedelta(seconds=self.LEASE_S),
            limit=limit,
            queued=self._queued,
        )
        for at, spec in claimed:
            self._queued[spec.service_id] = at
            heapq.heappush(self._heap, (at.timestamp(), next(self._tiebreak), at, spec))
        if claimed:
            self._wake()
        return len(claimed)

    async def renew_leases(self) -> None:
        now = self.rt.clock.now()
        await schedule.renew_leases(
            self.rt.db, self.owner, list(self._queued), now + timedelta(seconds=self.LEASE_S)
        )

    async def write(self) -> None:
        """Record the checks finished by now (those finishing meanwhile wait for the next
        round: a writer that kept up with them would write a trickle of tiny batches)."""
        self._write_by = math.inf
        pending = len(self._finished)
        while pending > 0:
            batch = self._finished[: min(pending, self.WRITE_BATCH)]
            try:
                changes = await self._record(batch)
            except Exception:
                if len(batch) == 1:
                    # The database is away (or refuses this very result): keep it and
                    # retry next round; leases are renewed meanwhile.
                    log.exception("writing check results failed", pending=len(self._finished))
                    self._write_by = self._time().time() + self.WRITE_RETRY_S
                    return
                # One result the database refuses must not hold back all the others:
                # write them one by one, and drop (with a log line) any that still fails.
                changes = []
                for check in batch:
                    try:
                        changes += await self._record([check])
                    except Exception:
                        log.exception(
                            "dropping a check result that cannot be written",
                            service_id=str(check.service_id),
                        )
            del self._finished[: len(batch)]
            pending -= len(batch)
            for check in batch:
                if self._queued.get(check.service_id) == check.scheduled_at:
                    del self._queued[check.service_id]
            for row, t in changes:
                log.info(
                    "status changed",
                    service=row.key,
                    from_status=str(t.from_status),
                    to_status=str(t.to_status),
                    at=t.at.isoformat(),
                    reason=t.reason,
                )

    async def _record(self, batch: list[FinishedCheck]) -> list[tuple[ProbedService, Transition]]:
        return await schedule.record_round(
            self.rt.db,
            batch,
            now=self.rt.clock.now(),
            dead_after=self.rt.rules.dead_after,
            owner=self.owner,
        )

    # --- internals --------------------------------------------------------------------
    async def _run(self, spec: ProbeSpec, scheduled_at: datetime) -> None:
        try:
            check = await execute(
                spec, scheduled_at, self.rt.checkers, self.rt.check_context, self.rt.clock
            )
            self._finished.append(check)
            within = min(self.WRITE_WITHIN_S, spec.interval_s / 4)
            write_by = self._time().time() + within
            if write_by < self._write_by:
                self._write_by = write_by
                self._wake_writer()  # to sleep until then instead
        finally:
            self._slots.release()

    async def _shutdown(self) -> None:
        """Let running checks finish (briefly), write their results, give back the rest."""
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=5)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await self.write()
            unrun = [spec.service_id for *_, spec in self._heap]
            await schedule.release_leases(self.rt.db, self.owner, unrun)
        except Exception:
            log.exception("scheduler shutdown could not write everything; leases will expire")


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
