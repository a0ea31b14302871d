"""`heartwatch up` with a Telegram token runs the bot too: it answers from the API of the
same process (with access control on, and no key configured for it) and reports in."""

from __future__ import annotations

import asyncio

import httpx

from tests.bot.conftest import ALLOWED_CHAT, ask
from tests.e2e.conftest import Launcher, free_port, wait_ready
from tests.fakes.telegram import FakeTelegram


async def test_up_with_a_token_answers_status_and_reports_in(launcher: Launcher) -> None:
    made = await asyncio.to_thread(
        launcher.run, "keys", "create", "--name", "ops", "--role", "admin"
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    async with FakeTelegram() as telegram:
        port = free_port()
        proc = launcher.start(
            "up",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.api_url,
            TELEGRAM_CHAT_ID=str(ALLOWED_CHAT),
        )
        proc.base_url = f"http://127.0.0.1:{port}"
        # (aiogram is loaded too: on a busy machine this start takes longer than most)
        await asyncio.to_thread(wait_ready, proc, 120.0)
        async with httpx.AsyncClient(base_url=proc.base_url, timeout=10) as http:
            for path in ("/heartbeat/web?period=300", "/heartbeat/db/fail?period=300"):
                assert (await http.post(path, content="connection refused")).status_code == 200
            answer = await ask(telegram, "/status")
            assert "🔴 db — down for " in answer
            assert "heartwatch refused" not in answer
            # After a poll that worked, the bot reported in as its own service.
            auth = {"Authorization": f"Bearer {key}"}
            async with asyncio.timeout(10):
                while (await http.get("/services/heartwatch-bot", headers=auth)).status_code != 200:  # noqa: ASYNC110 - another process
                    await asyncio.sleep(0.1)
        code, _ = await asyncio.to_thread(proc.stop)
    assert code == 0
    log = proc.log()
    assert "telegram bot ready" in log
    assert telegram.token.split(":")[1] not in log  # (the token is masked in the logs)
