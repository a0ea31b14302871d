"""The Telegram bot's /status_full with many services: from the command's arrival at the
(fake) Bot API to the last message of the answer, through a real API over SQLite.

Goal: 1,000 services answered within 2 s, every message within Telegram's 4,096 units.

    flock /tmp/hw-bench.lock python bench/bot_status_full.py --services 1000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path

import uvicorn

from heartwatch.api.app import create_asgi_app
from heartwatch.bot.runner import Pacing, run_bot
from heartwatch.config import Settings
from heartwatch.runtime import Runtime
from heartwatch.services import registry

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.fakes: the fake Bot API is the tests' own

from tests.fakes.net import bound_socket, port_of  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

CHAT = 424242


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def main(services: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        sock = bound_socket()
        url = f"http://127.0.0.1:{port_of(sock)}"
        settings = Settings.model_validate(
            {
                "database_url": f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}",
                "url": url,
                "self_monitor": False,
            }
        )
        async with Runtime.open(settings, migrate=True) as runtime:
            now = runtime.clock.now()
            async with runtime.db.writing() as session:
                for i in range(services):
                    await registry.create_service(
                        session,
                        key=f"job-{i:05d}",
                        name=f"nightly job number {i} <{i % 7}>",
                        description="",
                        expected_period_sec=60.0,
                        now=now,
                        active=i % 10 != 0,
                    )
            last_key = f"job-{(services - 1) // 10 * 10:05d}"  # the last paused one: last shown
            config = uvicorn.Config(create_asgi_app(runtime), lifespan="off", log_config=None)
            server = _Server(config)
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            async with FakeTelegram() as telegram:
                bot_settings = settings.model_copy(
                    update={
                        "telegram_bot_token": telegram.token,
                        "telegram_api_url": telegram.api_url,
                        "telegram_allowed_chat_ids": str(CHAT),
                    }
                )
                stop = asyncio.Event()
                bot = asyncio.create_task(
                    run_bot(bot_settings, stop, api_key=None, pacing=Pacing(report_interval=1e9))
                )
                timings: list[float] = []
                for _ in range(rounds + 1):  # (the first warms up)
                    before = len(telegram.sent)
                    started = time.monotonic()
                    telegram.user_message("/status_full", chat_id=CHAT)
                    await telegram.wait_for(
                        lambda before=before: (
                            len(telegram.sent) > before and last_key in telegram.sent[-1].plain_text
                        ),
                        within=120,
                    )
                    timings.append(telegram.sent[-1].at - started)
                    answer = telegram.sent[before:]
                units = max(len(m.plain_text.encode("utf-16-le")) // 2 for m in answer)
                stop.set()
                await bot
            server.should_exit = True
            await serving
    measured = timings[1:]
    print(
        f"{services} services: /status_full answered in {len(answer)} messages "
        f"(longest {units} units); median {statistics.median(measured):.2f} s, "
        f"max {max(measured):.2f} s over {len(measured)} rounds"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.services, args.rounds))
