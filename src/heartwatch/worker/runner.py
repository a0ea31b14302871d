"""The worker's main loop: evaluate heartbeat deadlines every CHECK_INTERVAL_SECONDS."""

from __future__ import annotations

import asyncio
import time

import structlog

from heartwatch.client import aheartbeat
from heartwatch.domain.ping import PERIOD_MIN_S
from heartwatch.runtime import Runtime
from heartwatch.services.evaluator import evaluate_due
from heartwatch.worker.maintenance import maintain
from heartwatch.worker.notify import notify
from heartwatch.worker.scheduler import CheckScheduler
from heartwatch.worker.waiting import wait_any

log = structlog.get_logger("heartwatch.worker")

# In dev mode the worker looks at the shared clock this often, so a clock move made
# through another process's API is acted on within about a second.
DEV_CLOCK_POLL_S = 1.0
# The worker's own service in the registry: a dead worker shows up as silent, then down.
SELF_KEY = "heartwatch-worker"


class Worker:
    def __init__(self, runtime: Runtime, *, batch_size: int = 500) -> None:
        self.rt = runtime
        self.batch_size = batch_size
        # First report one interval in: by then the API of `heartwatch up` is listening.
        self._last_report = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeat deadlines and probe checks, side by side, until `stop`."""
        log.info("worker started", interval_s=self.rt.settings.check_interval_seconds)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._deadlines(stop))
            group.create_task(CheckScheduler(self.rt).run(stop))
            group.create_task(maintain(self.rt, stop))
            group.create_task(notify(self.rt, stop))
        log.info("worker stopped")

    async def _deadlines(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                # A lost database connection or a locked file must not end the worker:
                # log it and try again at the next tick.
                log.exception("worker tick failed")
            else:
                if not stop.is_set():
                    await self._report_in()
            await self._sleep(stop)

    async def tick(self) -> int:
        """Evaluate every service past its deadline; returns how many transitions resulted."""
        clock = self.rt.dev_clock
        if clock is not None:
            clock.changed.clear()  # a move from here on wakes the next sleep at once
        await self.rt.sync_clock()
        now = self.rt.clock.now()
        changed = 0
        while True:
            async with self.rt.db.writing() as session:
                seen, changes = await evaluate_due(
                    session, now, self.rt.rules, limit=self.batch_size
                )
            for key, t in changes:
                log.info(
                    "status changed",
                    service=key,
                    from_status=str(t.from_status),
                    to_status=str(t.to_status),
                    at=t.at.isoformat(),
                    reason=t.reason,
                )
            changed += len(changes)
            if seen < self.batch_size:
                return changed

    async def _report_in(self) -> None:
        """Heartbeat for the worker itself, through the API, like any other service."""
        settings = self.rt.settings
        interval = settings.check_interval_seconds
        if settings.self_monitor and time.monotonic() - self._last_report >= interval:
            self._last_report = time.monotonic()
            # The ping key from the settings: they read `.env` too, where the SDK's own
            # lookup (the process environment first) may not be what the server uses.
            # A sub-second check interval (tests, dev) still declares the shortest period
            # the API accepts: a shorter one is refused and the worker would look down.
            await aheartbeat(
                SELF_KEY,
                url=settings.api_url,
                period=max(interval, PERIOD_MIN_S),
                timeout=min(interval, 2.0),
                ping_key=settings.ping_key,
            )

    async def _sleep(self, stop: asyncio.Event) -> None:
        clock = self.rt.dev_clock
        if clock is None:
            await wait_any(self.rt.settings.check_interval_seconds, stop)
        else:
            seconds = min(self.rt.settings.check_interval_seconds, DEV_CLOCK_POLL_S)
            await wait_any(seconds, stop, clock.changed)
