"""Telegram against the fake Bot API: what a user sees, the HTML markup surviving any
text, and every kind of failure sorted into "retry" and "fix the config"."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from heartwatch.notifiers.base import DeliveryError, NotifyContext, masked
from heartwatch.notifiers.registry import NotifierRegistry
from heartwatch.notifiers.telegram import (
    LINK_TEXT,
    MAX_TEXT_UNITS,
    TelegramNotifier,
    TelegramSettings,
    render_html,
)
from tests.fakes.net import start_app
from tests.fakes.telegram import FakeTelegram, parse_html
from tests.notifiers.conftest import SERVICE_URL, down_message

CHAT = "-1001234567890"


def settings(telegram: FakeTelegram, **fields: object) -> TelegramSettings:
    return TelegramSettings.model_validate({"bot_token": telegram.token, "chat_id": CHAT, **fields})


async def send_failing(
    telegram: FakeTelegram, ctx: NotifyContext, *, api_url: str | None = None, **fields: object
) -> DeliveryError:
    notifier = TelegramNotifier(api_url or telegram.api_url)
    with pytest.raises(DeliveryError) as raised:
        await notifier.send(down_message(), settings(telegram, **fields), ctx)
    return raised.value


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_the_message_arrives_as_a_user_sees_it(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    message = down_message()
    await TelegramNotifier(fake_telegram.api_url).send(message, settings(fake_telegram), ctx)

    [sent] = fake_telegram.sent
    assert sent.chat_id == int(CHAT)
    assert sent.parse_mode == "HTML"
    assert sent.disable_web_page_preview is True
    assert sent.message_thread_id is None
    assert sent.plain_text == message.text()
    assert sent.entities_of("bold") == ["payments is DOWN"]
    # The link in the body is a link, in place, not repeated at the end.
    assert sent.entities_of("text_link") == [SERVICE_URL]
    assert LINK_TEXT not in sent.plain_text
    [call] = fake_telegram.calls
    assert (call.method, call.content_type) == ("sendmessage", "application/json")


async def test_a_channel_name_and_a_forum_topic(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    await TelegramNotifier(fake_telegram.api_url).send(
        down_message(),
        settings(fake_telegram, chat_id="@heartwatch_ops", message_thread_id=42),
        ctx,
    )
    [sent] = fake_telegram.messages_to("@heartwatch_ops")
    assert sent.message_thread_id == 42


async def test_a_link_missing_from_the_body_is_added_at_the_end(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    message = down_message(body="Status: down")
    await TelegramNotifier(fake_telegram.api_url).send(message, settings(fake_telegram), ctx)
    [sent] = fake_telegram.sent
    assert sent.plain_text == f"payments is DOWN\nStatus: down\n{LINK_TEXT}"
    [link] = [e for e in sent.entities if e["type"] == "text_link"]
    assert link["url"] == SERVICE_URL


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("<b>payments</b> is DOWN", "Last error: expected <html>, got <xml> & more"),
        ("a & b is DOWN", 'keyword "</b>" not found; 3 < 4 > 2 &amp; &lt;'),
        ("café ☕ is DOWN 🔥", "Last error: <script>alert('x')</script>\n\n  indented"),
    ],
)
async def test_any_text_survives_the_markup(
    fake_telegram: FakeTelegram, ctx: NotifyContext, title: str, body: str
) -> None:
    # The fake parses HTML as strictly as Telegram: badly escaped text is a 400.
    message = down_message(title=title, body=body, url=None)
    await TelegramNotifier(fake_telegram.api_url).send(message, settings(fake_telegram), ctx)
    [sent] = fake_telegram.sent
    assert sent.plain_text == f"{title}\n{body}"
    assert sent.entities_of("bold") == [title]


async def test_a_link_telegram_would_refuse_is_left_as_text(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    message = down_message(body="see javascript:alert(1)", url="javascript:alert(1)")
    await TelegramNotifier(fake_telegram.api_url).send(message, settings(fake_telegram), ctx)
    [sent] = fake_telegram.sent
    assert sent.plain_text == "payments is DOWN\nsee javascript:alert(1)"
    assert sent.entities_of("text_link") == []


@pytest.mark.parametrize("filler", ["x", "é", "🔥", "<&>"])
async def test_a_long_message_is_cut_to_fit_and_keeps_its_link(
    fake_telegram: FakeTelegram, ctx: NotifyContext, filler: str
) -> None:
    body = f"Last error: {filler * 5000}\n{SERVICE_URL}"
    message = down_message(body=body)
    await TelegramNotifier(fake_telegram.api_url).send(message, settings(fake_telegram), ctx)
    [sent] = fake_telegram.sent
    assert MAX_TEXT_UNITS - 2 <= units(sent.plain_text) <= MAX_TEXT_UNITS
    head, _, tail = sent.plain_text.rpartition("\n")
    assert head.endswith("…")
    assert head.startswith(f"payments is DOWN\nLast error: {filler}")
    # The link the cut removed from the body comes back at the end.
    assert tail == LINK_TEXT
    assert [e.get("url") for e in sent.entities if e["type"] == "text_link"] == [SERVICE_URL]


def test_an_overlong_title_alone_is_cut() -> None:
    text, entities = parse_html(render_html(down_message(title="T" * 5000, url=None), 100))
    assert text == "T" * 99 + "…"
    assert entities == [{"type": "bold", "offset": 0, "length": 100}]


def test_a_message_that_fits_is_not_cut() -> None:
    message = down_message(body="b" * 80, url=None)
    text, _ = parse_html(render_html(message, units(message.text())))
    assert text == message.text()


async def test_rate_limit_answer_is_retryable_after_what_telegram_says(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    fake_telegram.rate_limit_next(1, retry_after=7)
    error = await send_failing(fake_telegram, ctx)
    assert (error.retryable, error.retry_after) == (True, 7.0)
    assert error.message == "Telegram refused the message (429): «Too Many Requests: retry after 7»"
    assert fake_telegram.sent == []
    # The next attempt goes through: one message, not two.
    await TelegramNotifier(fake_telegram.api_url).send(down_message(), settings(fake_telegram), ctx)
    assert len(fake_telegram.sent) == 1


async def test_flood_control_of_one_chat(fake_telegram: FakeTelegram, ctx: NotifyContext) -> None:
    fake_telegram.per_chat_limit = (2, 60.0)
    notifier = TelegramNotifier(fake_telegram.api_url)
    for _ in range(2):
        await notifier.send(down_message(), settings(fake_telegram), ctx)
    error = await send_failing(fake_telegram, ctx)
    assert error.retryable
    assert error.retry_after is not None and 59 <= error.retry_after <= 60


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (500, "Telegram refused the message (500): «Internal Server Error»"),
        (502, "Telegram answered 502: «<html> <head><title>502 Bad Gateway</title></head>"),
        (504, "Telegram answered 504: «<html> <head><title>504 Gateway Time-out"),
    ],
)
async def test_server_errors_are_retryable(
    fake_telegram: FakeTelegram, ctx: NotifyContext, status: int, text: str
) -> None:
    fake_telegram.fail_next(1, status=status)
    error = await send_failing(fake_telegram, ctx)
    assert (error.retryable, error.retry_after) == (True, None)
    assert error.message.startswith(text)


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (400, "Bad Request: chat not found"),
        (403, "Forbidden: bot was kicked from the supergroup chat"),
        (400, "Bad Request: message thread not found"),
    ],
)
async def test_refusals_are_not_retryable(
    fake_telegram: FakeTelegram, ctx: NotifyContext, status: int, description: str
) -> None:
    fake_telegram.fail_next(1, status=status, description=description)
    error = await send_failing(fake_telegram, ctx)
    assert not error.retryable
    assert error.message == f"Telegram refused the message ({status}): «{description}»"


async def test_an_unknown_chat(fake_telegram: FakeTelegram, ctx: NotifyContext) -> None:
    fake_telegram.chats = {int(CHAT)}
    error = await send_failing(fake_telegram, ctx, chat_id="-1009999")
    assert not error.retryable
    assert error.message == "Telegram refused the message (400): «Bad Request: chat not found»"


async def test_a_revoked_token_is_not_retryable_and_never_quoted(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    fake_telegram.tokens = {"987654321:AAAnotherTokenThatIsStillValid_xyz"}
    error = await send_failing(fake_telegram, ctx)
    assert not error.retryable
    assert error.message == "Telegram refused the message (401): «Unauthorized»"
    assert fake_telegram.token not in str(error) + repr(error)


async def test_a_group_that_became_a_supergroup_says_what_to_set(
    fake_telegram: FakeTelegram, ctx: NotifyContext
) -> None:
    fake_telegram.fail_next(
        1,
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": -1001987654321},
    )
    error = await send_failing(fake_telegram, ctx, chat_id="-4012345")
    assert not error.retryable
    assert error.message == (
        "Telegram: the group -4012345 became a supergroup: set chat_id to -1001987654321"
    )


async def test_a_slow_api_is_a_retryable_timeout(
    fake_telegram: FakeTelegram, http_session: aiohttp.ClientSession
) -> None:
    fake_telegram.delay_next(1, seconds=5)
    ctx = NotifyContext(http_session, timeout_s=0.3)
    error = await send_failing(fake_telegram, ctx)
    assert error.retryable
    assert error.message == "Telegram did not answer within 0.3 s"


async def test_an_unreachable_api_is_retryable(
    fake_telegram: FakeTelegram, http_session: aiohttp.ClientSession, closed_port: int
) -> None:
    ctx = NotifyContext(http_session)
    error = await send_failing(fake_telegram, ctx, api_url=f"http://127.0.0.1:{closed_port}")
    assert error.retryable
    assert error.message == f"Telegram: connection refused (127.0.0.1:{closed_port})"


async def test_a_bad_api_url_never_quotes_the_token(
    fake_telegram: FakeTelegram, http_session: aiohttp.ClientSession
) -> None:
    ctx = NotifyContext(http_session)
    error = await send_failing(fake_telegram, ctx, api_url="http://exa mple:x")
    assert not error.retryable
    assert fake_telegram.token not in error.message
    assert "/bot••••/sendMessage" in error.message


def test_settings_are_validated_and_normalised() -> None:
    registry = NotifierRegistry(discover=False)
    valid = registry.validate(
        "telegram", {"bot_token": " 123:ABC-def_g ", "chat_id": -1001234567890}
    )
    assert isinstance(valid, TelegramSettings)
    assert (valid.bot_token.get_secret_value(), valid.chat_id) == (
        "123:ABC-def_g",
        "-1001234567890",
    )
    assert masked(valid) == {
        "bot_token": "••••",
        "chat_id": "-1001234567890",
        "message_thread_id": None,
        "buttons": False,
    }


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            {"bot_token": "hunter2-not-a-token", "chat_id": "1"},
            "invalid telegram settings: bot_token: must look like 123456789:AAH... "
            "(the token @BotFather gives)",
        ),
        (
            {"bot_token": "1:a", "chat_id": "ops"},
            "chat_id: 'ops' is neither a numeric chat id (such as -1001234567890) nor a "
            "public @channelname",
        ),
        ({"bot_token": "1:a", "chat_id": "1", "message_thread_id": 0}, "greater than 0"),
        ({"chat_id": "1"}, "invalid telegram settings: bot_token: Field required"),
        (
            {"bot_token": "1:a", "chat_id": "1", "chat": "2"},
            "chat: unknown setting for telegram channels (known: bot_token, buttons, "
            "chat_id, message_thread_id)",
        ),
    ],
)
def test_invalid_settings_are_refused_clearly(config: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        NotifierRegistry(discover=False).validate("telegram", config)
    assert "hunter2" not in str(raised.value)


async def test_an_answer_that_arrives_in_pieces_is_read_whole(
    http_session: aiohttp.ClientSession,
) -> None:
    # A proxy may flush a body in pieces; judged on half of it, a 429 would lose its
    # retry_after.
    answer = (
        b'{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 9",'
        b' "parameters": {"retry_after": 9}}'
    )

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=429)
        response.content_type = "application/json"
        await response.prepare(request)
        for start in range(0, len(answer), 20):
            await response.write(answer[start : start + 20])
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/{tail:.*}", slow)
    runner, url = await start_app(app)
    try:
        ctx = NotifyContext(http_session)
        telegram = TelegramSettings(bot_token=SecretStr("1:abc"), chat_id="1")
        with pytest.raises(DeliveryError) as raised:
            await TelegramNotifier(url).send(down_message(), telegram, ctx)
    finally:
        await runner.cleanup()
    assert (raised.value.retryable, raised.value.retry_after) == (True, 9.0)
