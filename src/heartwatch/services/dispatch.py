"""The outbox's other half: deliver queued notification events, in the worker.

Per channel, events go out one at a time, oldest first, no faster than the channel's
rate (its own `rate_per_minute`, else its notifier type's). An event is leased while
it is being sent; a worker that dies between sending and marking leaves a lapsed lease,
and the event is sent again — once — by whoever claims it next. That is the one
duplicate the design allows (at-least-once); nothing is ever lost.

The worker keeps each channel draining on its own (`start_due`): batch after batch, with
no pause between batches but the channel's own pace, and without waiting for the other
channels — a slow channel (a Telegram group at 20 a minute) must not hold back a fast
one, nor a full batch leave the channel idle until the next poll.

Failures: a retryable one (429, 5xx, timeout) is tried again with exponential backoff —
or exactly after the channel's `retry_after`, during which the whole channel waits —
until `max_attempts`; a permanent one (a wrong token, an unknown chat) fails at once
with the error kept for people to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from heartwatch.clock import Clock
from heartwatch.notifiers.base import DeliveryError, Message, NotifyContext, deliver
from heartwatch.notifiers.registry import NotifierRegistry
from heartwatch.store import notifications as store
from heartwatch.store.database import Database
from heartwatch.store.models import NotificationChannel, NotificationEvent

log = structlog.get_logger("heartwatch.notify")

LEASE = timedelta(seconds=60)
# Claim no more than can be sent in this part of the lease, so leases never lapse
# while their events wait their turn behind the rate limit.
_CLAIM_HORIZON_S = 20.0
_MAX_CLAIM = 50
_BACKOFF_BASE_S = 10.0
# Timers may fire a hair early; a wait this close to its end counts as done.
_TIMER_SLACK_S = 0.05
_BACKOFF_MAX_S = 3600.0


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, ... up to an hour, after the given number of attempts."""
    return timedelta(seconds=min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


def message_of(event: NotificationEvent) -> Message:
    p: dict[str, Any] = event.payload
    return Message(
        event=p["event"],
        title=p["title"],
        body=p.get("body", ""),
        at=datetime.fromisoformat(p["at"]),
        service_key=p.get("service_key"),
        service_name=p.get("service_name"),
        status=p.get("status"),
        url=p.get("url"),
        incident_id=p.get("incident_id"),
        criticality=p.get("criticality"),
        fields=p.get("fields") or {},
    )


@dataclass
class _Pace:
    """When a channel may send next (monotonic seconds): its rate, and any wait it asked
    for with a 429."""

    next_at: float = 0.0
    busy: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifiers: NotifierRegistry,
        ctx: NotifyContext,
        *,
        max_attempts: int = 8,
    ) -> None:
        self.db = db
        self.clock = clock
        self.notifiers = notifiers
        self.ctx = ctx
        self.max_attempts = max_attempts
        self._pace: dict[uuid.UUID, _Pace] = {}
        self._drains: dict[uuid.UUID, asyncio.Task[None]] = {}

    def rate_of(self, channel: NotificationChannel) -> float:
        if channel.rate_per_minute:
            return channel.rate_per_minute
        try:
            return self.notifiers.get(channel.type).rate_per_minute
        except (KeyError, ValueError):
            return 60.0

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Send what is due on every channel (channels in parallel); returns how many
        events were settled (sent, failed or rescheduled). With `stop` set, a channel
        waiting for its rate hands its claimed events back and returns at once."""
        now = self.clock.now()
        async with self.db.reading() as session:
            due = set(await store.channels_with_due_events(session, now))
            channels = [c for c in await store.all_channels(session) if c.id in due]
        if not channels:
            return 0
        done = await asyncio.gather(*(self._drain(c, stop or asyncio.Event()) for c in channels))
        return sum(done)

    async def start_due(self, stop: asyncio.Event) -> int:
        """The worker's round: every channel with due events that is not draining yet
        starts draining in the background, and this returns at once. Returns how many
        channels started; `close()` waits for them."""
        now = self.clock.now()
        async with self.db.reading() as session:
            due = await store.channels_with_due_events(session, now)
        started = 0
        for channel_id in due:
            task = self._drains.get(channel_id)
            if task is None or task.done():
                self._drains[channel_id] = asyncio.create_task(
                    self._keep_draining(channel_id, stop), name=f"notify-drain-{channel_id}"
                )
                started += 1
        return started

    async def idle(self) -> None:
        """Until the channels started by `start_due` have nothing due left (or stopped)."""
        while self._drains:
            await asyncio.gather(*self._drains.values(), return_exceptions=True)
            self._drains = {k: t for k, t in self._drains.items() if not t.done()}

    async def close(self, stop: asyncio.Event) -> None:
        """Wait for the drains: after `stop` is set they hand back what they hold unsent.
        Without `stop` (the worker is being cancelled) they are cancelled: what they had
        claimed is sent by whoever claims it once its lease lapses."""
        if not stop.is_set():
            for task in self._drains.values():
                task.cancel()
        await asyncio.gather(*self._drains.values(), return_exceptions=True)
        self._drains.clear()

    async def _keep_draining(self, channel_id: uuid.UUID, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                # Read again each batch: the channel may have been changed or deleted.
                async with self.db.reading() as session:
                    channel = await store.get_channel(session, channel_id)
                if channel is None or await self._drain(channel, stop) == 0:
                    return  # nothing due (or waiting out a long retry_after): next round
        except Exception:
            # The next round starts it again; the lease keeps what it held safe meanwhile.
            log.exception("notification drain failed", channel_id=str(channel_id))

    async def _drain(self, channel: NotificationChannel, stop: asyncio.Event) -> int:
        pace = self._pace.setdefault(channel.id, _Pace())
        if pace.lock.locked():
            return 0  # a previous round is still sending on this channel
        async with pace.lock:
            interval = 60.0 / max(self.rate_of(channel), 1e-3)
            wait = max(0.0, pace.next_at - time.monotonic())
            if wait > _CLAIM_HORIZON_S:
                return 0  # the channel asked us to wait (429): not yet
            n = max(1, min(_MAX_CLAIM, int((_CLAIM_HORIZON_S - wait) / interval)))
            now = self.clock.now()
            async with self.db.writing() as session:
                events = await store.claim(session, channel.id, now, now + LEASE, n)
            settled = 0
            for i, event in enumerate(events):
                delay = pace.next_at - time.monotonic()
                if 0 < delay <= _CLAIM_HORIZON_S:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set() or pace.next_at - time.monotonic() > _TIMER_SLACK_S:
                    # Stopping, or a 429 mid-batch: hand the rest back, unsent.
                    async with self.db.writing() as session:
                        await store.release(session, [e.id for e in events[i:]])
                    break
                pace.next_at = time.monotonic() + interval
                settled += await self._send(channel, event, pace)
            return settled

    async def _send(
        self, channel: NotificationChannel, event: NotificationEvent, pace: _Pace
    ) -> int:
        try:
            notifier = self.notifiers.get(channel.type)
            settings = self.notifiers.validate(channel.type, channel.config)
            await deliver(notifier, message_of(event), settings, self.ctx)
        except DeliveryError as exc:
            return await self._failed(channel, event, pace, exc)
        except (KeyError, ValueError) as exc:  # type gone, config no longer valid
            return await self._failed(
                channel, event, pace, DeliveryError(str(exc), retryable=False)
            )
        now = self.clock.now()
        async with self.db.writing() as session:
            ours = await store.mark(session, event.id, status="sent", now=now)
            if ours and event.transition_id is not None:
                await store.settle_alert_sent(session, event.transition_id)
        log.info("notification sent", channel=channel.name, kind=event.kind, event_id=str(event.id))
        return 1

    async def _failed(
        self,
        channel: NotificationChannel,
        event: NotificationEvent,
        pace: _Pace,
        exc: DeliveryError,
    ) -> int:
        now = self.clock.now()
        if exc.retry_after is not None:
            # The channel said how long to wait: the whole channel waits, exactly that.
            pace.next_at = max(pace.next_at, time.monotonic() + exc.retry_after)
        if exc.retryable and event.attempts < self.max_attempts:
            wait = (
                timedelta(seconds=exc.retry_after)
                if exc.retry_after is not None
                else backoff(event.attempts)
            )
            status, retry_at = "queued", now + wait
        else:
            status, retry_at = "failed", None
        async with self.db.writing() as session:
            await store.mark(
                session,
                event.id,
                status=status,
                now=now,
                next_attempt_at=retry_at,
                error=exc.message,
            )
        log.warning(
            "notification not delivered",
            channel=channel.name,
            kind=event.kind,
            attempt=event.attempts,
            error=exc.message,
            retry_at=retry_at.isoformat() if retry_at else None,
        )
        return 1
