"""Alerts from transition to delivery, through the outbox, against a local fake Telegram
Bot API that speaks the real wire format — on both backends."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from heartwatch.domain.heartbeat import HeartbeatRules, Signal
from heartwatch.domain.status import Status
from heartwatch.notifiers.base import NotifyContext, deliver
from heartwatch.notifiers.registry import NotifierRegistry, builtin_notifiers
from heartwatch.services import channels, notify_jobs, registry
from heartwatch.services.dispatch import LEASE, Dispatcher, message_of
from heartwatch.services.errors import NotFound
from heartwatch.services.evaluator import evaluate_due
from heartwatch.services.heartbeats import HeartbeatIngest, Ping
from heartwatch.store import notifications as store
from heartwatch.store.database import Database
from heartwatch.store.models import NotificationEvent, StateTransition
from tests.conftest import T0
from tests.fakes.telegram import FakeTelegram, fake_telegram  # noqa: F401 - a fixture
from tests.helpers import ManualClock

RULES = HeartbeatRules()


class Stack:
    def __init__(self, db: Database, telegram: FakeTelegram, http: aiohttp.ClientSession) -> None:
        self.db = db
        self.telegram = telegram
        self.clock = ManualClock(T0)
        self.notifiers = NotifierRegistry(
            builtin_notifiers(telegram_api_url=telegram.api_url), discover=False
        )
        self.ctx = NotifyContext(http=http, timeout_s=5)
        self.dispatcher = Dispatcher(db, self.clock, self.notifiers, self.ctx, max_attempts=3)

    async def channel(self, name: str = "ops", **extra: object) -> None:
        spec = channels.ChannelSpec(
            name=name,
            type="telegram",
            config={"bot_token": self.telegram.token, "chat_id": "42"},
            rate_per_minute=6000,
            **extra,  # type: ignore[arg-type]
        )
        async with self.db.writing() as session:
            await channels.create_channel(session, spec, self.notifiers, self.clock.now())

    async def ping(self, key: str, signal: Signal = Signal.SUCCESS, after: float = 0) -> None:
        at = self.clock.advance(after)
        hb = HeartbeatIngest(self.db, self.clock, RULES, auto_register=True)
        await hb.record(Ping(key=key, signal=signal, received_at=at, period=3600))

    async def events(self) -> list[NotificationEvent]:
        async with self.db.reading() as session:
            stmt = select(NotificationEvent).order_by(
                NotificationEvent.created_at, NotificationEvent.id
            )
            return list((await session.scalars(stmt)).all())

    def titles(self) -> list[str]:
        return [m.plain_text.splitlines()[0] for m in self.telegram.sent]


@pytest.fixture
async def stack(database: Database, fake_telegram: FakeTelegram) -> AsyncIterator[Stack]:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        yield Stack(database, fake_telegram, http)


async def test_one_down_and_one_recovery_message_per_outage(stack: Stack) -> None:
    await stack.channel()
    await stack.ping("payments")
    await stack.ping("payments", Signal.FAIL, after=60)
    await stack.ping("payments", Signal.SUCCESS, after=12 * 60)
    await stack.ping("payments", Signal.SUCCESS, after=60)  # alive -> alive: no news
    assert await stack.dispatcher.run_once() == 2
    assert stack.titles() == ["payments is DOWN", "payments RECOVERED after 12 min"]
    down = stack.telegram.sent[0].plain_text
    assert "Status: down (was alive)" in down and "Incident:" in down
    assert await stack.dispatcher.run_once() == 0  # sent once, never again
    assert len(stack.telegram.sent) == 2
    async with stack.db.reading() as session:
        flags = (await session.scalars(select(StateTransition.alert_sent))).all()
    # unknown -> alive was not news (no event): it stays unflagged; the others are sent
    assert sorted(flags) == [False, True, True]
    assert all(e.status == "sent" and e.sent_at is not None for e in await stack.events())


async def test_a_429_is_honoured_exactly_and_nothing_is_lost_or_doubled(stack: Stack) -> None:
    await stack.channel()
    await stack.ping("api")
    await stack.ping("api", Signal.FAIL, after=60)
    stack.telegram.fail_next(1, status=429, retry_after=1)
    assert await stack.dispatcher.run_once() == 1  # rescheduled
    [event] = await stack.events()
    assert event.status == "queued" and event.next_attempt_at == stack.clock.now() + timedelta(
        seconds=1
    )
    assert "429" in (event.last_error or "") or "Too Many" in (event.last_error or "")
    assert await stack.dispatcher.run_once() == 0  # not due yet
    stack.clock.advance(1)
    await asyncio.sleep(1.05)  # the channel's own pause is real time
    assert await stack.dispatcher.run_once() == 1
    assert stack.titles() == ["api is DOWN"]
    [event] = await stack.events()
    assert event.status == "sent" and event.attempts == 2


async def test_server_errors_back_off_then_fail_after_max_attempts(stack: Stack) -> None:
    await stack.channel()
    await stack.ping("api")
    await stack.ping("api", Signal.FAIL, after=60)
    stack.telegram.fail_next(5, status=500)
    await stack.dispatcher.run_once()
    [event] = await stack.events()
    assert event.status == "queued"
    assert event.next_attempt_at == stack.clock.now() + timedelta(seconds=10)
    stack.clock.advance(10)
    await stack.dispatcher.run_once()
    [event] = await stack.events()
    assert event.next_attempt_at == stack.clock.now() + timedelta(seconds=20)  # doubled
    stack.clock.advance(20)
    await stack.dispatcher.run_once()
    [event] = await stack.events()
    assert event.status == "failed" and event.attempts == 3 and event.last_error
    assert stack.telegram.sent == []


async def test_a_wrong_token_fails_at_once_with_the_reason(stack: Stack) -> None:
    spec = channels.ChannelSpec(
        name="bad", type="telegram", config={"bot_token": "123:WRONG", "chat_id": "42"}
    )
    async with stack.db.writing() as session:
        await channels.create_channel(session, spec, stack.notifiers, stack.clock.now())
    await stack.ping("api")
    await stack.ping("api", Signal.FAIL, after=60)
    await stack.dispatcher.run_once()
    [event] = await stack.events()
    assert event.status == "failed" and event.attempts == 1
    assert "WRONG" not in (event.last_error or "")  # the secret is never echoed


async def test_a_worker_killed_between_send_and_mark_resends_at_most_once(stack: Stack) -> None:
    await stack.channel()
    await stack.ping("db")
    await stack.ping("db", Signal.FAIL, after=60)
    [queued] = await stack.events()
    # A worker claims the event and delivers it, then dies before marking it sent.
    now = stack.clock.now()
    async with stack.db.writing() as session:
        [claimed] = await store.claim(session, queued.channel_id, now, now + LEASE, 10)
    settings = stack.notifiers.validate(
        "telegram", {"bot_token": stack.telegram.token, "chat_id": "42"}
    )
    await deliver(stack.notifiers.get("telegram"), message_of(claimed), settings, stack.ctx)
    assert await stack.dispatcher.run_once() == 0  # its lease still holds
    stack.clock.advance(LEASE.total_seconds())
    assert await stack.dispatcher.run_once() == 1  # the lapsed lease: sent again, once
    stack.clock.advance(LEASE.total_seconds())
    assert await stack.dispatcher.run_once() == 0
    assert stack.titles() == ["db is DOWN", "db is DOWN"]


async def test_muted_services_record_transitions_but_tell_nobody(stack: Stack) -> None:
    await stack.channel()
    await stack.ping("batch")
    async with stack.db.writing() as session:
        now = stack.clock.now()
        await registry.mute(session, "batch", until=now + timedelta(hours=1), now=now)
    await stack.ping("batch", Signal.FAIL, after=60)
    await stack.ping("batch", Signal.SUCCESS, after=60)
    assert await stack.events() == []
    async with stack.db.reading() as session:
        assert len((await session.scalars(select(StateTransition))).all()) == 3
    stack.clock.advance(3600)  # the window ends: alerts flow again
    await stack.ping("batch", Signal.FAIL)
    assert [e.kind for e in await stack.events()] == ["down"]


async def test_flapping_is_announced_once_and_holds_alerts_until_stable(stack: Stack) -> None:
    await stack.channel()
    await stack.ping("flaky")  # unknown -> alive: 1 transition
    for _ in range(5):  # 10 more transitions within minutes
        await stack.ping("flaky", Signal.FAIL, after=30)
        await stack.ping("flaky", Signal.SUCCESS, after=30)
    kinds = [e.kind for e in await stack.events()]
    # down, recovered, down, recovered (transitions 2-5), then the 6th is flapping
    assert kinds == ["down", "recovered", "down", "recovered", "flapping"]
    async with stack.db.writing() as session:
        assert await notify_jobs.settle_flapping(session, stack.clock.now()) == 0
    stack.clock.advance(31 * 60)
    async with stack.db.writing() as session:
        assert await notify_jobs.settle_flapping(session, stack.clock.now()) == 1
    await stack.dispatcher.run_once()
    assert stack.titles()[-2:] == ["flaky is FLAPPING", "flaky stopped flapping: ALIVE"]
    await stack.ping("flaky", Signal.FAIL)  # stable again: alerts flow
    assert (await stack.events())[-1].kind == "down"


async def test_reminders_every_n_hours_while_down(stack: Stack) -> None:
    await stack.channel(reminder_hours=1.0)
    await stack.ping("etl")
    await stack.ping("etl", Signal.FAIL, after=60)

    async def remind(after_minutes: float) -> int:
        stack.clock.advance(after_minutes * 60)
        async with stack.db.writing() as session:
            await notify_jobs.queue_reminders(session, stack.clock.now())
        return sum(e.kind == "reminder" for e in await stack.events())

    assert await remind(30) == 0
    assert await remind(31) == 1
    assert await remind(5) == 1  # once per period, however often the worker looks
    assert await remind(60) == 2
    await stack.dispatcher.run_once()
    assert stack.titles()[-1].startswith("etl is still DOWN (2 h")


def test_the_summary_is_due_once_its_local_time_has_come() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    nine = datetime(2026, 1, 5, 9, 0).time()
    assert (
        notify_jobs.summary_day(datetime.fromisoformat("2026-01-05T07:59:59+00:00"), nine, berlin)
        is None
    )
    assert (
        notify_jobs.summary_day(datetime.fromisoformat("2026-01-05T08:00:00+00:00"), nine, berlin)
        == "2026-01-05"
    )
    # 23:30 UTC is already the next day in Berlin, and past 09:00 there? no: 00:30
    assert (
        notify_jobs.summary_day(datetime.fromisoformat("2026-01-05T23:30:00+00:00"), nine, berlin)
        is None
    )


async def test_the_daily_summary_is_queued_once_per_day_and_channel(stack: Stack) -> None:
    await stack.channel()
    await stack.channel("alerts-only", events=["down"])
    await stack.ping("payments")
    await stack.ping("payments", Signal.FAIL, after=60)
    for _ in range(2):  # a restart, or a second worker
        async with stack.db.writing() as session:
            await notify_jobs.queue_daily_summary(session, stack.clock.now(), RULES, "2026-01-05")
    summaries = [e for e in await stack.events() if e.kind == "summary"]
    assert len(summaries) == 1  # "alerts-only" does not want it
    await stack.dispatcher.run_once()
    # The two channels send side by side: the summary need not be the last message sent.
    [text] = [m.plain_text for m in stack.telegram.sent if m.plain_text.startswith("Daily")]
    assert text.startswith("Daily summary")
    assert "1 down" in text and "payments: down since" in text
    assert "Incidents (last 24 h): 1 (1 open)" in text and "Uptime (last 24 h)" in text


async def test_a_backlog_bigger_than_a_batch_drains_at_the_channel_rate_in_one_go(
    stack: Stack,
) -> None:
    # The worker used to send one batch (at most 50) per round and then sleep a second
    # before the next: 1,000 alerts at 20/s went out at ~14/s.
    await stack.channel()  # 6,000 a minute: one every 10 ms
    for i in range(55):
        await stack.ping(f"svc-{i}")
        await stack.ping(f"svc-{i}", Signal.FAIL, after=1)
    stop = asyncio.Event()
    assert await stack.dispatcher.start_due(stop) == 1
    await stack.dispatcher.idle()  # one round: no second start_due needed
    assert len(stack.titles()) == 55 and len(set(stack.titles())) == 55
    assert all(e.status == "sent" and e.attempts == 1 for e in await stack.events())
    times = [m.at for m in stack.telegram.sent]
    # Paced, not bursting. The times are taken where the fake Bot API receives each
    # request, so one late arrival followed by an on-time one can look closer than the
    # pace on a loaded machine: the typical gap and the whole span are what pacing fixes.
    gaps = sorted(b - a for a, b in itertools.pairwise(times))
    assert gaps[len(gaps) // 2] >= 0.01 - 0.001
    assert times[-1] - times[0] >= 54 * 0.01 - 0.005


async def test_a_slow_channel_does_not_hold_back_a_fast_one(stack: Stack) -> None:
    # The worker used to wait for every channel's batch before looking again, so a
    # Telegram group at 20 a minute held every other channel's new alerts for up to 20 s.
    await stack.channel("fast", service_keys=["d"])
    slow = channels.ChannelSpec(
        name="slow",
        type="telegram",
        config={"bot_token": stack.telegram.token, "chat_id": "43"},
        service_keys=["a", "b", "c"],
        rate_per_minute=30,  # one every 2 s
    )
    async with stack.db.writing() as session:
        await channels.create_channel(session, slow, stack.notifiers, stack.clock.now())
    for key in ("a", "b", "c"):
        await stack.ping(key)
        await stack.ping(key, Signal.FAIL, after=1)
    stop = asyncio.Event()
    assert await stack.dispatcher.start_due(stop) == 1
    await stack.telegram.wait_for_sent(1, within=1.5)  # "slow" sends one, waits 2 s
    await stack.ping("d")
    await stack.ping("d", Signal.FAIL, after=1)
    assert await stack.dispatcher.start_due(stop) == 1  # "fast"; "slow" is still draining
    await stack.telegram.wait_for_sent(2, within=1.5)  # well before "slow" may send again
    assert stack.telegram.messages_to(42)[0].plain_text.startswith("d is DOWN")
    assert len(stack.telegram.messages_to(43)) == 1
    # Stopping: "slow" hands back what it claimed and had not sent, uncharged.
    stop.set()
    await stack.dispatcher.close(stop)
    async with stack.db.reading() as session:
        slow_id = (await channels.get_channel(session, "slow")).id
    held = [e for e in await stack.events() if e.channel_id == slow_id]
    assert sorted((e.status, e.attempts) for e in held) == [
        ("queued", 0),
        ("queued", 0),
        ("sent", 1),
    ]


async def test_the_changes_of_one_evaluation_are_one_alert_on_the_last(stack: Stack) -> None:
    # A worker catching up finds silent and down at once: that was two alerts in one
    # second ("is SILENT", "is DOWN"), for each service. Now one, naming the path; both
    # transitions are still recorded.
    await stack.channel()
    keys = [f"job-{i:02d}" for i in range(20)]
    for key in keys:
        await stack.ping(key)
    stack.clock.advance(5 * 3600)  # past 2 and 4 periods of 1 h: silent, then down
    async with stack.db.writing() as session:
        await evaluate_due(session, stack.clock.now(), RULES)
    assert await stack.dispatcher.run_once() == 20
    for key in keys:
        told = [m.plain_text for m in stack.telegram.sent if m.plain_text.startswith(f"{key} ")]
        assert [text.splitlines()[0] for text in told] == [f"{key} is DOWN"], told
        assert "Status: down (was alive)" in told[0]
        assert "Path: alive → silent → down" in told[0]
    async with stack.db.reading() as session:
        recorded = (await session.scalars(select(StateTransition.to_status))).all()
    assert recorded.count(Status.SILENT) == recorded.count(Status.DOWN) == 20


async def test_the_outbox_reads_newest_first_by_channel_and_status(stack: Stack) -> None:
    await stack.channel("ops")
    await stack.channel("oncall")
    await stack.ping("payments")
    await stack.ping("payments", Signal.FAIL, after=60)
    await stack.ping("payments", Signal.SUCCESS, after=60)
    assert await stack.dispatcher.run_once() > 0
    async with stack.db.reading() as session:
        assert [c.name for c in await channels.list_channels(session)] == ["oncall", "ops"]
        ops = await channels.get_channel(session, "ops")
        everything = await channels.outbox(session, None, None, 100)
        assert {e.kind for e in everything} == {"down", "recovered"} and len(everything) == 4
        by_name = await channels.outbox(session, "ops", None, 100)
        by_id = await channels.outbox(session, str(ops.id), None, 100)
        assert [e.id for e in by_name] == [e.id for e in by_id]
        assert [e.kind for e in by_name] == ["recovered", "down"]  # newest first
        assert {e.channel_id for e in by_name} == {ops.id}
        assert [e.status for e in await channels.outbox(session, None, "sent", 100)] == ["sent"] * 4
        assert await channels.outbox(session, None, "queued", 100) == []
        assert len(await channels.outbox(session, None, None, 1)) == 1
        with pytest.raises(NotFound):
            await channels.outbox(session, "nobody", None, 100)


async def test_an_outage_found_and_ended_by_one_heartbeat_is_one_recovery(stack: Stack) -> None:
    # A heartbeat that arrives after an outage nobody had noticed yet records silent,
    # down and alive at once: one alert, the recovery, saying what happened.
    await stack.channel()
    await stack.ping("late")
    await stack.ping("late", after=5 * 3600)
    assert await stack.dispatcher.run_once() == 1
    [message] = stack.telegram.sent
    assert message.plain_text.splitlines()[0] == "late RECOVERED after 1 h"
    assert "Path: alive → silent → down → alive" in message.plain_text
