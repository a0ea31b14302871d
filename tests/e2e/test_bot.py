"""`heartwatch up` with a Telegram token runs the bot too: it answers from the API of the
same process (with access control on, and no key configured for it) and reports in. The
issue's walk: a service goes down, the alert arrives with buttons, Mute 1h mutes it, a
further change alerts nobody, and /status lists it as down and muted."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.bot.conftest import ALLOWED_CHAT, ask
from tests.e2e.conftest import Launcher, free_port, wait_ready
from tests.fakes.telegram import FakeTelegram, SentMessage


def is_alert(message: SentMessage) -> bool:
    return message.plain_text.startswith("db is DOWN") and "reply_markup" in message.params


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
            auth = {"Authorization": f"Bearer {key}"}
            for path in ("/heartbeat/web", "/heartbeat/db", "/heartbeat/db/fail"):
                response = await http.post(path, params={"period": "300"}, content="refused")
                assert response.status_code == 200
            # The alert arrives with its buttons; Mute 1h mutes the service.
            await telegram.wait_for(lambda: any(is_alert(m) for m in telegram.sent), within=60)
            [down_alert] = [m for m in telegram.sent if is_alert(m)]
            telegram.press_button(down_alert, "hw:mute:db", username="bob")
            await telegram.wait_for(lambda: bool(telegram.edits), within=30)
            assert "🔕 muted by @bob until " in telegram.edits[0].plain_text
            # A further change queues no alert at all (it is written with the change).
            queued = len((await http.get("/notifications", headers=auth)).json())
            for path in ("/heartbeat/db", "/heartbeat/db/fail"):
                assert (await http.post(path)).status_code == 200
            assert len((await http.get("/notifications", headers=auth)).json()) == queued
            answer = await ask(telegram, "/status")
            assert re.search(r"🔴 db — down for \d+s 🔕 muted for (59m|1h)", answer), answer
            assert "heartwatch refused" not in answer
            # After a poll that worked, the bot reported in as its own service.
            async with asyncio.timeout(10):
                while (await http.get("/services/heartwatch-bot", headers=auth)).status_code != 200:  # noqa: ASYNC110 - another process
                    await asyncio.sleep(0.1)
        code, _ = await asyncio.to_thread(proc.stop)
    assert code == 0
    log = proc.log()
    assert "telegram bot ready" in log
    assert telegram.token.split(":")[1] not in log  # (the token is masked in the logs)
