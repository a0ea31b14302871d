"""Heartbeat ingest benchmark: durable heartbeats per second and latency, against a ceiling.

For each target this starts a real server on a free port of 127.0.0.1, waits for
`GET /healthz`, and has `--concurrency` aiohttp workers (one connection each) loop
`POST /heartbeat/<key>` over `--keys` service keys, for `--warmup` seconds and then
`--seconds` measured seconds. Targets:

- null: `bench/null_app.py`, a do-nothing ASGI app on the same uvicorn settings as
  heartwatch: the ceiling this client and this machine allow;
- sqlite: `heartwatch up` on a fresh SQLite file, once per `--sqlite-sync` mode;
- postgresql: `heartwatch up` on a throwaway database of the local server, dropped after.

After the load, every heartbeat target is checked against its database, read directly:
each key must have exactly as many stored heartbeats as it got 2xx acknowledgements
(warm-up included). Then the server gets SIGTERM and must exit 0. Exit status: 0 when all
checks pass, 1 otherwise. The "goal" line (SQLite >= 0.5 x ceiling) is reported, not
enforced.

    python bench/ingest.py                     # all targets, 10 s each, about a minute
    python bench/ingest.py --targets null sqlite --sqlite-sync FULL --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import platform
import secrets
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import uvloop

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 30.0
GOAL_RATIO = 0.5

# Reads the stored heartbeats per key, plus notes for the report.
StoredReader = Callable[[], Awaitable[tuple[dict[str, int], list[str]]]]

STORED_PER_KEY = """
    SELECT s.key, count(h.id) FROM services s JOIN heartbeats h ON h.service_id = s.id
    GROUP BY s.key
"""


@dataclass(slots=True)
class Load:
    """What one load run saw. `acked_by_key` counts every 2xx, warm-up included."""

    acked_by_key: Counter[str] = field(default_factory=Counter)
    unacked: int = 0  # non-2xx answers and client errors, warm-up included
    requests: int = 0  # started in the measured window
    acked: int = 0  # of those, answered 2xx
    latencies: list[float] = field(default_factory=list)  # seconds, measured window
    elapsed: float = 0.0  # measured window, up to the last answer
    server_cpu: float = 0.0  # server process CPU seconds / wall seconds, whole run
    client_cpu: float = 0.0  # this process, same

    @property
    def rate(self) -> float:
        return self.acked / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(slots=True)
class Result:
    target: str
    load: Load
    check: str  # durability verdict, for the table
    ok: bool  # durability held and the server exited 0
    notes: list[str] = field(default_factory=list)


# --- load ------------------------------------------------------------------------------


async def run_load(
    base_url: str, keys: Sequence[str], *, concurrency: int, warmup: float, seconds: float
) -> Load:
    load = Load()
    turn = itertools.count()
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + seconds
        last_answer = measure_from

        async def worker() -> None:
            nonlocal last_answer
            while (t0 := time.perf_counter()) < stop_at:
                key = keys[next(turn) % len(keys)]
                try:
                    async with session.post(f"/heartbeat/{key}") as response:
                        await response.read()
                        acked = 200 <= response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    acked = False
                t1 = time.perf_counter()
                if acked:
                    load.acked_by_key[key] += 1
                else:
                    load.unacked += 1
                if t0 >= measure_from:
                    load.requests += 1
                    load.acked += acked
                    load.latencies.append(t1 - t0)
                    last_answer = max(last_answer, t1)

        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
        load.elapsed = last_answer - measure_from
    return load


# --- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A server subprocess on 127.0.0.1, its output kept in a log file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], workdir: Path) -> None:
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / "server.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, port: int) -> None:
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                env=dict(self.env),
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://{HOST}:{port}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server did not become ready:\n{self.log_tail()}")

    async def stop(self) -> int | None:
        """SIGTERM, then the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                return await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            return None

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [
            line
            for line in text.splitlines()
            if "Traceback" in line or "[error" in line or "[warning" in line
        ]


def heartwatch_env(database_url: str, sqlite_sync: str = "FULL") -> dict[str, str]:
    # A defined configuration: nothing inherited from the caller's HEARTWATCH_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
    env.update(
        HEARTWATCH_DATABASE_URL=database_url,
        HEARTWATCH_SQLITE_SYNCHRONOUS=sqlite_sync,
        HEARTWATCH_ACCESS_LOG="false",
        HEARTWATCH_DEBUG_MODE="false",
        HEARTWATCH_AUTO_REGISTER="true",
        HEARTWATCH_LOG_FORMAT="console",
    )
    return env


def heartwatch_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "heartwatch", "up", "--host", HOST, "--port", str(port)]


# --- durability ------------------------------------------------------------------------


