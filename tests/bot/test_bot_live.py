"""The bot through the fake Bot API, answering from a real heartwatch API and database."""

from __future__ import annotations

import asyncio
import itertools
import re
import time

from heartwatch.api.auth import REAL_TIME
from heartwatch.bot.runner import Pacing
from heartwatch.domain.auth import Role
from heartwatch.services import registry
from tests.bot.conftest import (
    ALLOWED_CHAT,
    GROUP_CHAT,
    OTHER_CHAT,
    LiveApi,
    ask,
    bot_settings,
    running_bot,
)
from tests.fakes.net import bound_socket, port_of
from tests.fakes.telegram import FakeTelegram


async def some_services(api: LiveApi) -> None:
    await api.create(key="billing", name="Billing <b> & co", expected_period_sec=300)
    await api.heartbeat("billing", "/fail", "disk full")
    for key in ("web", "queue", "cron"):
        await api.heartbeat(key)


async def test_status_lists_the_problems_with_a_footer(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    await some_services(live_api)
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        text = await ask(fake_telegram, "/status")
        assert text.splitlines()[0] == "1 of 4 services need attention"
        assert "🔴 Billing <b> & co (billing) — down for " in text
        assert text.splitlines()[-1] == "3 alive · 1 down"

        full = await ask(fake_telegram, "/status_full")
        assert "🔴 Down (1)" in full and "🟢 Alive (3)" in full
        assert re.search(r"^web · every 5m · seen \d+s ago · [\d.]+% 24h$", full, re.M)

        # The menu was registered; a group's command with the bot's name works too.
        assert [c["command"] for c in fake_telegram.commands][:2] == ["status", "status_full"]
        text = await ask(
            fake_telegram, "/status@heartwatch_test_bot", chat_id=GROUP_CHAT, chat_type="group"
        )
        assert text.startswith("1 of 4 services need attention")


async def test_all_ok_then_info_history_incidents_and_summary(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    for key in ("a", "b"):
        await live_api.heartbeat(key)
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        assert await ask(fake_telegram, "/status") == "✅ All 2 services are OK"
        failed_at = time.monotonic()
        await live_api.heartbeat("a", "/fail")
        info = await ask(fake_telegram, "/info a")
        # Real time passes between the fail and the answer (more than a second on a busy
        # machine): the durations shown are at most that, in whole seconds.
        elapsed = time.monotonic() - failed_at
        down_for = re.search(r"Status: down for (\d+)s", info)
        open_for = re.search(r"Open incident: (\d+)s", info)
        assert down_for and open_for and "Uptime: " in info, info
        assert int(down_for[1]) <= elapsed and int(open_for[1]) <= elapsed, (info, elapsed)
        assert "alive → down" in info
        assert "alive → down" in await ask(fake_telegram, "/history a")
        assert "1 open incident" in await ask(fake_telegram, "/incidents")
        assert "Services: 2" in await ask(fake_telegram, "/summary")
        assert "/status_full" in await ask(fake_telegram, "/help")


async def test_unknown_key_and_bad_arguments_are_answered(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        assert (await ask(fake_telegram, "/info nope")).startswith("🤷")
        assert (await ask(fake_telegram, "/info")).startswith("Which service?")
        assert (await ask(fake_telegram, "/mute x soon")).startswith("Usage:")


async def test_mute_and_unmute_from_the_chat(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    await some_services(live_api)
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        answer = await ask(fake_telegram, "/mute billing 2h")
        assert answer.startswith("🔕 billing muted until ")
        async with live_api.runtime.db.reading() as session:
            row = await registry.get_service(session, "billing")
        assert row.muted_until is not None
        status = await ask(fake_telegram, "/status")
        assert re.search(r"billing\) — down for \d+s 🔕 muted for 1h 59m", status), status
        muted = await ask(fake_telegram, "/muted")
        assert muted.splitlines()[0] == "1 muted"
        assert "🔕 Billing <b> & co (billing) — until " in muted
        assert (await ask(fake_telegram, "/mute all 30m")).startswith(
            "🔕 All 4 services muted until "
        )
        assert (await ask(fake_telegram, "/unmute all")).startswith("🔔 All 4 services unmuted")
        async with live_api.runtime.db.reading() as session:
            rows = await registry.list_services(session)
        assert all(r.muted_until is None for r in rows)
        assert await ask(fake_telegram, "/muted") == "🔔 No service is muted."


async def test_a_chat_that_is_not_allowed_gets_only_the_start_answer(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    await some_services(live_api)
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        for command in ("/status", "/status_full", "/info billing", "/mute billing 1h"):
            answer = await ask(fake_telegram, command, chat_id=OTHER_CHAT)
            assert "This chat may not query heartwatch" in answer
            assert f"TELEGRAM_ALLOWED_CHAT_IDS={ALLOWED_CHAT},{GROUP_CHAT},{OTHER_CHAT}" in answer
        for message in fake_telegram.messages_to(OTHER_CHAT):
            assert "billing" not in message.plain_text.lower()
            assert "alive" not in message.plain_text and "down" not in message.plain_text
        async with live_api.runtime.db.reading() as session:
            assert (await registry.get_service(session, "billing")).muted_until is None
        allowed = await ask(fake_telegram, "/start")
        assert f"This chat's id: {ALLOWED_CHAT}" in allowed
        assert "This chat may use me" in allowed


async def test_start_in_a_topic_tells_the_thread(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        fake_telegram.add_update(
            {
                "message": {
                    "message_id": 5,
                    "message_thread_id": 77,
                    "is_topic_message": True,
                    "from": {"id": 1, "is_bot": False, "first_name": "Al"},
                    "chat": {"id": -100888, "type": "supergroup", "title": "Ops"},
                    "date": int(time.time()),
                    "text": "/start",
                    "entities": [{"offset": 0, "length": 6, "type": "bot_command"}],
                }
            }
        )
        [answer] = await fake_telegram.wait_for_sent(1)
        assert "This chat's id: -100888 (topic 77)" in answer.plain_text
        assert answer.message_thread_id == 77


async def test_an_unreachable_api_is_said_not_silenced(fake_telegram: FakeTelegram) -> None:
    with bound_socket() as sock:  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{port_of(sock)}"
        async with running_bot(bot_settings(url, fake_telegram)):
            assert await ask(fake_telegram, "/status") == (
                "⚠️ heartwatch is not reachable right now; try again in a minute."
            )


async def test_a_second_poller_409_backs_off_and_then_answers(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next(4, status=409, method="getUpdates")
    pacing = Pacing(poll_timeout=5, conflict_first=0.1, conflict_most=0.4, report_interval=3600)
    async with running_bot(bot_settings(live_api.url, fake_telegram), pacing=pacing) as task:
        assert (
            await ask(fake_telegram, "/status")
            == "No services yet: send a heartbeat or add a check, then ask again."
        )
        assert not task.done()
    polls = fake_telegram.calls_of("getUpdates")
    conflicts = [c for c in polls if c.status == 409]
    assert len(conflicts) == 4
    gaps = [b.at - a.at for a, b in itertools.pairwise(polls[:5])]
    # Growing pauses up to the most, not a tight loop (the fake stamps a 409 on answering,
    # the next poll on its arrival: each gap is at least the pause).
    assert all(gap >= 0.9 * pause for gap, pause in zip(gaps, (0.1, 0.2, 0.4, 0.4), strict=True))


async def test_telegram_faults_do_not_lose_an_answer(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next(2, status=502, method="getUpdates")
    async with running_bot(bot_settings(live_api.url, fake_telegram)) as task:
        fake_telegram.fail_next(1, status=429, retry_after=1, method="sendMessage")
        fake_telegram.fail_next(1, status=500, method="sendMessage")
        assert (await ask(fake_telegram, "/help")).startswith("heartwatch answers:")
        assert not task.done()
    sends = [c.status for c in fake_telegram.calls_of("sendMessage")]
    assert sends == [429, 500, 200]
    # The command was confirmed to Telegram only after it was answered: nothing is re-read.
    await asyncio.sleep(0)
    assert len(fake_telegram.messages_to(ALLOWED_CHAT)) == 1


async def test_status_full_of_a_thousand_services_fits_telegrams_limit(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    now = live_api.runtime.clock.now()
    keys = [f"job-{i:04d}-<{'x' * 40}>" for i in range(1000)]
    async with live_api.runtime.db.writing() as session:
        for i, key in enumerate(keys):
            await registry.create_service(
                session,
                key=key.replace("<", "").replace(">", ""),
                name=key,
                description="",
                expected_period_sec=60.0,
                now=now,
                active=i % 10 != 0,
            )
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        fake_telegram.user_message("/status_full", chat_id=ALLOWED_CHAT)
        # The last line of all is the last paused service (every tenth is paused).
        async with asyncio.timeout(60):
            while not (fake_telegram.sent and "job-0990" in fake_telegram.sent[-1].plain_text):
                await fake_telegram.wait_for_sent(len(fake_telegram.sent) + 1, within=60)
    messages = fake_telegram.messages_to(ALLOWED_CHAT)
    assert len(messages) > 1
    assert all(len(m.plain_text.encode("utf-16-le")) // 2 <= 4096 for m in messages)
    shown = [
        line.split(" (")[0]
        for m in messages
        for line in m.plain_text.splitlines()
        if line.startswith("job-")
    ]
    assert sorted(shown) == sorted(keys)  # every one, named as written, none twice


async def test_a_read_only_key_reads_and_says_it_may_not_mute(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    await some_services(live_api)
    _, read_key = await live_api.runtime.authn.create_key("bot", Role.READ, None, REAL_TIME.now())
    async with running_bot(bot_settings(live_api.url, fake_telegram), api_key=read_key):
        assert (await ask(fake_telegram, "/status")).startswith("1 of 4 services need attention")
        assert await ask(fake_telegram, "/mute billing 1h") == (
            "🔒 The bot's API key is read-only: it may not change anything."
        )
    async with running_bot(bot_settings(live_api.url, fake_telegram), api_key=None):
        assert (await ask(fake_telegram, "/status")).startswith("🔑 heartwatch refused")


async def test_a_chat_that_blocked_the_bot_does_not_stop_it(
    live_api: LiveApi, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next(1, status=403, method="sendMessage")
    async with running_bot(bot_settings(live_api.url, fake_telegram)) as task:
        fake_telegram.user_message("/help", chat_id=GROUP_CHAT, chat_type="group")
        await fake_telegram.wait_for(
            lambda: any(c.status == 403 for c in fake_telegram.calls_of("sendMessage"))
        )
        assert (await ask(fake_telegram, "/help")).startswith("heartwatch answers:")
        assert not task.done()
    assert fake_telegram.messages_to(GROUP_CHAT) == []
