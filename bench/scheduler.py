"""Probe scheduler benchmark: the real `heartwatch worker` against N local HTTP services.

For each N (default 1,000 and 10,000) at one interval (default 30 s):
  - a throwaway SQLite database (or PostgreSQL with --postgres) with N http services,
  - a local aiohttp target in its own process,
  - `heartwatch worker` in its own process for --seconds (warm-up excluded),
and reports achieved checks/s, start drift (actual start - scheduled) p50/p99/max, the
worker's CPU % and peak RSS, and CPU time per check. In the same run, a bare aiohttp
request loop sends the same requests at the same rate to the same target: the ceiling,
and the scheduler's overhead is its CPU per check over the bare loop's.

Apples to apples: the bare loop runs in its own process too, on the same event loop
(uvloop when installed, as `heartwatch worker`), with the worker's own HTTP session
(`runtime.probe_http_session`: connector limits, no cookie jar), paced one request per
slot at the same rate under a semaphore of the same size, and each request is the
checker's (GET, its User-Agent, TLS flag, redirects, a per-request total timeout, the
body read). Both processes are measured the same way: CPU time (all threads, from
/proc) and the checks or requests whose slot falls in the window, after the same warm-up.

    python bench/scheduler.py                      # 1k and 10k services, 30 s interval
    python bench/scheduler.py --services 1000 --interval 5 --seconds 40
    python bench/scheduler.py --services 10000 --py-spy /tmp/worker.txt   # + a profile
    python bench/scheduler.py --services 10000 --rounds 5 --seconds 40    # medians of 5

With `--rounds R` every run is repeated R times, the worker and the bare loop in turn, and
the figures are medians; the ratio to the bare loop is taken within each round (the two
ran minutes apart, not hours) and its median reported with each round's. With
`--baseline DIR` (a heartwatch source tree, e.g. `git archive REV | tar -x -C DIR`) the
worker also runs from DIR/src in every round, first or second in turn: an A/B in one run.
(The database is filled by this tree's models and migrations: the baseline's must match.)

Only 127.0.0.1 is contacted. Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import insert, select

from heartwatch.domain.status import Status
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


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (threads of one name added up)."""
    times: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        name = "main" if task.name == str(pid) else name
        fields = stat.rsplit(")", 1)[1].split()
        times[name] = times.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return times


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
    """N http services, first runs spread over one interval (as the API would do).

    They are alive already, as if checked before: the window measures the steady state
    (a check that changes nothing but its row), not every service's first check turning
    it from unknown to alive (a transition each, for the whole first interval)."""
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
                timeout_ms=timeout_ms_for(interval),
                retry_count=0,
                retry_backoff_ms=0,
                failure_threshold=1,
                success_threshold=1,
                check_settings={},
                criticality="medium",
                tags=[],
                status=Status.ALIVE,
                status_since=now,
                streak_up=True,
                streak_count=1,
                streak_since=now,
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


