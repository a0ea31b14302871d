"""The HTTP checker's own CPU per check, against a bare aiohttp request, in one process.

bench/scheduler.py compares whole processes at 333 checks/s, where the per-wake-up cost of
the event loop dominates and the machine's noise (±15% between runs) hides a change of a
few microseconds. This isolates the part of a check that is the checker's: the same
process, the same HTTP session (`runtime.probe_http_session`), the same local target
(`bench/target_app.py`, in its own process), 50 requests at a time, alternating:

- bare: `session.request(GET, url)` and the body read, as bench/scheduler.py's bare loop;
- check: `services.probes.execute()` of an http check of that URL (runner, checker,
  assertions, the result objects), without the scheduler and the database.

Each request goes to one of `--urls` distinct URLs (as N services would), so URL parsing
costs what it costs with many services. Reports the process's CPU time per request, the
median of the rounds, and the difference: the checker's overhead per check.

    python bench/checker_overhead.py
    PYTHONPATH=<export>/src python bench/checker_overhead.py   # another commit

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import uvloop

from heartwatch import gc_tuning
from heartwatch.checkers.base import CheckContext
from heartwatch.checkers.http import USER_AGENT, HttpSettings
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.clock import SystemClock
from heartwatch.ids import new_id
from heartwatch.log import configure_logging
from heartwatch.runtime import probe_http_session
from heartwatch.services.probes import ProbeSpec, execute
from scheduler import free_port, wait_port  # bench/scheduler.py, next to this file

HERE = Path(__file__).parent
AT_ONCE = 50


async def measure(port: int, urls: int, rounds: int, per_round: int) -> dict[str, list[float]]:
    configure_logging(level="warning")  # as the worker under the benchmark
    gc_tuning.settle_after_startup()
    targets = [f"http://127.0.0.1:{port}/health/{i}" for i in range(urls)]
    specs = [
        ProbeSpec(
            service_id=new_id(),
            key=f"bench-{i}",
            type="http",
            endpoint=url,
            settings=HttpSettings(),
            timeout_ms=10_000,
            retry_count=0,
            retry_backoff_ms=0,
            interval_s=30.0,
        )
        for i, url in enumerate(targets)
    ]
    checkers, clock = CheckerRegistry(), SystemClock()
    turn = itertools.count()
    async with probe_http_session(500) as http:
        ctx = CheckContext(http=http)
        timeout = aiohttp.ClientTimeout(total=10)

        async def bare() -> None:
            url = targets[next(turn) % urls]
            headers = {"User-Agent": USER_AGENT}
            async with http.request(
                "GET", url, headers=headers, allow_redirects=True, ssl=True, timeout=timeout
            ) as response:
                await response.read()

        async def check() -> None:
            spec = specs[next(turn) % urls]
            await execute(spec, datetime.now(UTC), checkers, ctx, clock)

        kinds: dict[str, Callable[[], Awaitable[None]]] = {"bare": bare, "check": check}
        cpu: dict[str, list[float]] = {name: [] for name in kinds}
        for round_no in range(rounds + 1):  # the first round warms up: not counted
            order = list(kinds) if round_no % 2 else list(kinds)[::-1]
            for name in order:
                run = kinds[name]
                started = time.process_time()
                for _ in range(per_round // AT_ONCE):
                    await asyncio.gather(*(run() for _ in range(AT_ONCE)))
                if round_no:
                    cpu[name].append((time.process_time() - started) / per_round * 1e6)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--urls", type=int, default=10_000, help="distinct URLs (services)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=4000, help="per kind and round")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, str(HERE / "target_app.py"), str(port)])
    try:
        wait_port(port)
        cpu = uvloop.run(measure(port, args.urls, args.rounds, args.requests))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{args.urls:,} URLs, {AT_ONCE} at a time, {args.rounds} rounds of {args.requests:,}")
    for name, values in cpu.items():
        rounds = " ".join(f"{v:.0f}" for v in values)
        print(f"{name:>6}: {statistics.median(values):6.1f} us CPU per request (rounds {rounds})")
    overhead = [c - b for b, c in zip(cpu["bare"], cpu["check"], strict=True)]
    print(f"checker overhead: {statistics.median(overhead):.1f} us per check (median of rounds)")


if __name__ == "__main__":
    main()
