"""A real heartwatch API on 127.0.0.1 (over a real database, both backends), the fake Bot
API, and the bot between them, as `heartwatch bot` runs it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from heartwatch.api.app import create_asgi_app
from heartwatch.bot.runner import Pacing, run_bot
from heartwatch.config import Settings
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from tests.fakes.net import bound_socket, port_of
from tests.fakes.telegram import FakeTelegram, fake_telegram  # noqa: F401 - a fixture

ALLOWED_CHAT = 424242
OTHER_CHAT = 999001
GROUP_CHAT = -100777
# Short pauses, so that the fault tests take a fraction of a second.
FAST = Pacing(
    poll_timeout=5,
    error_first=0.05,
    error_most=0.2,
    conflict_first=0.05,
    conflict_most=0.2,
    unauthorized=0.2,
    report_interval=3600,
)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class LiveApi:
    runtime: Runtime
    url: str
    http: httpx.AsyncClient

    async def heartbeat(self, key: str, suffix: str = "", body: str = "") -> None:
        # With a declared period: alive at once (not unknown while a period is learned).
        response = await self.http.post(
            f"/heartbeat/{key}{suffix}", params={"period": "300"}, content=body
        )
        assert response.status_code == 200, response.text

    async def create(self, **body: Any) -> None:
        response = await self.http.post("/services", json=body)
        assert response.status_code == 201, response.text


@pytest.fixture
async def live_api(db_url: str, database: Database) -> AsyncIterator[LiveApi]:
    sock = bound_socket()
    url = f"http://127.0.0.1:{port_of(sock)}"
    settings = Settings.model_validate(
        {"database_url": db_url, "debug_mode": True, "url": url, "self_monitor": False}
    )
    async with Runtime.open(settings) as runtime:
        config = uvicorn.Config(create_asgi_app(runtime), lifespan="off", log_config=None)
        server = _Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110 - uvicorn sets a flag, not an event
            await asyncio.sleep(0.01)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                yield LiveApi(runtime, url, http)
        finally:
            server.should_exit = True
            await serving


def bot_settings(api_url: str, telegram: FakeTelegram, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "url": api_url,
        "telegram_bot_token": telegram.token,
        "telegram_api_url": telegram.api_url,
        "telegram_allowed_chat_ids": f"{ALLOWED_CHAT},{GROUP_CHAT}",
        "self_monitor": False,
    }
    values.update(extra)
    return Settings.model_validate(values)


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, *, api_key: str | None = None, pacing: Pacing = FAST
) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(settings, stop, api_key=api_key, pacing=pacing))
    try:
        yield task
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task


async def ask(telegram: FakeTelegram, text: str, chat_id: int = ALLOWED_CHAT, **kw: Any) -> str:
    """Write `text` to the bot from `chat_id`; the (first) answer's visible text."""
    before = len(telegram.messages_to(chat_id))
    telegram.user_message(text, chat_id=chat_id, **kw)
    async with asyncio.timeout(10):
        while len(telegram.messages_to(chat_id)) <= before:
            await telegram.wait_for_sent(len(telegram.sent) + 1, within=10)
    return telegram.messages_to(chat_id)[before].plain_text
