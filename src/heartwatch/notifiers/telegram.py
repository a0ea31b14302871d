"""Telegram, natively through the Bot API's `sendMessage`.

The message goes out as HTML (title in bold, the service link as a link), escaped so that
a `<` in an error text cannot break the markup: Telegram refuses a whole message whose
markup it cannot parse, and an alert lost to a stray character is the worst outcome.
The Bot API base URL is the notifier's own (`TELEGRAM_API_URL`), so a Bot API server of
one's own can be used, and tests talk to a local server that speaks the same wire format.
"""

from __future__ import annotations

import html
import json
import re
from typing import Annotated, Any, Final

from pydantic import Field, SecretStr, field_validator

from heartwatch.domain.snippets import quote
from heartwatch.notifiers import _http
from heartwatch.notifiers.base import (
    DeliveryError,
    Destination,
    Message,
    Notifier,
    NotifierSettings,
    NotifyContext,
    retryable_status,
)

# Telegram counts a message's length in UTF-16 code units of its text once the markup
# is parsed away.
MAX_TEXT_UNITS: Final = 4096
BOT_API_URL: Final = "https://api.telegram.org"
LINK_TEXT: Final = "Open in heartwatch"
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
# A numeric id (users are positive, groups and channels negative) or a public username.
_CHAT = re.compile(r"-?\d+|@[A-Za-z][A-Za-z0-9_]{3,31}")


class TelegramSettings(NotifierSettings):
    bot_token: SecretStr
    # Text, as TELEGRAM_CHAT_ID is: "-1001234567890" or "@channelname". Where the
    # alerts go: another chat needs the token sent again.
    chat_id: Annotated[str, Destination(address=False)]
    # A topic of a forum supergroup.
    message_thread_id: int | None = Field(None, gt=0)
    # Alerts carry "Mute 1h" and "Details" buttons, which heartwatch's Telegram bot
    # answers: only for a token the bot polls with (the default channel's, under `up`).
    buttons: bool = False

    @field_validator("bot_token")
    @classmethod
    def _valid_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not _TOKEN.fullmatch(token):
            # The value itself is never quoted back: it is a credential.
            raise ValueError("must look like 123456789:AAH... (the token @BotFather gives)")
        return SecretStr(token)

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_as_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value.strip() if isinstance(value, str) else value

    @field_validator("chat_id")
    @classmethod
    def _valid_chat(cls, value: str) -> str:
        if not _CHAT.fullmatch(value):
            raise ValueError(
                f"{value!r} is neither a numeric chat id (such as -1001234567890) "
                "nor a public @channelname"
            )
        return value


