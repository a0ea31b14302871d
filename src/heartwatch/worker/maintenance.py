"""The worker's housekeeping: hourly uptime rollups and pruning of raw history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from heartwatch.runtime import Runtime
from heartwatch.services import rollups
from heartwatch.worker.waiting import wait_any

log = structlog.get_logger("heartwatch.worker")

# Rollups are due a couple of minutes after each hour; looking once a minute keeps them
# (and the 90d/365d answers that read them) at most a few minutes behind.
EVERY_S = 60.0
PRUNE_EVERY = timedelta(hours=1)


async def maintain(rt: Runtime, stop: asyncio.Event) -> None:
    last_prune = None
    while not stop.is_set():
        try:
            await rt.sync_clock()
            now = rt.clock.now()
            await rollups.roll_up(rt.db, now, stop)
            if last_prune is None or abs(now - last_prune) >= PRUNE_EVERY:
                retention = timedelta(days=rt.settings.retention_days)
                await rollups.prune(rt.db, now, retention)
                last_prune = now
        except Exception:
            log.exception("maintenance failed")  # try again next round
        dev = rt.dev_clock
        await wait_any(EVERY_S, stop, *([dev.changed] if dev is not None else []))
