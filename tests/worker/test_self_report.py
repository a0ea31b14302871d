"""The worker's own heartbeat carries the server's ping key, wherever the settings found
it: with the key only in `.env` (not in the process environment), the worker once
reported without it, was refused, and showed itself down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from heartwatch.checkers.base import CheckContext
from heartwatch.config import Settings
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from heartwatch.worker.runner import SELF_KEY, Worker
from tests.conftest import T0
from tests.helpers import ManualClock
from tests.test_client import Recorder, registry

__all__ = ["registry"]


@pytest.fixture
async def worker_with_key_in_dot_env(
    registry: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Worker]:
    monkeypatch.delenv("HEARTWATCH_PING_KEY", raising=False)
    monkeypatch.delenv("HEARTWATCH_REQUIRE_PING_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env where the SDK would look for one itself
    dot_env = tmp_path / "deploy.env"
    dot_env.write_text("HEARTWATCH_PING_KEY=only-in-dot-env\nHEARTWATCH_REQUIRE_PING_KEY=true\n")
    settings = Settings(
        _env_file=dot_env,
        database_url="sqlite+aiosqlite:///:memory:",
        url=registry.url,
        check_interval_seconds=1,
    )
    assert (settings.ping_key, settings.require_ping_key) == ("only-in-dot-env", True)
    db = Database(settings.effective_database_url)  # never opened
    async with aiohttp.ClientSession() as http:
        yield Worker(Runtime(settings, db, ManualClock(T0), CheckContext(http=http)))
    await db.dispose()


async def test_the_worker_reports_in_with_the_ping_key_from_dot_env(
    worker_with_key_in_dot_env: Worker,
    registry: Recorder,
) -> None:
    worker = worker_with_key_in_dot_env
    worker._last_report = 0.0  # due
    await worker._report_in()
    assert registry.paths() == [f"/heartbeat/{SELF_KEY}"]
    assert registry.ping_keys == ["only-in-dot-env"]
