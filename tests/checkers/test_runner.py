"""Retries, backoff and the timeout budget, against a real flaky HTTP server; and what
the runner makes of checkers that misbehave."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web

from heartwatch.checkers.base import CheckContext, Checker, CheckerSettings, Outcome, Probe
from heartwatch.checkers.http import HttpChecker, HttpSettings
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.checkers.runner import GUARD_GRACE_S, run_check
from heartwatch.checkers.script import ScriptChecker
from tests.checkers.conftest import Serve


class FlakyServer:
    """Answers 503 `failures` times, then 200; remembers when each request came."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[float] = []

    async def handle(self, _: web.Request) -> web.Response:
        self.seen.append(time.perf_counter())
        if len(self.seen) <= self.failures:
            return web.Response(status=503, text="warming up")
        return web.Response(text="ok")

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_get("/", self.handle)
        return application


async def run_http(
    ctx: CheckContext, url: str, *, timeout_ms: float, retries: int, backoff_ms: float
) -> tuple[Outcome, int]:
    return await run_check(
        HttpChecker(),
        url,
        HttpSettings(),
        ctx,
        timeout_ms=timeout_ms,
        retry_count=retries,
        retry_backoff_ms=backoff_ms,
    )


async def test_up_after_two_failures_with_exponential_backoff(
    ctx: CheckContext, serve: Serve
) -> None:
    server = FlakyServer(failures=2)
    url = await serve(server.app())
    outcome, attempts = await run_http(ctx, url, timeout_ms=2000, retries=3, backoff_ms=40)
    assert (outcome.up, outcome.http_status, attempts) == (True, 200, 3)
    gaps = [later - earlier for earlier, later in zip(server.seen, server.seen[1:], strict=False)]
    assert gaps[0] >= 0.040 and gaps[1] >= 0.080  # backoff, then twice the backoff
    assert gaps[1] < 0.080 + 0.2


async def test_down_when_the_retries_run_out(ctx: CheckContext, serve: Serve) -> None:
    server = FlakyServer(failures=5)
    url = await serve(server.app())
    outcome, attempts = await run_http(ctx, url, timeout_ms=2000, retries=1, backoff_ms=1)
    assert (outcome.up, outcome.error, attempts) == (False, "status 503 not in 200-399", 2)
    assert len(server.seen) == 2


async def test_retries_stop_when_the_budget_is_spent(ctx: CheckContext, serve: Serve) -> None:
    server = FlakyServer(failures=100)
    url = await serve(server.app())
    started = time.perf_counter()
    # attempts at ~0, ~100 and ~300 ms; the next would start at ~700 ms, past 500 ms
    outcome, attempts = await run_http(ctx, url, timeout_ms=500, retries=10, backoff_ms=100)
    assert time.perf_counter() - started < 0.5
    assert (outcome.up, attempts, len(server.seen)) == (False, 3, 3)
    assert outcome.error == "status 503 not in 200-399"  # the real error, not a timeout


async def test_each_attempt_gets_only_what_is_left(ctx: CheckContext, serve: Serve) -> None:
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/", slow)
    url = await serve(app)
    started = time.perf_counter()
    outcome, attempts = await run_http(ctx, url, timeout_ms=300, retries=5, backoff_ms=10)
    assert time.perf_counter() - started < 0.45
    assert (outcome.error, outcome.failed_assertion, attempts) == (
        "timeout after 300 ms",
        "timeout",
        1,
    )


class Misbehaving(Checker):
    """A plugin written carelessly: ignores its timeout, raises, returns junk."""

    type = "careless"

    @classmethod
    def parse_endpoint(cls, endpoint: str) -> str:
        return endpoint

    async def probe(self, probe: Probe, ctx: CheckContext) -> Outcome:
        if probe.endpoint == "hang":
            await asyncio.sleep(10)
        if probe.endpoint == "raise":
            raise ValueError("no such thing")
        if probe.endpoint == "exit":
            raise SystemExit(1)
        return "up"  # type: ignore[return-value]


async def run_careless(ctx: CheckContext, endpoint: str, retries: int = 0) -> tuple[Outcome, int]:
    return await run_check(
        Misbehaving(),
        endpoint,
        CheckerSettings(),
        ctx,
        timeout_ms=150,
        retry_count=retries,
        retry_backoff_ms=1,
    )


async def test_a_checker_that_ignores_its_timeout_is_cut_off(ctx: CheckContext) -> None:
    started = time.perf_counter()
    outcome, attempts = await run_careless(ctx, "hang", retries=3)
    assert time.perf_counter() - started < 0.15 + GUARD_GRACE_S + 0.1
    assert (outcome.up, outcome.error, attempts) == (
        False,
        "timeout after 150 ms (the checker did not stop)",
        1,
    )


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ("raise", "checker crashed: ValueError: no such thing"),
        ("exit", "checker crashed: SystemExit: 1"),
        ("junk", "checker crashed: probe returned str, not an Outcome"),
    ],
)
async def test_a_crash_is_a_down_outcome(ctx: CheckContext, endpoint: str, error: str) -> None:
    outcome, attempts = await run_careless(ctx, endpoint, retries=2)
    assert (outcome.up, outcome.error, outcome.failed_assertion, attempts) == (
        False,
        error,
        "crash",
        3,
    )


async def test_cancellation_is_not_swallowed(ctx: CheckContext) -> None:
    task = asyncio.create_task(run_careless(ctx, "hang"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_checker_reports_its_own_timeout_with_what_it_saw(
    http_session: aiohttp.ClientSession,
) -> None:
    ctx = CheckContext(http=http_session, allow_scripts=True)
    command = "echo checking replicas; sleep 5"
    endpoint, settings = CheckerRegistry(discover=False).validate_settings(
        "script", command, {"shell": True}
    )
    outcome, attempts = await run_check(
        ScriptChecker(), endpoint, settings, ctx, timeout_ms=300, retry_count=0, retry_backoff_ms=0
    )
    assert (outcome.error, outcome.detail, attempts) == (
        "timeout after 300 ms",
        "checking replicas\n",
        1,
    )
