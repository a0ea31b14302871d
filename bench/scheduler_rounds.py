"""The scheduler's claim and write rounds in isolation: CPU per check, without checks.

bench/scheduler.py measures the whole worker, where these rounds are a sixth of the CPU
and the machine's noise hides a change of a few microseconds per check. This runs only
them, as the worker does, on a fresh SQLite file of N http services (bench/scheduler.py's
`fill`): each round claims the services due in the next second (the claim and the
configuration read), then records an "up" result for each (the write round: lock, the
service rows, the results, the next slots). The slots wrap around every interval, so ids
recur as they do in a running worker. Prints the process's CPU time per check, medians of
the rounds (the first three left out).

    python bench/scheduler_rounds.py
    PYTHONPATH=<export>/src python bench/scheduler_rounds.py   # another commit

Trees from before the session-less rounds (commit c6a291a) have the session-taking
statements: they run through those, so one script compares both.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from heartwatch import gc_tuning
from heartwatch.checkers.base import Outcome
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.services import probes
from heartwatch.services.probes import FinishedCheck, SpecReader
from heartwatch.store.database import Database
from scheduler import fill  # bench/scheduler.py, next to this file

try:  # this tree: the store's statements and the probe queries in modules of their own
    from heartwatch.store import probes as probe_store
    from heartwatch.store import statements
except ImportError:  # trees before issue #12: both in one `store/queries.py`
    from heartwatch.store import queries as probe_store  # type: ignore[no-redef]
    from heartwatch.store import queries as statements  # type: ignore[no-redef]

OWNER = "bench-worker"
LEAN = hasattr(statements, "write_lean")  # this tree's rounds run without an ORM session


async def claim(db: Database, now: datetime, reader: SpecReader) -> list[tuple[Any, datetime]]:
    """A claim round: the leases due within a second, then their configuration (kept
    parsed between claims, as the worker's `SpecReader` does)."""
    values: dict[str, Any] = {
        "owner": OWNER,
        "now": now,
        "horizon": now + timedelta(seconds=1),
        "lease_until": now + timedelta(seconds=30),
        "limit": 5000,
    }
    if LEAN:
        async with statements.statement_transaction(db) as tx:
            claimed = await probe_store.claim_due_checks(tx, **values)
            rows = await probe_store.probe_spec_rows(tx, [sid for sid, _ in claimed])
    else:
        async with db.writing() as session:
            claimed = await probe_store.claim_due_checks(session, **values)  # type: ignore[arg-type]
            rows = await probe_store.probe_spec_rows(session, [sid for sid, _ in claimed])  # type: ignore[arg-type]
    for row in rows:
        reader.spec(row)
    return claimed


async def write(db: Database, checks: list[FinishedCheck], now: datetime) -> None:
    """A write round, as `CheckScheduler._record`."""
    dead_after = timedelta(days=7)
    if LEAN:

        async def work(tx: statements.StatementTx, session: Any) -> object:
            return await probes.record_checks_in(
                tx, session, checks, now=now, dead_after=dead_after, owner=OWNER
            )

        await statements.write_lean(db, work)
    else:
        async with db.writing() as session:
            await probes.record_checks(session, checks, now=now, dead_after=dead_after, owner=OWNER)


async def measure(n: int, interval: float, rounds: int) -> tuple[list[float], list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await fill(url, n, interval, "http://127.0.0.1:9")  # never contacted
        db = Database(url)
        gc_tuning.settle_after_startup()  # as the worker
        reader = SpecReader(CheckerRegistry())
        claims: list[float] = []
        writes: list[float] = []
        start = datetime.now(UTC) + timedelta(seconds=3)  # `fill`'s first slot
        size = 0
        try:
            for round_no in range(rounds + 3):
                lap, second = divmod(round_no, int(interval))
                now = start + timedelta(seconds=lap * interval + second)
                began = time.process_time()
                claimed = await claim(db, now, reader)
                claimed_cpu = time.process_time() - began
                rows = [FinishedCheck(sid, _UP, 1, at, at, at) for sid, at in claimed]
                began = time.process_time()
                await write(db, rows, now + timedelta(seconds=1))
                written_cpu = time.process_time() - began
                size = len(claimed)
                if round_no >= 3 and size:
                    claims.append(claimed_cpu / size * 1e6)
                    writes.append(written_cpu / size * 1e6)
        finally:
            await db.dispose()
        return claims, writes, size


_UP = Outcome(up=True, latency_ms=1.5, http_status=200, detail="ok")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=60, help="claim + write rounds, 1 s apart")
    args = parser.parse_args()
    claims, writes, size = asyncio.run(measure(args.services, args.interval, args.rounds))
    print(
        f"{args.services:,} services, {args.interval:g} s interval: {len(writes)} rounds of "
        f"~{size} checks, {'without' if LEAN else 'in'} ORM sessions"
    )
    print(f"claim round: {statistics.median(claims):5.1f} us CPU per check (median)")
    print(f"write round: {statistics.median(writes):5.1f} us CPU per check (median)")


if __name__ == "__main__":
    main()
