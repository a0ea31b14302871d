"""The fakes behave like what they stand in for: other tests (the dispatcher, the bot)
rely on these semantics, so they are pinned here with plain HTTP calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.receiver import Receiver, Reply, receiver  # noqa: F401 - a fixture
from tests.fakes.telegram import FakeTelegram, fake_telegram  # noqa: F401 - a fixture


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    telegram: FakeTelegram,
    method: str,
    *,
    token: str | None = None,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    url = f"{telegram.api_url}/bot{token or telegram.token}/{method}"
    async with http.post(url, json=params) as response:
        return response.status, await response.json()


async def test_get_me_and_token_checks(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    status, answer = await call(http, fake_telegram, "getMe")
    assert status == 200
    assert answer["ok"] is True
    assert answer["result"]["id"] == 123456789
    assert answer["result"]["is_bot"] is True
    assert answer["result"]["username"] == "heartwatch_test_bot"
    assert await call(http, fake_telegram, "getMe", token="42:AAAAAAAAAAAAAAAAAAAAA") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await call(http, fake_telegram, "getMe", token="garbage") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_send_message_from_a_form_and_from_the_query_string(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    base = f"{fake_telegram.api_url}/bot{fake_telegram.token}"
    form = {"chat_id": "-100123", "text": "<b>hi</b> &amp; bye", "parse_mode": "HTML"}
    async with http.post(f"{base}/sendMessage", data=form) as response:
        answer = await response.json()
    assert answer["result"]["text"] == "hi & bye"
    assert answer["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    async with http.get(f"{base}/SENDMESSAGE", params={"chat_id": "@ops_room", "text": "x"}):
        pass
    assert [(m.chat_id, m.plain_text) for m in fake_telegram.sent] == [
        (-100123, "hi & bye"),
        ("@ops_room", "x"),
    ]
    assert [c.content_type for c in fake_telegram.calls] == [
        "application/x-www-form-urlencoded",
        "application/octet-stream",
    ]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("a <3 b", "Unsupported start tag at byte offset 2"),
        ("<b>x</i>", "Unmatched end tag"),
        ('<a href="javascript:x">x</a>', "wrong URL host"),
    ],
)
async def test_html_is_parsed_as_strictly_as_telegram(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
    text: str,
    description: str,
) -> None:
    status, answer = await call(
        http, fake_telegram, "sendMessage", chat_id=1, text=text, parse_mode="HTML"
    )
    assert status == 400
    assert answer["description"].startswith("Bad Request: can't parse entities: ")
    assert description in answer["description"]
    assert fake_telegram.sent == []


async def test_send_message_refusals(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    too_long = "x" * 4096 + "🔥"  # 4098 UTF-16 units
    assert (await call(http, fake_telegram, "sendMessage", chat_id=1, text=too_long))[1][
        "description"
    ] == "Bad Request: message is too long"
    assert (await call(http, fake_telegram, "sendMessage", chat_id=1, text=" "))[1][
        "description"
    ] == "Bad Request: message text is empty"
    assert (await call(http, fake_telegram, "sendMessage", text="x"))[1][
        "description"
    ] == "Bad Request: chat_id is empty"
    assert (await call(http, fake_telegram, "sendMessage", chat_id="ops", text="x"))[1][
        "description"
    ] == "Bad Request: chat not found"


async def test_injected_failures_are_scoped_and_counted(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    fake_telegram.rate_limit_next(2, retry_after=3, method="sendMessage")
    fake_telegram.fail_next(1, status=500)
    # getMe is not sendMessage: it takes the 500, not a 429.
    assert (await call(http, fake_telegram, "getMe"))[0] == 500
    for _ in range(2):
        status, answer = await call(http, fake_telegram, "sendMessage", chat_id=1, text="x")
        assert (status, answer) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        )
    assert (await call(http, fake_telegram, "sendMessage", chat_id=1, text="x"))[0] == 200
    assert [c.status for c in fake_telegram.calls] == [500, 429, 429, 200]
    assert len(fake_telegram.sent) == 1


async def test_get_updates_offsets_confirm_what_was_seen(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    first = fake_telegram.user_message("/status payments")
    second = fake_telegram.user_message("hello", chat_id=-100777, chat_type="supergroup")
    _, answer = await call(http, fake_telegram, "getUpdates")
    assert answer["result"] == [first, second]
    assert first["message"]["entities"] == [{"offset": 0, "length": 7, "type": "bot_command"}]
    assert first["message"]["chat"]["type"] == "private"
    # Unconfirmed updates come again; an offset past one confirms it.
    _, answer = await call(http, fake_telegram, "getUpdates", offset=first["update_id"] + 1)
    assert answer["result"] == [second]
    _, answer = await call(http, fake_telegram, "getUpdates", offset=first["update_id"])
    assert answer["result"] == [second]  # confirmed ones are gone for good
    third = fake_telegram.user_message("x")
    _, answer = await call(http, fake_telegram, "getUpdates", offset=-1)
    assert answer["result"] == [third]
    _, answer = await call(http, fake_telegram, "getUpdates", limit=1)
    assert answer["result"] == [third]


async def test_a_long_poll_returns_when_an_update_arrives(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(call(http, fake_telegram, "getUpdates", timeout=10))
    await asyncio.sleep(0.1)
    update = fake_telegram.user_message("/mute payments 1h")
    _, answer = await poll
    assert answer["result"] == [update]
    assert time.monotonic() - started < 2


async def test_a_long_poll_with_nothing_new_times_out_empty(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    started = time.monotonic()
    _, answer = await call(http, fake_telegram, "getUpdates", timeout=1)
    assert answer == {"ok": True, "result": []}
    assert 0.9 <= time.monotonic() - started < 3


async def test_a_second_poller_ends_the_first_with_a_conflict(
    http: aiohttp.ClientSession,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    first = asyncio.create_task(call(http, fake_telegram, "getUpdates", timeout=10))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(call(http, fake_telegram, "getUpdates", timeout=10))
    status, answer = await first
    assert status == 409
    assert answer["description"].startswith("Conflict: terminated by other getUpdates request")
    update = fake_telegram.user_message("hi")
    assert (await second)[1]["result"] == [update]


async def test_the_receiver_answers_queued_replies_in_order(
    http: aiohttp.ClientSession,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.reply_next(1, Reply(429, "slow down", headers={"Retry-After": "2"}))
    receiver.reply_next(1, Reply.json(503, {"error": "maintenance"}))
    answers = []
    for _ in range(3):
        async with http.post(receiver.url("/x?a=1"), data=b"payload") as response:
            answers.append((response.status, await response.text()))
    assert answers == [(429, "slow down"), (503, '{"error": "maintenance"}'), (200, "ok")]
    assert [(r.path, r.query, r.body, r.status) for r in receiver.received] == [
        ("/x", {"a": "1"}, b"payload", 429),
        ("/x", {"a": "1"}, b"payload", 503),
        ("/x", {"a": "1"}, b"payload", 200),
    ]
