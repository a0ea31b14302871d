"""One check: a probe plus up to `retry_count` retries with exponential backoff, all
inside ONE timeout budget, so a check never runs past its timeout however many retries
it has (the scheduler relies on that to keep its slots; a checker that ignores its
timeout is cut off GUARD_GRACE_S later).

This is done here once for every checker, plugins included: the timeout is enforced
even on a checker that ignores `probe.timeout_s` (unless the checker declares that it
enforces its timeout itself, as the HTTP checker does), and an exception becomes a down
outcome saying so instead of reaching the scheduler.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from heartwatch.checkers.base import CheckContext, Checker, CheckerSettings, Outcome, Probe

# A retry that would get less than this share of the budget is not started: it could
# only time out, and its "timeout" would replace the real error of the attempt before.
MIN_RETRY_SHARE = 0.1
# The runner's own guard fires this long after the attempt's timeout: a checker that
# honours `probe.timeout_s` reports its timeout itself, with what it saw by then (the
# script's output, the TCP stage), and cleans up; the guard is for those that do not.
GUARD_GRACE_S = 0.1


async def run_check(
    checker: Checker,
    probe_endpoint: str,
    settings: CheckerSettings,
    ctx: CheckContext,
    *,
    timeout_ms: float,
    retry_count: int,
    retry_backoff_ms: float,
) -> tuple[Outcome, int]:
    """The final attempt's outcome, and how many attempts were made. Never raises,
    except asyncio.CancelledError when the caller cancels."""
    loop = asyncio.get_running_loop()
    budget_s = max(timeout_ms, 1.0) / 1000
    deadline = loop.time() + budget_s
    attempts = 0
    while True:
        attempts += 1
        probe = Probe(probe_endpoint, deadline - loop.time(), settings)
        outcome = await _attempt(checker, probe, ctx)
        if outcome.up or attempts > retry_count:
            return outcome, attempts
        backoff_s = max(retry_backoff_ms, 0.0) / 1000 * 2 ** (attempts - 1)
        if deadline - (loop.time() + backoff_s) < budget_s * MIN_RETRY_SHARE:
            return outcome, attempts
        await asyncio.sleep(backoff_s)


async def _attempt(checker: Checker, probe: Probe, ctx: CheckContext) -> Outcome:
    started = time.perf_counter()
    try:
        if checker.enforces_timeout:
            # (No guard timer: one per attempt, for every check, where it never fires.)
            outcome = await checker.probe(probe, ctx)
        else:
            async with asyncio.timeout(probe.timeout_s + GUARD_GRACE_S):
                outcome = await checker.probe(probe, ctx)
    except TimeoutError:
        error = f"timeout after {probe.timeout_s * 1000:.0f} ms (the checker did not stop)"
        return Outcome(up=False, error=error, failed_assertion="timeout")
    # SystemExit too: a plugin calling sys.exit() must not stop the worker.
    except (Exception, SystemExit) as exc:
        error = f"checker crashed: {type(exc).__name__}: {exc}"
        return Outcome(up=False, error=error, failed_assertion="crash")
    if not isinstance(outcome, Outcome):
        error = f"checker crashed: probe returned {type(outcome).__name__}, not an Outcome"
        return Outcome(up=False, error=error, failed_assertion="crash")
    if outcome.up and outcome.latency_ms is None:
        # A plugin that does not measure still gets a latency: the attempt's duration.
        outcome = replace(outcome, latency_ms=(time.perf_counter() - started) * 1000)
    return outcome