class TelegramNotifier(Notifier[TelegramSettings]):
    type = "telegram"
    # Telegram's documented limit for a group: 20 messages a minute.
    rate_per_minute = 20.0

    def __init__(self, api_url: str = BOT_API_URL) -> None:
        self.api_url = api_url.rstrip("/")

    async def send(self, message: Message, settings: TelegramSettings, ctx: NotifyContext) -> None:
        payload: dict[str, Any] = {
            "chat_id": settings.chat_id,
            "text": render_html(message),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        if settings.message_thread_id is not None:
            payload["message_thread_id"] = settings.message_thread_id
        if settings.buttons and (keyboard := alert_buttons(message)) is not None:
            payload["reply_markup"] = keyboard
        token = settings.bot_token.get_secret_value()
        answer = await _http.post_json(
            ctx,
            f"{self.api_url}/bot{token}/sendMessage",
            payload,
            what="Telegram",
            secrets=(token,),
        )
        check_answer(answer.status, answer.text, chat_id=settings.chat_id)


# The bot's side of the buttons (bot/buttons.py) reads these. Telegram allows 64 bytes of
# callback data; a key too long for it gets no buttons.
BUTTON_PREFIX: Final = "hw"
BUTTON_EVENTS: Final = frozenset({"silent", "down", "dead", "reminder", "flapping"})
MAX_CALLBACK_BYTES: Final = 64


def alert_buttons(message: Message) -> dict[str, Any] | None:
    """The inline keyboard of an alert about a service that is not well, if any."""
    key = message.service_key
    if key is None or message.event not in BUTTON_EVENTS:
        return None
    mute, info = f"{BUTTON_PREFIX}:mute:{key}", f"{BUTTON_PREFIX}:info:{key}"
    if len(mute.encode()) > MAX_CALLBACK_BYTES:
        return None
    row = [{"text": "Mute 1h", "callback_data": mute}, {"text": "Details", "callback_data": info}]
    return {"inline_keyboard": [row]}


def check_answer(status: int, text: str, *, chat_id: str) -> None:
    """Raise the `DeliveryError` a Bot API answer means, if it is not a success.

    The Bot API answers `{"ok": true, "result": ...}`, or `{"ok": false, "error_code":
    429, "description": "Too Many Requests: retry after 5", "parameters":
    {"retry_after": 5}}` with the same HTTP status. A proxy in front of it may answer an
    HTML page instead (502, 504): then the HTTP status alone decides.
    """
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        what = "Telegram" if status >= 400 else "Telegram (not a Bot API answer)"
        raise _http.status_error(what, status, _http.excerpt(text))
    if data.get("ok") is True and status < 300:
        return
    code = data.get("error_code")
    if not isinstance(code, int) or isinstance(code, bool):
        code = status
    description = str(data.get("description") or "no description")
    parameters = data.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    retry_after = parameters.get("retry_after")
    if isinstance(retry_after, bool) or not isinstance(retry_after, int | float):
        retry_after = None
    migrated_to = parameters.get("migrate_to_chat_id")
    if migrated_to is not None:
        # Sending to the new id would deliver this one message but leave the channel
        # wrong for good, silently; failing says exactly what to change.
        raise DeliveryError(
            f"Telegram: the group {chat_id} became a supergroup: set chat_id to {migrated_to}",
            retryable=False,
        )
    raise DeliveryError(
        f"Telegram refused the message ({code}): {quote(description)}",
        retryable=retryable_status(code) or retryable_status(status),
        retry_after=float(retry_after) if retry_after is not None else None,
    )


def render_html(message: Message, limit: int = MAX_TEXT_UNITS) -> str:
    """The message in Telegram's HTML: the title in bold, the body as text, the service
    link as a link; cut (with "…") so that its visible text fits in `limit` units."""
    title, body = message.title, message.body
    url = message.url if message.url and _is_web_url(message.url) else None
    fits = _units(title) + (1 + _units(body) if body else 0) <= limit
    # The link stays in the body where the body has it, unless cutting could lose it.
    tail = f"\n{LINK_TEXT}" if url is not None and not (fits and url in body) else ""
    budget = limit - _units(tail)
    if _units(title) > budget:
        title, body = _cut(title, budget), ""
    elif body and _units(title) + 1 + _units(body) > budget:
        body = _cut(body, budget - _units(title) - 1)
    parts = [f"<b>{_escape(title)}</b>"]
    if body:
        parts.append("\n" + _linked(body, url))
    if url is not None and tail:
        parts.append(f'\n<a href="{html.escape(url, quote=True)}">{_escape(LINK_TEXT)}</a>')
    return "".join(parts)


def _linked(text: str, url: str | None) -> str:
    if url is None or url not in text:
        return _escape(text)
    anchor = f'<a href="{html.escape(url, quote=True)}">{_escape(url)}</a>'
    return anchor.join(_escape(piece) for piece in text.split(url))


def _escape(text: str) -> str:
    # Only <, > and & are markup to Telegram outside attributes.
    return html.escape(text, quote=False)


def _is_web_url(url: str) -> bool:
    # Telegram refuses the whole message for a link it does not accept.
    return url.startswith(("https://", "http://")) and not any(c.isspace() for c in url)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, units: int) -> str:
    """`text` shortened to at most `units` UTF-16 units, ending in "…"."""
    if _units(text) <= units:
        return text
    if units <= 0:
        return ""
    # Slicing the UTF-16 bytes may split a surrogate pair; "ignore" drops the half.
    kept = text.encode("utf-16-le")[: 2 * (units - 1)].decode("utf-16-le", errors="ignore")
    return kept + "…"
