"""The bot's commands: who may ask, what to fetch from the API, which message to send.

A chat that is not allowed gets /start's answer to any command and nothing else: no
service, key or count ever reaches it. Commands work in groups with the `@botname`
suffix (aiogram's `Command` filter checks the name is this bot's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from aiogram import F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from heartwatch.bot import details, views
from heartwatch.bot.access import AllowedChats
from heartwatch.bot.api_client import ApiRefused, ApiUnreachable, HeartwatchApi
from heartwatch.bot.text import esc, parse_duration, parse_time

log = structlog.get_logger("heartwatch.bot")

UNREACHABLE = "⚠️ heartwatch is not reachable right now; try again in a minute."
READ_ONLY = "🔒 The bot's API key is read-only: it may not change anything."
UPTIME_PERIODS = ("24h", "7d", "30d")


@dataclass
class BotState:
    api: HeartwatchApi
    allowed: AllowedChats
    # Chats seen to block the bot: logged once each.
    blocked: set[int] = field(default_factory=set)


def build_router(state: BotState) -> Router:
    router = Router(name="heartwatch")

    async def send(message: Message, texts: list[str] | str) -> None:
        for text in [texts] if isinstance(texts, str) else texts:
            try:
                await message.answer(text)
            except TelegramForbiddenError:
                if message.chat.id not in state.blocked:
                    state.blocked.add(message.chat.id)
                    log.warning("a chat blocked the bot; not answering it", chat_id=message.chat.id)
                return

    async def admitted(message: Message) -> bool:
        """Whether the chat may query; if not, it is told how to allow it (only that)."""
        if state.allowed.allows(message.chat.id, message.chat.username):
            return True
        await send(message, start_text(message))
        return False

    def start_text(message: Message) -> str:
        allowed = state.allowed.allows(message.chat.id, message.chat.username)
        thread = message.message_thread_id if message.is_topic_message else None
        return details.start_message(message.chat.id, thread, allowed, state.allowed.setting)

    def command(
        name: str, work: Callable[[Message, CommandObject], Awaitable[list[str] | str]]
    ) -> None:
        async def handle(message: Message, command: CommandObject) -> None:
            if not await admitted(message):
                return
            try:
                answer = await work(message, command)
            except ApiUnreachable as exc:
                log.warning("heartwatch's API is not reachable", command=name, error=str(exc))
                answer = UNREACHABLE
            except ApiRefused as exc:
                answer = refusal(exc)
            await send(message, answer)

        router.message.register(handle, Command(name))

    @router.message(CommandStart())
    async def on_start(message: Message) -> None:
        await send(message, start_text(message))

    @router.message(F.migrate_to_chat_id)
    async def on_migrated(message: Message) -> None:
        new_id = message.migrate_to_chat_id
        if new_id is not None:
            log.info("a group became a supergroup", chat_id=message.chat.id, new_chat_id=new_id)
            state.allowed = state.allowed.migrated(message.chat.id, new_id)

    async def status(_: Message, __: CommandObject) -> list[str]:
        items, summary = await asyncio.gather(state.api.services(), state.api.summary())
        services = [views.ServiceView.of(item) for item in items]
        return views.status_messages(services, _now_of(summary))

    async def status_full(_: Message, __: CommandObject) -> list[str]:
        items, summary = await asyncio.gather(state.api.services(), state.api.summary())
        services = [views.ServiceView.of(item) for item in items]
        uptimes = {
            str(s.get("service_key")): s.get("uptime_percent")
            for s in summary.get("services") or []
            if isinstance(s, dict)
        }
        return views.status_full_messages(services, uptimes, _now_of(summary))

    async def info(_: Message, command: CommandObject) -> list[str] | str:
        key = (command.args or "").strip()
        if not key:
            return "Which service? <code>/info KEY</code>"
        return await info_texts(state.api, key)

    async def incidents(_: Message, __: CommandObject) -> list[str]:
        open_ones, summary = await asyncio.gather(state.api.open_incidents(), state.api.summary())
        return details.incidents_message(open_ones, _now_of(summary))

    async def history(_: Message, command: CommandObject) -> list[str] | str:
        key = (command.args or "").strip()
        if not key:
            return "Which service? <code>/history KEY</code>"
        await state.api.service(key)  # (an unknown key: "no such service", not "no changes")
        transitions = await state.api.transitions(key, details.HISTORY_LENGTH)
        return details.history_message(key, transitions)

    async def summary(_: Message, __: CommandObject) -> str:
        return details.summary_message(await state.api.summary())

    async def help_(_: Message, __: CommandObject) -> str:
        return details.help_message()

    async def mute(_: Message, command: CommandObject) -> str:
        parts = (command.args or "").split()
        minutes = parse_duration(parts[1]) if len(parts) == 2 else None
        if minutes is None:
            return "Usage: <code>/mute KEY 2h</code> or <code>/mute all 30m</code> (m, h, d)"
        keys = await _keys(state.api, parts[0])
        muted = [(await state.api.mute(k, minutes)).get("muted_until") for k in keys]
        until = parse_time(muted[-1]) if muted else None
        shown = _which(parts[0], len(keys))
        return f"🔕 {shown} muted" + (f" until {until:%Y-%m-%d %H:%M} UTC" if until else "")

    async def unmute(_: Message, command: CommandObject) -> str:
        target = (command.args or "").strip()
        if not target or " " in target:
            return "Usage: <code>/unmute KEY</code> or <code>/unmute all</code>"
        keys = await _keys(state.api, target)
        for key in keys:
            await state.api.unmute(key)
        return f"🔔 {_which(target, len(keys))} unmuted: alerts are sent again"

    async def muted(_: Message, __: CommandObject) -> list[str]:
        items, summary = await asyncio.gather(state.api.services(), state.api.summary())
        services = [views.ServiceView.of(item) for item in items]
        return details.muted_message(services, _now_of(summary))

    # In the order of the menu (details.COMMANDS).
    command("status", status)
    command("status_full", status_full)
    command("info", info)
    command("incidents", incidents)
    command("history", history)
    command("mute", mute)
    command("unmute", unmute)
    command("muted", muted)
    command("summary", summary)
    command("help", help_)
    return router


async def info_texts(api: HeartwatchApi, key: str) -> list[str]:
    """/info KEY (and an alert's Details button)."""
    item = await api.service(key)
    found_key = str(item.get("key", key))
    reports, incidents, transitions = await asyncio.gather(
        asyncio.gather(*(api.uptime(found_key, p) for p in UPTIME_PERIODS)),
        api.open_incidents(),
        api.transitions(found_key, details.INFO_TRANSITIONS),
    )
    uptimes = {p: r.get("uptime_percent") for p, r in zip(UPTIME_PERIODS, reports, strict=True)}
    incident = next((i for i in incidents if i.get("service_key") == found_key), None)
    now = _now_of(reports[0])
    return details.info_message(
        views.ServiceView.of(item), item, uptimes, incident, transitions, now
    )


async def _keys(api: HeartwatchApi, target: str) -> list[str]:
    if target.lower() == "all":
        return [str(item["key"]) for item in await api.services() if "key" in item]
    return [target]


def _which(target: str, count: int) -> str:
    if target.lower() == "all":
        return f"All {count} services"
    return f"<b>{esc(target)}</b>"


def refusal(exc: ApiRefused) -> str:
    if exc.status == 403:
        return READ_ONLY
    if exc.status == 404:
        return f"🤷 {esc(exc.detail)}"
    if exc.status == 401:
        return "🔑 heartwatch refused the bot's API key: set HEARTWATCH_BOT_API_KEY."
    return f"heartwatch refused: {esc(exc.detail)}"


def _now_of(answer: dict[str, object]) -> datetime:
    """The API's `now` (the `to` of a metrics answer): in dev mode its clock may be ahead
    of this machine's, and ages must agree with the statuses."""
    return parse_time(answer.get("to")) or datetime.now(UTC)
