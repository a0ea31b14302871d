"""Probe scheduler benchmark: the real `heartwatch worker` against N local HTTP services.

For each N (default 1,000 and 10,000) at one interval (default 30 s):
  - a throwaway SQLite database (or PostgreSQL with --postgres) with N http services,
  - a local aiohttp target in its own process,
  - `heartwatch worker` in its own process for --seconds (warm-up excluded),
and reports achieved checks/s, start drift (actual start - scheduled) p50/p99/max, the
worker's CPU % and peak RSS, and CPU time per check. In the same run, a bare aiohttp
request loop sends the same number of requests at the same rate to the same target: the
ceiling, and the scheduler's overhead is its CPU per check over the bare loop's.

    python bench/scheduler.py                      # 1k and 10k services, 30 s interval
    python bench/scheduler.py --services 1000 --interval 5 --seconds 40

Only 127.0.0.1 is contacted. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import insert, select

from heartwatch.services.heartbeats import new_service_row
from heartwatch.store.database import Database
from heartwatch.store.migrate import upgrade
from heartwatch.store.models import CheckResult, SchedulerState, Service

HERE = Path(__file__).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fill(url: str, n: int, interval: float, target: str) -> None:
    """N http services, first runs spread over one interval (as the API would do)."""
    db = Database(url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        rows, slots = [], []
        for i in range(n):
            row = new_service_row(f"bench-{i:05d}", now)
            row.update(
                type="http",
                endpoint=f"{target}/health/{i}",
                check_interval_sec=interval,
                timeout_ms=int(min(10_000, interval * 800)),
                retry_count=0,
                retry_backoff_ms=0,
                failure_threshold=1,
                success_threshold=1,
                check_settings={},
                criticality="medium",
                tags=[],
                streak_count=0,
            )
            rows.append(row)
            # like services.probes.first_slot, evenly rather than randomly: reproducible
            first = now + timedelta(seconds=3 + interval * i / n)
            slots.append({"service_id": row["id"], "next_run_at": first})
        async with db.writing() as session:
            for start in range(0, n, 2000):
                await session.execute(insert(Service), rows[start : start + 2000])
                await session.execute(insert(SchedulerState), slots[start : start + 2000])
    finally:
        await db.dispose()


async def drift_figures(url: str, since: datetime) -> tuple[int, list[float], float]:
    db = Database(url)
    try:
        async with db.reading() as session:
            rows = (
                await session.execute(
                    select(CheckResult.scheduled_at, CheckResult.started_at, CheckResult.up).where(
                        CheckResult.scheduled_at >= since
                    )
                )
            ).all()
    finally:
        await db.dispose()
    drifts = [(s2 - s1).total_seconds() * 1000 for s1, s2, _ in rows if s1 is not None]
    failed = sum(1 for *_, up in rows if not up)
    return len(rows), drifts, failed


@dataclass
class Figures:
    label: str
    checks: int
    seconds: float
    drift_ms: list[float]
    cpu_s: float
    rss_mb: float
    failed: int = 0

    @property
    def rate(self) -> float:
        return self.checks / self.seconds

    @property
    def cpu_pct(self) -> float:
        return 100 * self.cpu_s / self.seconds

    @property
    def cpu_ms_per_check(self) -> float:
        return 1000 * self.cpu_s / max(1, self.checks)


def run_worker(url: str, n: int, interval: float, seconds: float, warmup: float) -> Figures:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
    env.update(
        HEARTWATCH_DATABASE_URL=url,
        HEARTWATCH_SELF_MONITOR="false",
        HEARTWATCH_LOG_LEVEL="warning",
        HEARTWATCH_MAX_CONCURRENT_CHECKS="500",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "heartwatch", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(warmup)
        window_start = datetime.now(UTC)
        cpu0 = cpu_seconds(worker.pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        cpu1 = cpu_seconds(worker.pid)
        elapsed = time.monotonic() - t0
        rss = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        try:
            _, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    if worker.returncode != 0:
        print(err.decode(errors="replace")[-3000:], file=sys.stderr)
        raise SystemExit(f"worker exited with {worker.returncode}")
    # Checks whose slot fell in the window (a few at the very end may have been cut off
    # by the stop; at hundreds per second that is well under a percent).
    checks, drifts, failed = asyncio.run(drift_figures(url, window_start))
    return Figures(f"worker, {n:,} services", checks, elapsed, drifts, cpu1 - cpu0, rss, failed)


async def bare_loop(target: str, rate: float, seconds: float, concurrency: int) -> Figures:
    """The ceiling: aiohttp alone, the same requests at the same pace, no scheduler, no
    database. Drift here is how late each request starts against its ideal time."""
    total = int(rate * seconds)
    drifts: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    cpu0 = time.process_time()
    async with aiohttp.ClientSession(connector=connector) as http:
        t0 = time.monotonic()

        async def one(i: int) -> None:
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            async with sem:
                drifts.append((time.monotonic() - due) * 1000)
                async with http.get(f"{target}/health/{i}") as response:
                    await response.read()

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Figures("bare aiohttp loop", total, elapsed, drifts, cpu, rss)


def table(rows: list[Figures], ceiling: Figures | None) -> None:
    head = (
        f"{'run':<28}{'checks':>8}{'checks/s':>10}{'drift p50':>11}{'p99':>9}{'max':>9}"
        f"{'CPU %':>8}{'CPU ms/check':>14}{'peak RSS':>10}"
    )
    print(head)
    print("-" * len(head))
    for f in rows:
        print(
            f"{f.label:<28}{f.checks:>8}{f.rate:>10.1f}{pct(f.drift_ms, 0.5):>9.1f}ms"
            f"{pct(f.drift_ms, 0.99):>7.1f}ms{max(f.drift_ms, default=float('nan')):>7.1f}ms"
            f"{f.cpu_pct:>7.1f}%{f.cpu_ms_per_check:>14.3f}{f.rss_mb:>8.0f}MB"
        )
    if ceiling is not None:
        for f in rows:
            if f is not ceiling:
                over = f.cpu_ms_per_check / ceiling.cpu_ms_per_check - 1
                print(f"  {f.label}: CPU per check {100 * over:+.0f}% vs the bare loop")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="use a throwaway PostgreSQL db")
    args = parser.parse_args()

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, interval {args.interval:g} s, "
        f"window {args.seconds:g} s after {args.warmup:g} s warm-up"
    )
    port = free_port()
    target = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, str(HERE / "target_app.py"), str(port)])
    rows: list[Figures] = []
    try:
        wait_port(port)
        for n in args.services:
            with tempfile.TemporaryDirectory() as tmp:
                url, drop = _database(args.postgres, Path(tmp))
                try:
                    asyncio.run(fill(url, n, args.interval, target))
                    figures = run_worker(url, n, args.interval, args.seconds, args.warmup)
                    figures.label += " (pg)" if args.postgres else " (sqlite)"
                    rows.append(figures)
                    if figures.failed:
                        print(f"  note: {figures.failed} checks failed", file=sys.stderr)
                finally:
                    drop()
        demanded = max(args.services) / args.interval
        ceiling = asyncio.run(bare_loop(target, demanded, min(args.seconds, 30), 500))
        ceiling.label = f"bare loop @ {demanded:.0f}/s"
        rows.append(ceiling)
    finally:
        server.terminate()
        server.wait(timeout=10)
    table(rows, ceiling)


def _database(pg_admin: str | None, tmp: Path) -> tuple[str, object]:
    if not pg_admin:
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}", lambda: None
    import asyncpg

    name = f"hw_bench_{uuid.uuid4().hex[:10]}"
    dsn = pg_admin.replace("postgresql+asyncpg://", "postgresql://")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = dsn.rsplit("/", 1)[0]
    return (
        f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}",
        lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')),
    )


if __name__ == "__main__":
    main()
