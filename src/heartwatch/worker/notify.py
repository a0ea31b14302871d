"""The worker's notification loop: deliver the outbox, and queue the timed alerts
(reminders, end of flapping, the daily summary)."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import structlog

from heartwatch.runtime import Runtime
from heartwatch.services import maintenance, notify_jobs
from heartwatch.services.dispatch import Dispatcher
from heartwatch.worker.waiting import wait_any

log = structlog.get_logger("heartwatch.worker")

# The outbox is looked at this often: an alert leaves within about a second of being
# queued (its transaction committed).
POLL_S = 1.0
# Reminders, flapping and the summary are checked every this many polls.
JOBS_EVERY = 10


async def notify(rt: Runtime, stop: asyncio.Event) -> None:
    dispatcher = Dispatcher(
        rt.db,
        rt.clock,
        rt.notifiers,
        rt.notify_context,
        max_attempts=rt.settings.notify_max_attempts,
    )
    rounds = 0
    summarised: str | None = None  # the last local day whose summary this process queued
    try:
        while not stop.is_set():
            try:
                # (Dev mode: every round, so a clock move to 09:00 shows its summary at once.)
                if rounds % JOBS_EVERY == 0 or rt.dev_clock is not None:
                    summarised = await timed_alerts(rt, summarised)
                # Channels with a backlog keep draining in the background, each at its own
                # rate; a round only starts the ones that are idle.
                await dispatcher.start_due(stop)
            except Exception:
                log.exception("notification round failed")  # try again next round
            rounds += 1
            dev = rt.dev_clock
            await wait_any(POLL_S, stop, *([dev.changed] if dev is not None else []))
    finally:
        await dispatcher.close(stop)


async def timed_alerts(rt: Runtime, summarised: str | None) -> str | None:
    """Queue what is due; returns the day whose summary is queued by now."""
    await rt.sync_clock()
    now = rt.clock.now()
    settings = rt.settings
    async with rt.db.writing() as session:
        await notify_jobs.queue_reminders(session, now)
        await notify_jobs.settle_flapping(session, now)
        await maintenance.release_held(session, now)
    day = notify_jobs.summary_day(now, settings.daily_summary_time, ZoneInfo(settings.timezone))
    if day is None or day == summarised:
        return summarised
    # Once per local calendar day: the outbox's dedup key (summary:<day>:<channel>) makes
    # a restart or a second worker queue nothing more.
    async with rt.db.writing() as session:
        queued = await notify_jobs.queue_daily_summary(session, now, rt.rules, day)
    if queued:
        log.info("daily summary queued", day=day, channels=queued)
    return day
