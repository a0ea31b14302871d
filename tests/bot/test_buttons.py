"""The alert's buttons: the Telegram notifier puts them under an alert, the bot answers
them (through the fake Bot API, against a real API)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from heartwatch.bot.buttons import EXPIRED
from heartwatch.notifiers.base import NotifyContext
from heartwatch.notifiers.telegram import TelegramNotifier, TelegramSettings
from heartwatch.services import registry
from tests.bot.conftest import ALLOWED_CHAT, OTHER_CHAT, LiveApi, bot_settings, running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.notifiers.conftest import down_message


@pytest.fixture
async def ctx() -> AsyncIterator[NotifyContext]:
    async with aiohttp.ClientSession() as http:
        yield NotifyContext(http=http, timeout_s=5.0)


async def alert(telegram: FakeTelegram, ctx: NotifyContext, chat: int, key: str) -> SentMessage:
    settings = TelegramSettings(
        bot_token=SecretStr(telegram.token), chat_id=str(chat), buttons=True
    )
    await TelegramNotifier(telegram.api_url).send(
        down_message(service_key=key, title=f"{key} is DOWN"), settings, ctx
    )
    return telegram.sent[-1]


async def test_only_alerts_of_a_channel_with_buttons_carry_them(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    sent = await alert(fake_telegram, ctx, ALLOWED_CHAT, "payments")
    assert sent.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Mute 1h", "callback_data": "hw:mute:payments"},
                {"text": "Details", "callback_data": "hw:info:payments"},
            ]
        ]
    }
    plain = TelegramSettings(bot_token=SecretStr(fake_telegram.token), chat_id="1")
    await TelegramNotifier(fake_telegram.api_url).send(down_message(), plain, ctx)
    assert "reply_markup" not in fake_telegram.sent[-1].params
    recovered = down_message(event="recovered", title="payments is back")
    await TelegramNotifier(fake_telegram.api_url).send(
        recovered, plain.model_copy(update={"buttons": True}), ctx
    )
    assert "reply_markup" not in fake_telegram.sent[-1].params


async def answered(telegram: FakeTelegram, count: int) -> list[dict[str, object]]:
    await telegram.wait_for(lambda: len(telegram.callback_answers) >= count, within=10)
    return telegram.callback_answers


async def test_mute_1h_mutes_and_says_who_and_until_when(
    live_api: LiveApi, fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    await live_api.heartbeat("payments", "/fail")
    sent = await alert(fake_telegram, ctx, ALLOWED_CHAT, "payments")
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        fake_telegram.press_button(sent, "hw:mute:payments", username="bob")
        [answer] = await answered(fake_telegram, 1)
        assert str(answer["text"]).startswith("Muted for 1h until ")
        await fake_telegram.wait_for(lambda: bool(fake_telegram.edits), within=10)
        [edit] = fake_telegram.edits
        assert edit.message_id == sent.message_id
        assert edit.plain_text.startswith(sent.plain_text)
        assert edit.plain_text.splitlines()[-1].startswith("🔕 muted by @bob until ")
        markup = json.loads(edit.params["reply_markup"])  # (a form field, JSON as text)
        assert markup["inline_keyboard"] == [
            [{"text": "Details", "callback_data": "hw:info:payments"}]
        ]
        async with live_api.runtime.db.reading() as session:
            assert (await registry.get_service(session, "payments")).muted_until is not None

        fake_telegram.press_button(sent, "hw:info:payments")
        await answered(fake_telegram, 2)
        await fake_telegram.wait_for(
            lambda: any("Status: down" in m.plain_text for m in fake_telegram.sent), within=10
        )


async def test_old_buttons_and_other_chats_are_told_no(
    live_api: LiveApi, fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    await live_api.heartbeat("payments", "/fail")
    here = await alert(fake_telegram, ctx, ALLOWED_CHAT, "payments")
    there = await alert(fake_telegram, ctx, OTHER_CHAT, "payments")
    async with running_bot(bot_settings(live_api.url, fake_telegram)):
        two_days_ago = int(time.time()) - 2 * 86400
        fake_telegram.press_button(here, "hw:mute:payments", sent_at=two_days_ago)
        fake_telegram.press_button(there, "hw:mute:payments")
        first, second = await answered(fake_telegram, 2)
    assert {str(first["text"]), str(second["text"])} == {
        EXPIRED,
        "This chat may not query heartwatch: /start says how to allow it.",
    }
    assert fake_telegram.edits == []
    async with live_api.runtime.db.reading() as session:
        assert (await registry.get_service(session, "payments")).muted_until is None
