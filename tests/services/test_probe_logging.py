"""A check's result is a debug line: at the default level a failing probe does not
write a line per check (its status change is the scheduler's INFO line)."""

from __future__ import annotations

import logging
import uuid

import pytest

from heartwatch.checkers.base import CheckContext
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.clock import SystemClock
from heartwatch.log import configure_logging
from heartwatch.services.probes import ProbeSpec, execute


async def _failing_check() -> None:
    spec = ProbeSpec(
        service_id=uuid.uuid4(),
        key="shop-api",
        type="http",
        endpoint="http://127.0.0.1:9/",
        settings=None,
        timeout_ms=1000,
        retry_count=0,
        retry_backoff_ms=0,
        problem="its checker is not installed",
    )
    # (no connection is made: the spec's configuration problem fails it first)
    context = CheckContext(http=None, allow_scripts=False)  # type: ignore[arg-type]
    finished = await execute(spec, None, CheckerRegistry(), context, SystemClock())
    assert not finished.outcome.up


@pytest.mark.parametrize("level", ["info", "debug"])
async def test_check_results_are_debug_lines(
    level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level)
    try:
        await _failing_check()
        logged = capsys.readouterr().err
    finally:
        configure_logging("info")
        logging.getLogger().handlers.clear()
    if level == "info":
        assert "shop-api" not in logged
    else:
        assert "check" in logged and "service=shop-api" in logged and "up=False" in logged