def verify(load: Load, stored: Mapping[str, int]) -> tuple[str, bool]:
    """Every acknowledged heartbeat stored; extra rows only as many as unanswered requests."""
    acked_total = sum(load.acked_by_key.values())
    stored_total = sum(stored.values())
    lost = sum(max(0, n - stored.get(k, 0)) for k, n in load.acked_by_key.items())
    extra = sum(max(0, n - load.acked_by_key.get(k, 0)) for k, n in stored.items())
    ok = lost == 0 and extra <= load.unacked
    verdict = "PASS" if ok else "FAIL"
    detail = f"{verdict} {stored_total}/{acked_total}"
    if lost or extra:
        detail += f" (lost {lost}, unacked but stored {extra})"
    return detail, ok


def sqlite_stored(path: Path) -> tuple[dict[str, int], str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        stored = {key: n for key, n in db.execute(STORED_PER_KEY)}
        (total,) = db.execute("SELECT count(*) FROM heartbeats").fetchone()
        (journal,) = db.execute("PRAGMA journal_mode").fetchone()
    assert total == sum(stored.values()), "heartbeats without a service"
    return stored, journal


async def postgres_stored(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(STORED_PER_KEY)
        total = await conn.fetchval("SELECT count(*) FROM heartbeats")
    finally:
        await conn.close()
    stored = {row[0]: row[1] for row in rows}
    assert total == sum(stored.values()), "heartbeats without a service"
    return stored


@contextlib.asynccontextmanager
async def throwaway_database(admin_url: str) -> AsyncIterator[str]:
    """A fresh database on the server of `admin_url`; yields its asyncpg URL, drops it after."""
    parts = urlsplit(admin_url)
    if parts.hostname not in (HOST, "localhost"):
        raise SystemExit(f"--pg-admin-url must point at {HOST}, not {parts.hostname!r}")
    name = f"hw_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(parts._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# --- targets ---------------------------------------------------------------------------


async def bench_target(target: str, args: argparse.Namespace, keys: Sequence[str]) -> Result:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="hw_bench_") as tmp:
        workdir = Path(tmp)
        if target == "null":
            argv = [sys.executable, str(BENCH_DIR / "null_app.py"), "--host", HOST]
            server = Server([*argv, "--port", str(port)], os.environ, workdir)
            return await measure(target, server, port, args, keys, stored=None)
        if target.startswith("sqlite"):
            sync = target.split(":")[1]
            db_path = workdir / "hw.db"
            env = heartwatch_env(f"sqlite+aiosqlite:///{db_path}", sync)
            server = Server(heartwatch_argv(port), env, workdir)

            async def stored_sqlite() -> tuple[dict[str, int], list[str]]:
                stored, journal = sqlite_stored(db_path)
                return stored, [f"journal_mode={journal}, synchronous={sync}"]

            return await measure(target, server, port, args, keys, stored=stored_sqlite)
        async with throwaway_database(args.pg_admin_url) as pg_url:
            asyncpg_url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
            server = Server(heartwatch_argv(port), heartwatch_env(asyncpg_url), workdir)

            async def stored_pg() -> tuple[dict[str, int], list[str]]:
                return await postgres_stored(pg_url), [f"database {urlsplit(pg_url).path[1:]}"]

            return await measure(target, server, port, args, keys, stored=stored_pg)


async def measure(
    target: str,
    server: Server,
    port: int,
    args: argparse.Namespace,
    keys: Sequence[str],
    *,
    stored: StoredReader | None,
) -> Result:
    notes: list[str] = []
    try:
        await server.start(port)
        assert server.proc is not None
        pid = server.proc.pid
        server_cpu0, client_cpu0, wall0 = cpu_seconds(pid), time.process_time(), time.monotonic()
        load = await run_load(
            f"http://{HOST}:{port}",
            keys,
            concurrency=args.concurrency,
            warmup=args.warmup,
            seconds=args.seconds,
        )
        wall = time.monotonic() - wall0
        load.server_cpu = (cpu_seconds(pid) - server_cpu0) / wall
        load.client_cpu = (time.process_time() - client_cpu0) / wall
        # Read while the server still runs: an acknowledgement must mean "committed",
        # not "will be written at shutdown".
        if stored is None:
            check, ok = "n/a", True
        else:
            rows, more = await stored()
            check, ok = verify(load, rows)
            notes += more
    finally:
        code = await server.stop()
    if code != 0:
        ok = False
        notes.append(f"server exit code {code} (expected 0)\n{server.log_tail()}")
    notes += [f"server log: {line}" for line in server.log_problems()[:5]]
    return Result(target, load, check, ok, notes)


# --- report ----------------------------------------------------------------------------


def label(target: str) -> str:
    if target.startswith("sqlite:"):
        return f"sqlite ({target.split(':')[1]})"
    return "null app (ceiling)" if target == "null" else target


def summarize(results: Mapping[str, list[Result]]) -> list[list[str]]:
    """One line per target: medians over rounds (a single round: its own figures)."""
    ceiling = statistics.median(r.load.rate for r in results["null"]) if "null" in results else 0
    rows = []
    for target, runs in results.items():
        rate = statistics.median(r.load.rate for r in runs)
        rows.append(
            [
                label(target),
                str(round(statistics.median(r.load.requests for r in runs))),
                str(round(statistics.median(r.load.acked for r in runs))),
                f"{rate:,.0f}",
                f"{statistics.median(r.load.percentile_ms(0.50) for r in runs):.2f}",
                f"{statistics.median(r.load.percentile_ms(0.99) for r in runs):.2f}",
                f"{rate / ceiling:.2f}" if ceiling else "-",
                f"{statistics.median(r.load.server_cpu for r in runs):.0%}",
                f"{statistics.median(r.load.client_cpu for r in runs):.0%}",
                "; ".join(r.check for r in runs),
            ]
        )
    return rows


def print_table(rows: list[list[str]]) -> None:
    header = [
        "target",
        "requests",
        "acked",
        "req/s",
        "p50 ms",
        "p99 ms",
        "x ceiling",
        "server CPU",
        "client CPU",
        "stored/acked",
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


def describe_machine(args: argparse.Namespace) -> None:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, cpu_count={cpus} (usable {usable}), "
        f"load avg {os.getloadavg()[0]:.2f}"
    )
    libs = ("uvicorn", "httptools", "uvloop", "fastapi", "sqlalchemy", "aiosqlite", "asyncpg")
    print(", ".join(f"{lib} {version(lib)}" for lib in libs), f"sqlite {sqlite3.sqlite_version}")
    print(
        f"client: aiohttp {version('aiohttp')} on uvloop, {args.concurrency} connections, "
        f"{args.keys} keys, {args.warmup:g} s warm-up + {args.seconds:g} s measured, "
        f"{args.rounds} round(s); server and client share the machine"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Heartbeat ingest benchmark (see the module docstring)."
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per target")
    parser.add_argument("--concurrency", type=int, default=32, help="connections and workers")
    parser.add_argument("--keys", type=int, default=1000, help="distinct service keys")
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=["null", "sqlite", "postgresql"],
        default=["null", "sqlite", "postgresql"],
    )
    parser.add_argument(
        "--sqlite-sync",
        nargs="+",
        choices=["FULL", "NORMAL"],
        default=["FULL", "NORMAL"],
        help="HEARTWATCH_SQLITE_SYNCHRONOUS modes to run (heartwatch's default is FULL)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat all targets, report medians")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "HEARTWATCH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a database on the local PostgreSQL server to CREATE/DROP the throwaway one from",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.concurrency < 1 or args.keys < 1:
        parser.error("--seconds > 0, --warmup >= 0, --concurrency >= 1, --keys >= 1")
    if args.rounds < 1:
        parser.error("--rounds >= 1")
    return args


async def main(args: argparse.Namespace) -> int:
    targets: list[str] = []
    for target in args.targets:
        if target == "sqlite":
            targets += [f"sqlite:{sync}" for sync in args.sqlite_sync]
        else:
            targets.append(target)
    keys = [f"bench-{i:05d}" for i in range(args.keys)]
    describe_machine(args)
    results: dict[str, list[Result]] = {t: [] for t in targets}
    for round_no in range(1, args.rounds + 1):
        for target in targets:
            result = await bench_target(target, args, keys)
            results[target].append(result)
            load = result.load
            print(
                f"[{round_no}/{args.rounds}] {label(target):<20} {load.rate:>8,.0f} req/s  "
                f"p50 {load.percentile_ms(0.5):6.2f} ms  p99 {load.percentile_ms(0.99):6.2f} ms  "
                f"unacked {load.unacked}  {result.check}",
                flush=True,
            )
            for note in result.notes:
                print(f"    {note}")
    print()
    print_table(summarize(results))
    print()

    if "null" in results and any(t.startswith("sqlite:FULL") for t in results):
        ceiling = statistics.median(r.load.rate for r in results["null"])
        rate = statistics.median(r.load.rate for r in results["sqlite:FULL"])
        met = "met" if rate >= GOAL_RATIO * ceiling else "NOT met"
        print(
            f"goal (SQLite, synchronous=FULL, >= {GOAL_RATIO} x ceiling): {met} "
            f"({rate:,.0f} / {ceiling:,.0f} = {rate / ceiling:.2f})"
        )
    failed = [label(t) for t, runs in results.items() for r in runs if not r.ok]
    print("durability and clean exit:", "PASS" if not failed else f"FAIL ({', '.join(failed)})")
    return 1 if failed else 0


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sys.exit(runner.run(main(parse_args())))
