"""Slack incoming webhooks against a local receiver: the payload Slack renders, its
limits, and Slack's error answers."""

from __future__ import annotations

import re

import pytest

from heartwatch.notifiers.base import DeliveryError, NotifyContext, masked
from heartwatch.notifiers.registry import NotifierRegistry
from heartwatch.notifiers.slack import (
    LINK_TEXT,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    SlackNotifier,
    SlackSettings,
)
from tests.fakes.receiver import Receiver, Reply
from tests.notifiers.conftest import SERVICE_URL, down_message

HOOK_PATH = "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


def settings(receiver: Receiver) -> SlackSettings:
    return SlackSettings.model_validate({"webhook_url": receiver.url(HOOK_PATH)})


async def send_failing(receiver: Receiver, ctx: NotifyContext) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await SlackNotifier().send(down_message(), settings(receiver), ctx)
    assert "XXXXXXXX" not in raised.value.message
    return raised.value


async def test_the_message_arrives_as_blocks_with_a_text_fallback(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    message = down_message()
    await SlackNotifier().send(message, settings(receiver), ctx)

    [request] = receiver.received
    assert (request.method, request.path) == ("POST", HOOK_PATH)
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "text": message.text(),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "payments is DOWN"}},
            # The link is in the body: Slack makes it clickable there, no second one.
            {"type": "section", "text": {"type": "mrkdwn", "text": message.body}},
        ],
    }


async def test_markup_characters_are_escaped_and_a_missing_link_added(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    message = down_message(title="<!channel> is DOWN", body="expected <ok> & got <err>")
    await SlackNotifier().send(message, settings(receiver), ctx)
    blocks = receiver.received[0].json()["blocks"]
    # An unescaped "<!channel>" would ping everyone in the channel.
    assert blocks[0]["text"]["text"] == "<!channel> is DOWN"  # plain_text: shown as is
    assert blocks[1]["text"]["text"] == "expected &lt;ok&gt; &amp; got &lt;err&gt;"
    assert blocks[2]["text"]["text"] == f"<{SERVICE_URL}|{LINK_TEXT}>"
    assert receiver.received[0].json()["text"].startswith("&lt;!channel&gt; is DOWN\n")


async def test_blocks_stay_within_slack_limits(receiver: Receiver, ctx: NotifyContext) -> None:
    message = down_message(title="T" * 400, body="&" * 5000)
    await SlackNotifier().send(message, settings(receiver), ctx)
    header, section, _ = receiver.received[0].json()["blocks"]
    assert header["text"]["text"] == "T" * (MAX_HEADER_CHARS - 1) + "…"
    text = section["text"]["text"]
    assert len(text) <= MAX_SECTION_CHARS
    assert re.fullmatch(r"(&amp;)+…", text)  # no escape cut in half


async def test_rate_limited_is_retryable_after_retry_after(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    receiver.reply_next(1, Reply(429, "rate_limited", headers={"Retry-After": "30"}))
    error = await send_failing(receiver, ctx)
    assert (error.retryable, error.retry_after) == (True, 30.0)
    assert error.message == "Slack answered 429: «rate_limited»"


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retryable(
    receiver: Receiver, ctx: NotifyContext, status: int
) -> None:
    receiver.reply_next(1, Reply(status, "rollup_error"))
    error = await send_failing(receiver, ctx)
    assert (error.retryable, error.retry_after) == (True, None)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "invalid_payload"),
        (403, "invalid_token"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ],
)
async def test_refusals_are_not_retryable_and_say_why(
    receiver: Receiver, ctx: NotifyContext, status: int, body: str
) -> None:
    receiver.reply_next(1, Reply(status, body))
    error = await send_failing(receiver, ctx)
    assert not error.retryable
    assert error.message == f"Slack answered {status}: «{body}»"


async def test_a_redirect_is_not_followed(receiver: Receiver, ctx: NotifyContext) -> None:
    # Followed, the POST would become a GET without the message: lost, yet "delivered".
    receiver.reply_next(1, Reply(301, "", headers={"Location": "https://hooks.example/new"}))
    error = await send_failing(receiver, ctx)
    assert not error.retryable
    assert error.message == (
        "Slack answered 301 (a redirect to «https://hooks.example/new»: set the final URL)"
    )
    assert len(receiver.received) == 1


async def test_an_unreachable_webhook_is_retryable(ctx: NotifyContext, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}{HOOK_PATH}"
    with pytest.raises(DeliveryError) as raised:
        await SlackNotifier().send(down_message(), SlackSettings(webhook_url=url), ctx)
    assert raised.value.retryable
    assert raised.value.message == f"Slack: connection refused (127.0.0.1:{closed_port})"


def test_the_webhook_url_is_a_secret() -> None:
    config = {"webhook_url": f"https://hooks.slack.com{HOOK_PATH}"}
    valid = NotifierRegistry(discover=False).validate("slack", config)
    assert masked(valid) == {"webhook_url": "••••XXXX"}
    assert "hooks.slack.com" not in repr(valid)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("hooks.slack.com/services/T0/B0/secret", "webhook_url: URL must start with https://"),
        ("https:///services/T0/B0/secret", "webhook_url: URL has no host"),
        ("https://hooks.slack.com:99999/secret", "webhook_url: URL is not a valid URL"),
    ],
)
def test_an_invalid_webhook_url_is_refused_without_quoting_it(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        NotifierRegistry(discover=False).validate("slack", {"webhook_url": url})
    assert "secret" not in str(raised.value)
