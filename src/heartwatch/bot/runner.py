"""The bot's process: long polling against the Bot API, until `stop`.

The polling loop is ours rather than aiogram's `start_polling`, to decide how each
failure is met:
- 409 Conflict (another poller uses the token): reported plainly, then a growing pause
  (up to `conflict_most` seconds), so two bots do not knock each other off in a loop;
- 429: the pause Telegram asks for (`retry_after`);
- 5xx and network errors: a growing pause; a bad token (401): a long one, logged.
Updates are confirmed (the next offset) only after their commands were answered, and
answers are retried on 429/5xx (`RetryingSends`), so a received command is not lost.

While polling works, the bot reports in as the service `heartwatch-bot`: a bot that is
down, or locked out by another poller, goes silent like anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, Update

from heartwatch.bot.access import AllowedChats
from heartwatch.bot.api_client import HeartwatchApi
from heartwatch.bot.buttons import build_button_router
from heartwatch.bot.details import COMMANDS
from heartwatch.bot.handlers import BotState, build_router
from heartwatch.bot.sending import RetryingSends
from heartwatch.client import aheartbeat
from heartwatch.config import Settings

log = structlog.get_logger("heartwatch.bot")

SELF_KEY = "heartwatch-bot"
UPDATE_TYPES = ["message", "callback_query"]


@dataclass(frozen=True)
class Pacing:
    """How long the loop waits, and how often it reports in (seconds)."""

    poll_timeout: int = 25
    error_first: float = 1.0
    error_most: float = 60.0
    conflict_first: float = 5.0
    conflict_most: float = 300.0
    unauthorized: float = 300.0
    report_interval: float = 60.0


class Backoff:
    def __init__(self, first: float, most: float) -> None:
        self.first = first
        self.most = most
        self.next = first

    def take(self) -> float:
        pause, self.next = self.next, min(self.next * 2, self.most)
        return pause

    def reset(self) -> None:
        self.next = self.first


async def pause(seconds: float, stop: asyncio.Event) -> None:
    """Sleep `seconds`, or less when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


def make_bot(settings: Settings) -> Bot:
    token = settings.telegram_bot_token
    if not token:
        raise ValueError("the bot needs TELEGRAM_BOT_TOKEN")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(RetryingSends())
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


async def run_bot(
    settings: Settings, stop: asyncio.Event, *, api_key: str | None, pacing: Pacing | None = None
) -> None:
    """Answer commands until `stop`; `api_key` for heartwatch's API (None: none sent)."""
    bot = make_bot(settings)
    api = HeartwatchApi(settings.api_url, api_key)
    allowed = AllowedChats.parse(settings.telegram_allowed_chat_ids, settings.telegram_chat_id)
    dispatcher = Dispatcher()
    state = BotState(api, allowed)
    dispatcher.include_routers(build_router(state), build_button_router(state))
    try:
        await Poller(bot, dispatcher, settings, pacing or Pacing()).run(stop)
    finally:
        await api.aclose()
        await bot.session.close()


class Poller:
    def __init__(
        self, bot: Bot, dispatcher: Dispatcher, settings: Settings, pacing: Pacing
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.settings = settings
        self.pacing = pacing
        self.errors = Backoff(pacing.error_first, pacing.error_most)
        self.conflicts = Backoff(pacing.conflict_first, pacing.conflict_most)
        self._last_report: float | None = None

    async def run(self, stop: asyncio.Event) -> None:
        offset: int | None = None
        ready = False
        log.info("telegram bot starting", api=self.settings.telegram_api_url)
        while not stop.is_set():
            try:
                # The set-up's calls are retried (RetryingSends) for minutes while
                # Telegram fails: abandoned too when `stop` is set, or they hold up the
                # shutdown of the whole process.
                if not ready and await _until_stop(self._set_up(), stop) is None:
                    break
                ready = True
                updates = await _until_stop(self._get_updates(offset), stop)
            except TelegramConflictError:
                wait = self.conflicts.take()
                log.warning(
                    "another bot is polling Telegram with this token (409 Conflict): only one "
                    "may; stop the other one (a second `heartwatch up` or `heartwatch bot`?)",
                    retry_in_s=wait,
                )
                await pause(wait, stop)
                continue
            except TelegramRetryAfter as exc:
                log.warning("telegram asks to slow down", retry_in_s=exc.retry_after)
                await pause(exc.retry_after, stop)
                continue
            except TelegramUnauthorizedError:
                log.error(
                    "telegram refuses TELEGRAM_BOT_TOKEN (401): check it with BotFather",
                    retry_in_s=self.pacing.unauthorized,
                )
                await pause(self.pacing.unauthorized, stop)
                continue
            except (TelegramServerError, TelegramNetworkError, ClientDecodeError, OSError) as exc:
                # (ClientDecodeError: a front end's HTML error page, nginx's 502 or 504)
                wait = self.errors.take()
                log.warning("telegram is not reachable", error=str(exc), retry_in_s=wait)
                await pause(wait, stop)
                continue
            if updates is None:  # stopped
                break
            self.errors.reset()
            self.conflicts.reset()
            await self._handle(updates)
            if updates:
                offset = updates[-1].update_id + 1
            await self._report_in()
        log.info("telegram bot stopped")

    async def _set_up(self) -> bool:
        """True once the bot is set up (for `_until_stop`, whose None means stopped)."""
        me = await self.bot.get_me()
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.bot.set_my_commands(
            [BotCommand(command=name, description=what) for name, what in COMMANDS]
        )
        log.info("telegram bot ready", username=me.username)
        return True

    async def _get_updates(self, offset: int | None) -> list[Update]:
        return await self.bot.get_updates(
            offset=offset,
            timeout=self.pacing.poll_timeout,
            allowed_updates=UPDATE_TYPES,
            request_timeout=self.pacing.poll_timeout + 10,
        )

    async def _handle(self, updates: list[Update]) -> None:
        # Side by side: one slow answer must not hold the others.
        results = await asyncio.gather(
            *(self.dispatcher.feed_update(self.bot, update) for update in updates),
            return_exceptions=True,
        )
        for update, result in zip(updates, results, strict=True):
            if isinstance(result, BaseException):
                log.error("a command failed", update_id=update.update_id, error=repr(result))

    async def _report_in(self) -> None:
        if not self.settings.self_monitor:
            return
        now = time.monotonic()
        if self._last_report is not None and now - self._last_report < self.pacing.report_interval:
            return
        self._last_report = now
        await aheartbeat(
            SELF_KEY,
            url=self.settings.api_url,
            period=self.pacing.report_interval,
            timeout=2.0,
            ping_key=self.settings.ping_key,
        )


async def _until_stop(work: Any, stop: asyncio.Event) -> Any:
    """`work`'s result, or None as soon as `stop` is set (the long poll is abandoned)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None
    return task.result()
