"""The buttons under alerts (notifiers/telegram.py puts them there): "Mute 1h" mutes the
service through the API and edits the alert to say who muted it until when; "Details"
answers with /info. Each press is answered (Telegram shows a spinner until then); a
button older than a day, or in a chat that may not query, does nothing but say so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from heartwatch.bot.api_client import ApiRefused, ApiUnreachable
from heartwatch.bot.handlers import UNREACHABLE, BotState, info_texts, refusal
from heartwatch.bot.text import esc, parse_time, plain
from heartwatch.notifiers.telegram import BUTTON_PREFIX

log = structlog.get_logger("heartwatch.bot")

BUTTON_LIFETIME = timedelta(days=1)
MUTE_MINUTES = 60.0
EXPIRED = "This button has expired (the alert is over a day old): use /mute or /info."
NOT_ALLOWED = "This chat may not query heartwatch: /start says how to allow it."


def build_button_router(state: BotState) -> Router:
    router = Router(name="heartwatch-buttons")

    @router.callback_query(F.data.startswith(f"{BUTTON_PREFIX}:"))
    async def on_button(query: CallbackQuery) -> None:
        action, _, key = (query.data or "").removeprefix(f"{BUTTON_PREFIX}:").partition(":")
        message = query.message
        if not isinstance(message, Message) or _expired(message.date):
            await query.answer(EXPIRED, show_alert=True)
            return
        if not state.allowed.allows(message.chat.id, message.chat.username):
            await query.answer(NOT_ALLOWED, show_alert=True)
            return
        try:
            if action == "mute":
                await _mute(state, query, message, key)
            elif action == "info":
                await query.answer()
                for text in await info_texts(state.api, key):
                    await message.answer(text)
            else:
                await query.answer(EXPIRED, show_alert=True)
        except ApiUnreachable:
            await query.answer(plain(UNREACHABLE), show_alert=True)
        except ApiRefused as exc:
            await query.answer(plain(refusal(exc)), show_alert=True)

    return router


async def _mute(state: BotState, query: CallbackQuery, message: Message, key: str) -> None:
    answer = await state.api.mute(key, MUTE_MINUTES)
    until = parse_time(answer.get("muted_until"))
    shown_until = f" until {until:%H:%M} UTC" if until else ""
    await query.answer(f"Muted for 1h{shown_until}")
    user = query.from_user
    who = f"@{user.username}" if user.username else user.full_name
    note = f"\n\n🔕 muted by {esc(who)}{shown_until}"
    details = InlineKeyboardButton(text="Details", callback_data=f"{BUTTON_PREFIX}:info:{key}")
    try:
        await message.edit_text(
            message.html_text + note,
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[details]]),
        )
    except TelegramBadRequest as exc:  # (the alert was deleted meanwhile: muted anyway)
        log.info("could not edit the alert", error=str(exc))


def _expired(sent: datetime) -> bool:
    # Telegram's dates are real time (not dev mode's clock); an inaccessible message has 0.
    return datetime.now(UTC) - sent > BUTTON_LIFETIME
