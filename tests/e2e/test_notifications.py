"""Alerts as a user of the seed's `.env` gets them: `heartwatch up` with only
TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set (plus TELEGRAM_API_URL pointing at a local fake
Bot API), the dev clock standing in for hours."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Launcher, free_port
from tests.e2e.test_lifecycle import Stack, assert_clean_exit
from tests.fakes.telegram import FakeTelegram

pytestmark = pytest.mark.e2e


class ThreadedTelegram:
    """The fake Bot API on its own event loop thread, for tests that are not async."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.fake = FakeTelegram()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)

    def texts(self) -> list[str]:
        return [m.plain_text for m in list(self.fake.sent)]

    def wait_for(self, needle: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [t for t in self.texts() if needle in t]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no message with {needle!r}; got {self.texts()}")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def telegram() -> Iterator[ThreadedTelegram]:
    tg = ThreadedTelegram()
    yield tg
    tg.close()


def test_down_recovery_and_the_daily_summary_reach_telegram(
    launcher: Launcher, telegram: ThreadedTelegram
) -> None:
    proc = launcher.start(
        "up",
        port=free_port(),
        TELEGRAM_BOT_TOKEN=telegram.fake.token,
        TELEGRAM_CHAT_ID="-1001234",
        TELEGRAM_API_URL=telegram.fake.api_url,
        TIMEZONE="Europe/Berlin",
        DAILY_SUMMARY_TIME="09:00",
    )
    hw = Stack(proc.base_url)
    # 2027-03-01 07:50 UTC is 08:50 in Berlin: the day's summary is not due yet.
    hw.http.post("/dev/clock", json={"now": "2027-03-01T07:50:00Z"})
    assert hw.http.post("/services", json={"key": "db", "expected_period_sec": 60}).is_success
    hw.heartbeat("db")
    hw.advance(300)
    hw.wait_recorded("db", "down")
    down = telegram.wait_for("db is DOWN")
    # The clock jumped past silent and down: the worker finds both at once and tells one.
    assert "Status: down (was alive)" in down and "Path: alive → silent → down" in down
    hw.heartbeat("db")
    assert "db RECOVERED after" in telegram.wait_for("db RECOVERED")
    assert not any("Day: 2027-03-01" in t for t in telegram.texts())

    hw.http.post("/dev/clock", json={"now": "2027-03-01T08:00:05Z"})  # 09:00:05 in Berlin
    summary = telegram.wait_for("Day: 2027-03-01")
    assert summary.startswith("Daily summary")
    assert "Services: " in summary and "Uptime (last 24 h): " in summary
    assert "Incidents (last 24 h): " in summary and "• db: " in summary
    hw.advance(3600)  # later that day, or after a restart: not again
    time.sleep(2.5)
    assert sum("Day: 2027-03-01" in t for t in telegram.texts()) == 1
    # one message per change found: down (silent and down found at once), recovered (the
    # clock jumps after it may make it go quiet again: that is news of its own, told after)
    kinds = [t.splitlines()[0] for t in telegram.texts() if t.startswith("db ")]
    assert kinds[:2] == ["db is DOWN", "db RECOVERED after 1 min"], kinds
    assert all(m.chat_id in ("-1001234", -1001234) for m in telegram.fake.sent)
    assert_clean_exit(proc)