async def drift_figures(url: str, since: datetime, until: datetime) -> tuple[int, list[float], int]:
    db = Database(url)
    try:
        async with db.reading() as session:
            rows = (
                await session.execute(
                    select(CheckResult.scheduled_at, CheckResult.started_at, CheckResult.up).where(
                        CheckResult.scheduled_at >= since, CheckResult.scheduled_at < until
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
    # of cpu_s, the process's main thread (the event loop); the rest is other threads
    # (the worker's: aiosqlite's, which run the SQL)
    main_cpu_s: float | None = None

    @property
    def rate(self) -> float:
        return self.checks / self.seconds

    @property
    def cpu_pct(self) -> float:
        return 100 * self.cpu_s / self.seconds

    @property
    def cpu_ms_per_check(self) -> float:
        return 1000 * self.cpu_s / max(1, self.checks)

    def line(self) -> str:
        return (
            f"{self.label}: {self.rate:.1f} checks/s, drift p99 {pct(self.drift_ms, 0.99):.1f} ms, "
            f"CPU {self.cpu_ms_per_check:.3f} ms/check, peak RSS {self.rss_mb:.0f} MB"
        )


@dataclass
class Window:
    start: datetime  # wall clock
    end: datetime
    seconds: float
    cpu_s: float  # of the process, all threads
    main_cpu_s: float  # of its main thread
    rss_mb: float  # peak, since the process started


def measure(
    proc: subprocess.Popen[bytes], seconds: float, warmup: float, py_spy: str | None = None
) -> Window:
    """Watch a running process for `seconds` after `warmup`."""
    time.sleep(warmup)
    spy = None
    if py_spy:
        duration = str(max(1, int(seconds)))
        options = [
            "--nonblocking",
            "--gil",
            "--rate",
            "250",
            "--format",
            "raw",
            "--duration",
            duration,
        ]
        py_spy_bin = str(Path(sys.executable).with_name("py-spy"))
        spy = subprocess.Popen(
            [py_spy_bin, "record", *options, "--pid", str(proc.pid), "--output", py_spy],
            stdout=subprocess.DEVNULL,
        )
    window_start = datetime.now(UTC)
    cpu0, main0 = cpu_seconds(proc.pid), thread_cpu_seconds(proc.pid)["main"]
    t0 = time.monotonic()
    time.sleep(seconds)
    cpu1, main1 = cpu_seconds(proc.pid), thread_cpu_seconds(proc.pid)["main"]
    elapsed = time.monotonic() - t0
    window_end = datetime.now(UTC)
    rss = peak_rss_mb(proc.pid)
    if spy is not None:
        spy.wait(timeout=60)
    return Window(window_start, window_end, elapsed, cpu1 - cpu0, main1 - main0, rss)


def run_worker(
    url: str,
    n: int,
    interval: float,
    seconds: float,
    warmup: float,
    concurrency: int,
    py_spy: str | None,
    src: Path | None = None,
) -> Figures:
    """`heartwatch worker` (from `src`, if given: the baseline of an A/B) on `url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    env.update(
        HEARTWATCH_DATABASE_URL=url,
        HEARTWATCH_SELF_MONITOR="false",
        HEARTWATCH_LOG_LEVEL="warning",
        HEARTWATCH_MAX_CONCURRENT_CHECKS=str(concurrency),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "heartwatch", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        window = measure(worker, seconds, warmup, py_spy)
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
    # Checks whose slot fell in the window.
    checks, drifts, failed = asyncio.run(drift_figures(url, window.start, window.end))
    return Figures(
        f"worker, {n:,} services",
        checks,
        window.seconds,
        drifts,
        window.cpu_s,
        window.rss_mb,
        failed,
        window.main_cpu_s,
    )


def timeout_ms_for(interval: float) -> int:
    return int(min(10_000, interval * 800))


async def bare_loop(
    target: str, n: int, rate: float, seconds: float, concurrency: int, timeout_s: float
) -> list[tuple[float, float, bool]]:
    """The ceiling (run in a process of its own by `run_bare_loop`): aiohttp alone, no
    scheduler, no database, the checker's request to the same target at the same pace:
    one slot every 1/rate s, each started at its slot under a semaphore. Returns (slot,
    start, ok) per request, wall-clock seconds."""
    from heartwatch.checkers.http import USER_AGENT
    from heartwatch.runtime import probe_http_session

    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(concurrency)
    stamps: list[tuple[float, float, bool]] = []
    running: set[asyncio.Task[None]] = set()

    async def one(i: int, slot: float) -> None:
        started, ok = loop.time(), False
        try:
            async with http.request(
                "GET",
                f"{target}/health/{i % n}",
                headers={"User-Agent": USER_AGENT},
                data=None,
                allow_redirects=True,
                ssl=True,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                await response.read()
                ok = response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            pass
        finally:
            sem.release()
            stamps.append((wall0 + slot - t0, wall0 + started - t0, ok))

    async with probe_http_session(concurrency) as http:
        t0, wall0 = loop.time(), time.time()
        for i in range(int(rate * seconds)):
            slot = t0 + i / rate
            delay = slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await sem.acquire()
            task = loop.create_task(one(i, slot))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
    return stamps


def bare_loop_main(argv: list[str]) -> None:
    """`scheduler.py --bare-loop TARGET N RATE SECONDS CONCURRENCY TIMEOUT_S OUT`"""
    target, n, rate, seconds, concurrency, timeout_s, out = argv
    coro = bare_loop(
        target, int(n), float(rate), float(seconds), int(concurrency), float(timeout_s)
    )
    try:
        import uvloop

        stamps = uvloop.run(coro)
    except ImportError:
        stamps = asyncio.run(coro)
    Path(out).write_text(json.dumps(stamps))


def run_bare_loop(
    target: str,
    n: int,
    rate: float,
    seconds: float,
    warmup: float,
    concurrency: int,
    timeout_s: float,
) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stamps.json"
        args = [target, n, rate, warmup + seconds + 1, concurrency, timeout_s, out]
        proc = subprocess.Popen(
            [sys.executable, __file__, "--bare-loop", *map(str, args)], stderr=subprocess.PIPE
        )
        try:
            window = measure(proc, seconds, warmup)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            print(err.decode(errors="replace")[-3000:], file=sys.stderr)
            raise SystemExit(f"bare loop exited with {proc.returncode}")
        stamps = json.loads(out.read_text())
    since, until = window.start.timestamp(), window.end.timestamp()
    inside = [(slot, start, ok) for slot, start, ok in stamps if since <= slot < until]
    drifts = [(start - slot) * 1000 for slot, start, _ in inside]
    failed = sum(1 for *_, ok in inside if not ok)
    return Figures(
        "bare aiohttp loop",
        len(inside),
        window.seconds,
        drifts,
        window.cpu_s,
        window.rss_mb,
        failed,
        window.main_cpu_s,
    )


HEAD = (
    f"{'run':<43}{'checks':>8}{'checks/s':>10}{'drift p50':>11}{'p99':>9}{'max':>9}"
    f"{'CPU %':>8}{'CPU ms/check':>14}{'peak RSS':>10}"
)


def table(rounds: list[list[Figures]], *, bare_n: int | None) -> None:
    """Medians over the rounds (one round: its own figures), then the ratios to the bare
    loop of the same round (for the runs at its rate: `bare_n` services) and to the
    baseline, if any, round by round."""
    labels = [f.label for f in rounds[0]]
    runs = {label: [f for rows in rounds for f in rows if f.label == label] for label in labels}
    print(HEAD)
    print("-" * len(HEAD))
    for label, figures in runs.items():
        print(
            f"{label:<43}{median(f.checks for f in figures):>8.0f}"
            f"{median(f.rate for f in figures):>10.1f}"
            f"{median(pct(f.drift_ms, 0.5) for f in figures):>9.1f}ms"
            f"{median(pct(f.drift_ms, 0.99) for f in figures):>7.1f}ms"
            f"{max(max(f.drift_ms, default=float('nan')) for f in figures):>7.1f}ms"
            f"{median(f.cpu_pct for f in figures):>7.1f}%"
            f"{median(f.cpu_ms_per_check for f in figures):>14.3f}"
            f"{max(f.rss_mb for f in figures):>8.0f}MB"
        )
    print("(medians over the rounds; drift max and peak RSS: the highest of any round)")
    for label, figures in runs.items():
        if all(f.main_cpu_s is not None and f.checks for f in figures):
            main = median(1000 * (f.main_cpu_s or 0.0) / f.checks for f in figures)
            other = median(f.cpu_ms_per_check for f in figures) - main
            print(f"  {label}: CPU ms/check {main:.3f} main thread + {other:.3f} others")
    if bare_n is not None:
        ceiling = labels[-1]
        for label in labels[:-1]:
            if label.startswith(f"worker, {bare_n:,} services"):
                _ratios(label, "the bare loop's", runs[label], runs[ceiling])
    for label in labels:
        if label.endswith(" baseline"):
            ours = label.removesuffix(" baseline")
            _ratios(ours, "the baseline's", runs[ours], runs[label])


def _ratios(label: str, what: str, ours: list[Figures], theirs: list[Figures]) -> None:
    ratios = [a.cpu_ms_per_check / b.cpu_ms_per_check for a, b in zip(ours, theirs, strict=True)]
    rounds = ""
    if len(ratios) > 1:
        rounds = f"; by round {' '.join(f'{r:.2f}' for r in ratios)}"
    print(f"  {label}: CPU per check {median(ratios):.2f}x {what} (median{rounds})")


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="use a throwaway PostgreSQL db")
    parser.add_argument("--concurrency", type=int, default=500, help="worker and bare loop")
    parser.add_argument("--no-bare-loop", action="store_true", help="only the worker")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every run; report medians and each round"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also run the worker from this source tree's src/ in every round (A/B)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="profile the worker in the window (raw stacks, GIL holder); with several worker "
        "runs, FILE.<round>.<services>[.baseline] each",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("need --rounds >= 1")
    if args.baseline is not None and not (args.baseline / "src" / "heartwatch").is_dir():
        parser.error(f"--baseline {args.baseline}: no src/heartwatch in it")

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, interval {args.interval:g} s, "
        f"window {args.seconds:g} s after {args.warmup:g} s warm-up, {args.rounds} round(s)"
    )
    if args.baseline is not None:
        print(f"baseline: the worker also runs from {args.baseline / 'src'} ('baseline' rows)")
    port = free_port()
    target = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, str(HERE / "target_app.py"), str(port)])
    rounds: list[list[Figures]] = []
    sources: list[Path | None] = [None] if args.baseline is None else [None, args.baseline]
    try:
        wait_port(port)
        for round_no in range(1, args.rounds + 1):
            rows: list[Figures] = []
            # Alternate which side goes first, so neither always runs on a warmer machine.
            order = sources if round_no % 2 else sources[::-1]
            for n in args.services:
                for source in order:
                    spy = args.py_spy
                    if spy and args.rounds * len(args.services) * len(sources) > 1:
                        side = "" if source is None else ".baseline"
                        spy = f"{spy}.{round_no}.{n}{side}"  # one profile per worker run
                    figures = worker_round(args, n, target, source, spy)
                    rows.append(figures)
                    print(f"[{round_no}/{args.rounds}] {figures.line()}", flush=True)
            if not args.no_bare_loop:
                n = max(args.services)
                demanded = n / args.interval
                ceiling = run_bare_loop(
                    target,
                    n,
                    demanded,
                    args.seconds,
                    args.warmup,
                    args.concurrency,
                    timeout_ms_for(args.interval) / 1000,
                )
                ceiling.label = f"bare loop @ {demanded:.0f}/s"
                rows.append(ceiling)
                print(f"[{round_no}/{args.rounds}] {ceiling.line()}", flush=True)
                if ceiling.failed:
                    print(f"  note: {ceiling.failed} bare requests failed", file=sys.stderr)
            rounds.append(rows)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print()
    table(rounds, bare_n=None if args.no_bare_loop else max(args.services))


def worker_round(
    args: argparse.Namespace, n: int, target: str, source: Path | None, py_spy: str | None
) -> Figures:
    """One measured run of the worker on a fresh database of `n` services."""
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = _database(args.postgres, Path(tmp))
        try:
            asyncio.run(fill(url, n, args.interval, target))
            figures = run_worker(
                url,
                n,
                args.interval,
                args.seconds,
                args.warmup,
                args.concurrency,
                py_spy,
                None if source is None else source / "src",
            )
        finally:
            drop()
    figures.label += " (pg)" if args.postgres else " (sqlite)"
    if source is not None:
        figures.label += " baseline"
    if figures.failed:
        print(f"  note: {figures.failed} checks failed", file=sys.stderr)
    return figures


def _database(pg_admin: str | None, tmp: Path) -> tuple[str, Callable[[], None]]:
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
    if sys.argv[1:2] == ["--bare-loop"]:
        bare_loop_main(sys.argv[2:])
    else:
        main()
