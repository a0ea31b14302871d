"""Retrying the bot's calls to Telegram (everything but the long poll, which the poller
paces itself): an answer to a command must survive a 429, a 5xx or a dropped connection.

429 waits the `retry_after` Telegram gives; 5xx, nginx's HTML error pages (which aiogram
cannot decode) and network errors wait a growing pause; all within `MAX_WAIT_S` in total,
after which the error is raised to the handler (and logged there). A group that became a
supergroup is answered at its new id.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import structlog
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

log = structlog.get_logger("heartwatch.bot")

MAX_WAIT_S = 120.0
FIRST_PAUSE_S = 0.5


class RetryingSends(BaseRequestMiddleware):
    def __init__(self, max_wait: float = MAX_WAIT_S, first_pause: float = FIRST_PAUSE_S) -> None:
        self.max_wait = max_wait
        self.first_pause = first_pause

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        long_poll = isinstance(method, GetUpdates)  # (not narrowing `method`'s type)
        if long_poll:
            return await make_request(bot, method)
        deadline = time.monotonic() + self.max_wait
        backoff = self.first_pause
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait: float = exc.retry_after
                problem = "429"
            except TelegramMigrateToChat as exc:
                chat_id = getattr(method, "chat_id", None)
                if chat_id is None:
                    raise
                log.info(
                    "a group became a supergroup: answering at its new id",
                    chat_id=chat_id,
                    new_chat_id=exc.migrate_to_chat_id,
                )
                method.chat_id = exc.migrate_to_chat_id  # type: ignore[attr-defined]
                continue
            except (TelegramServerError, TelegramNetworkError, ClientDecodeError) as exc:
                wait, backoff = backoff, backoff * 2
                problem = type(exc).__name__
            if time.monotonic() + wait > deadline:
                raise TimeoutError(f"telegram kept failing ({problem}); gave up on {method}")
            log.warning("telegram call failed, retrying", problem=problem, retry_in_s=wait)
            await asyncio.sleep(wait)
