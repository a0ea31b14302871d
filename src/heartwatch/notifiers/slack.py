"""Slack, through an incoming webhook (also what Mattermost and Rocket.Chat accept).

The webhook URL is the credential: whoever has it can post to the channel, so it is a
secret like a token.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import SecretStr, field_validator

from heartwatch.notifiers import _http
from heartwatch.notifiers._checks import check_web_url
from heartwatch.notifiers.base import (
    Destination,
    Message,
    Notifier,
    NotifierSettings,
    NotifyContext,
)

# Slack refuses the whole payload when a block is over its limit.
MAX_HEADER_CHARS: Final = 150
MAX_SECTION_CHARS: Final = 3000
LINK_TEXT: Final = "Open in heartwatch"


class SlackSettings(NotifierSettings):
    webhook_url: Annotated[SecretStr, Destination()]

    @field_validator("webhook_url")
    @classmethod
    def _valid_url(cls, value: SecretStr) -> SecretStr:
        return SecretStr(check_web_url(value.get_secret_value(), quote=False))


class SlackNotifier(Notifier[SlackSettings]):
    type = "slack"
    # An incoming webhook takes about one message a second.
    rate_per_minute = 60.0

    async def send(self, message: Message, settings: SlackSettings, ctx: NotifyContext) -> None:
        url = settings.webhook_url.get_secret_value()
        answer = await _http.post_json(ctx, url, payload(message), what="Slack", secrets=(url,))
        if answer.status >= 300:
            # Slack says why in the body: "invalid_token", "channel_not_found", ...
            raise _http.status_error("Slack", answer.status, answer.excerpt(), answer.headers)


def payload(message: Message) -> dict[str, Any]:
    """`text` is what notifications and old clients show; `blocks` what Slack renders."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(message.title, MAX_HEADER_CHARS)},
        }
    ]
    if message.body:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cut(_escape(message.body), MAX_SECTION_CHARS)},
            }
        )
    if message.url and message.url not in message.body:
        link = f"<{_escape(message.url)}|{LINK_TEXT}>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    return {"text": _escape(message.text()), "blocks": blocks}


def _escape(text: str) -> str:
    # The only characters Slack's mrkdwn treats as markup that must be escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Never leave half an escape ("&am") at the end.
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
