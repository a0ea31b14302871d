"""API read latency benchmark: p50/p99 of the dashboard's reads on a big database.

For each backend (SQLite, PostgreSQL) this fills a database with 1,000 services and 90
days of history (`bench/gen_history.py`: transitions, incidents, hourly rollups, 7 days of
raw check results of the 100 probe services, history ending now), starts the real
server (`python -m heartwatch up`, real clock, dev mode off) on a free port of 127.0.0.1,
waits for `GET /healthz` and for the worker to have nothing to catch up, and then, per
round and concurrency level, sends `--requests` GETs to each endpoint:

- `GET /services` (all 1,000, as of now)
- `GET /services/{id}` (rotating over every service, by UUID and by key alternately)
- `GET /metrics/uptime/{id}?period=90d`, heartbeat services and probe services apart
  (probes also answer latency percentiles, summed from daily and hourly histograms)
- `GET /incidents/active`
- `GET /services` again, each request after a change to every service's row (one at a
  time, a fifth as many requests): the listing keeps each service's view while its row
  is unchanged, and this is its cost when it can keep none (as after a restart)

Concurrency 1 is one keep-alive connection sending requests back to back: the latency of
one request on an otherwise idle server. Concurrency 8 is eight such connections at once
(requests queue in the one server process). Latency is from the request's first byte
written to the last body byte read, with a minimal HTTP/1.1 client (little CPU of its
own: client and server share the machine). The table gives, per backend, endpoint and
concurrency, the medians over rounds of p50/p99/max, the requests per second, the
server's CPU per request, and the body size.

The probe services' next runs are parked ten years ahead, so the worker probes nothing,
and no heartbeats arrive: the database stays as generated while it is measured (a
heartbeat service may go silent if a run takes longer than its period, 5 min at least;
the transitions the worker recorded meanwhile are counted and printed).

Any non-2xx answer, a server that does not exit 0 on SIGTERM, or errors in its log make
the exit status 1. The goal (p99 < 50 ms at concurrency 1) is reported, not enforced.

    python bench/api_latency.py                          # both backends, 3 rounds
    python bench/api_latency.py --backends sqlite --rounds 1 --requests 100
    python bench/api_latency.py --reuse                  # keep the databases, reuse them

`--reuse` keeps the generated databases (SQLite under `--data-dir`, PostgreSQL as
`hw_bench_api_latency`) and uses them on later runs instead of generating again. Their
history then ends when they were generated: the worker first catches up (heartbeat
services that went silent, rollups of the hours since), and measuring starts when it
has. Only 127.0.0.1 is contacted. Everything this starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import uvloop
from sqlalchemy import func, select, update

from gen_history import GENERATED_AT, generate
from heartwatch.domain.uptime import floor_hour
from heartwatch.services import rollups, uptime
from heartwatch.store import app_state
from heartwatch.store.database import Database
from heartwatch.store.models import Incident, Service, StateTransition
from heartwatch.store.tables import core_table
from ingest import (
    HOST,
    Server,
    free_port,
    heartwatch_source,
    machine_cpu,
    process_cpu,
    throwaway_database,
)

GOAL_MS = 50.0
ALL_CHANGED = "GET /services, all changed"  # a bound, reported apart from the goal
SETTLE_TIMEOUT_S = 600.0
REUSED_PG_NAME = "hw_bench_api_latency"


# --- client ----------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection, just enough for GETs (with fixed extra
    headers, if given) and a sized body."""

    def __init__(self, port: int, headers: Mapping[str, str] | None = None) -> None:
        self.port = port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> None:
        self.streams = await asyncio.open_connection(HOST, self.port)

    async def get(self, path: str) -> tuple[int, bytes]:
        assert self.streams is not None
        reader, writer = self.streams
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{self.extra}\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status = int(head.split(" ", 2)[1])
        if status in (204, 304):  # no body (bench/web_status.py revalidates with ETags)
            return status, b""
        length = None
        for line in head.lower().split("\r\n"):
            if line.startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        if length is None:
            raise RuntimeError(f"no content-length in the answer to {path}:\n{head}")
        return status, await reader.readexactly(length)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


@dataclass
class Endpoint:
    name: str
    paths: list[str]  # rotated through
    # Run (untimed) before each request; such an endpoint is measured one at a time.
    prepare: Callable[[int], Awaitable[None]] | None = None


@dataclass
class Sample:
    """One endpoint at one concurrency in one round."""

    latencies: list[float] = field(default_factory=list)  # seconds
    sizes: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float = math.nan  # seconds over the sample

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else math.nan


async def load(port: int, endpoint: Endpoint, n: int, concurrency: int, pid: int) -> Sample:
    sample = Sample()
    connections = [Connection(port) for _ in range(concurrency)]
    for c in connections:
        await c.open()
    next_index = 0

    async def worker(conn: Connection) -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            path = endpoint.paths[i % len(endpoint.paths)]
            if endpoint.prepare is not None:
                await endpoint.prepare(i)
            t0 = time.perf_counter()
            status, body = await conn.get(path)
            sample.latencies.append(time.perf_counter() - t0)
            sample.sizes.append(len(body))
            if not 200 <= status < 300:
                sample.failures.append(f"{status} {path}: {body[:300]!r}")

    cpu0, t0 = process_cpu(pid), time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for c in connections:
                group.create_task(worker(c))
    finally:
        for c in connections:
            c.close()
    sample.elapsed = time.perf_counter() - t0
    sample.server_cpu = process_cpu(pid) - cpu0
    return sample


# --- databases -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(backend: str, args: argparse.Namespace) -> AsyncIterator[tuple[str, bool]]:
    """(SQLAlchemy URL, whether it already holds generated history)."""
    if backend == "sqlite":
        if args.reuse:
            path = Path(args.data_dir) / "api_latency.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite+aiosqlite:///{path}"
            ready = path.exists() and await _generated(url) is not None
            if not ready:  # (absent, or a generation cut short: start again)
                for leftover in path.parent.glob(f"{path.name}*"):
                    leftover.unlink()
            yield url, ready
            return
        with tempfile.TemporaryDirectory(prefix="hw_bench_") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'hw.db'}", False
        return
    if args.reuse:
        parts = urlsplit(args.pg_admin_url)
        admin = await asyncpg.connect(args.pg_admin_url)
        try:
            plain = urlunsplit(parts._replace(path=f"/{REUSED_PG_NAME}"))
            url = plain.replace("postgresql://", "postgresql+asyncpg://", 1)
            exists = await admin.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", REUSED_PG_NAME
            )
            ready = bool(exists) and await _generated(url) is not None
            if not ready:  # (absent, or a generation cut short: start again)
                await admin.execute(f'DROP DATABASE IF EXISTS "{REUSED_PG_NAME}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{REUSED_PG_NAME}"')
        finally:
            await admin.close()
        yield url, ready
        return
    async with throwaway_database(args.pg_admin_url) as plain:
        yield plain.replace("postgresql://", "postgresql+asyncpg://", 1), False


async def _generated(url: str) -> datetime | None:
    db = Database(url)
    try:
        async with db.reading() as session:
            value = await app_state.get_app_state(session, GENERATED_AT)
    except Exception:
        return None  # not migrated yet
    finally:
        await db.dispose()
    return datetime.fromisoformat(value) if value else None


@dataclass
class Dataset:
    services: list[tuple[uuid.UUID, str, str]]  # id, key, type
    generated_at: datetime
    statuses: dict[str, int]
    open_incidents: int

    def describe(self) -> str:
        by_status = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        return (
            f"when measuring started: {by_status}; {self.open_incidents} open incidents; "
            f"history generated at {self.generated_at:%H:%M:%S} UTC"
        )


async def wait_settled(url: str) -> Dataset:
    """Wait until the worker has nothing to catch up on: no heartbeat deadline past,
    no rollup redo pending, rollups up to the last complete hour."""
    db = Database(url)
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    try:
        while True:
            now = datetime.now(UTC)
            async with db.reading() as session:
                due = await session.scalar(
                    select(func.count()).where(Service.next_deadline_at <= now)
                )
                dirty = await session.scalar(
                    select(func.count()).where(Service.rollup_dirty_from.is_not(None))
                )
                through = await uptime.rolled_through(session)
                generated = await app_state.get_app_state(session, GENERATED_AT)
                rows = (
                    await session.execute(
                        select(Service.id, Service.key, Service.type, Service.status)
                    )
                ).all()
                open_incidents = await session.scalar(
                    select(func.count()).where(Incident.resolved.is_(False))
                )
            current = floor_hour(now - rollups.GRACE)
            if not due and not dirty and through is not None and through >= current:
                assert generated is not None
                statuses: dict[str, int] = {}
                for r in rows:
                    statuses[str(r[3])] = statuses.get(str(r[3]), 0) + 1
                return Dataset(
                    [(r[0], r[1], r[2]) for r in rows],
                    datetime.fromisoformat(generated),
                    statuses,
                    int(open_incidents or 0),
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the worker did not catch up: {due} deadlines due, {dirty} dirty, "
                    f"rolled up through {through}"
                )
            await asyncio.sleep(1.0)
    finally:
        await db.dispose()


async def transitions_since(url: str, since: datetime) -> int:
    db = Database(url)
    try:
        async with db.reading() as session:
            n = await session.scalar(
                select(func.count()).where(StateTransition.detected_at >= since)
            )
            return int(n or 0)
    finally:
        await db.dispose()


class EveryRowChanged:
    """Before each request, a change to every service's row (heartbeat_count +1, then
    -1 the next time): GET /services can reuse none of the views it made before, as
    after a restart. An honest bound for the views it otherwise keeps."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)

    async def __call__(self, i: int) -> None:
        table = core_table(Service)
        delta = 1 if i % 2 == 0 else -1
        async with self.db.writing() as session:
            await session.execute(
                update(table).values(heartbeat_count=table.c.heartbeat_count + delta)
            )

    async def close(self) -> None:
        await self.db.dispose()


def endpoints(data: Dataset, seed: int, every_row_changed: EveryRowChanged) -> list[Endpoint]:
    import random

    rng = random.Random(seed)
    services = sorted(data.services, key=lambda s: s[1])
    rng.shuffle(services)
    by_id_or_key = [str(sid) if i % 2 else key for i, (sid, key, _) in enumerate(services)]
    beats = [sid for sid, _, kind in services if kind == "heartbeat"]
    probes = [sid for sid, _, kind in services if kind != "heartbeat"]
    return [
        Endpoint("GET /services", ["/services"]),
        Endpoint("GET /services/{id}", [f"/services/{s}" for s in by_id_or_key]),
        Endpoint("uptime 90d, heartbeat svc", [f"/metrics/uptime/{s}?period=90d" for s in beats]),
        Endpoint("uptime 90d, probe svc", [f"/metrics/uptime/{s}?period=90d" for s in probes]),
        Endpoint("GET /incidents/active", ["/incidents/active"]),
        Endpoint(ALL_CHANGED, ["/services"], every_row_changed),
    ]


# --- one backend -----------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    samples: dict[tuple[str, int], list[Sample]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ok: bool = True


async def bench_backend(backend: str, args: argparse.Namespace) -> BackendResult:
    result = BackendResult(backend)
    async with database(backend, args) as (url, ready):
        if ready:
            when = await _generated(url)
            result.notes.append(f"reused the database generated at {when:%Y-%m-%d %H:%M} UTC")
        else:
            print(f"[{backend}] generating the history ...", flush=True)
            counts = await generate(
                url,
                services=args.services,
                probes=args.probes,
                days=args.days,
                seed=args.seed,
            )
            result.notes.append(
                f"generated {counts.services:,} services, {counts.transitions:,} transitions, "
                f"{counts.incidents:,} incidents ({counts.open_incidents} open), "
                f"{counts.rollups:,} rollups, {counts.checks:,} check results "
                f"in {counts.seconds['total']:.0f} s"
            )
        with tempfile.TemporaryDirectory(prefix="hw_bench_") as tmp:
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
            env.update(
                HEARTWATCH_DATABASE_URL=url,
                HEARTWATCH_DEBUG_MODE="false",
                HEARTWATCH_ACCESS_LOG="false",
                HEARTWATCH_SELF_MONITOR="false",
            )
            argv = [sys.executable, "-m", "heartwatch", "up", "--host", HOST, "--port", str(port)]
            server = Server(argv, env, Path(tmp))
            started = datetime.now(UTC)
            try:
                await server.start(port)
                t0 = time.monotonic()
                data = await wait_settled(url)
                if time.monotonic() - t0 > 2:
                    result.notes.append(f"worker caught up in {time.monotonic() - t0:.0f} s")
                result.notes.append(data.describe())
                changer = EveryRowChanged(url)
                try:
                    targets = endpoints(data, args.seed, changer)
                    await measure(result, port, server.pid, targets, args)
                finally:
                    await changer.close()
                written = await transitions_since(url, started)
                if written:
                    result.notes.append(f"the worker recorded {written} transitions while this ran")
            finally:
                code = await server.stop()
            if code != 0:
                result.ok = False
                result.notes.append(f"server exit code {code} (expected 0)\n{server.log_tail()}")
            problems = server.log_problems()
            if problems:
                result.ok = False
                result.notes += [f"server log: {line}" for line in problems[:5]]
    return result


async def measure(
    result: BackendResult, port: int, pid: int, targets: list[Endpoint], args: argparse.Namespace
) -> None:
    for endpoint in targets:  # warm-up: caches, connection pool, compiled statements
        await load(port, endpoint, min(args.warmup, 5 if endpoint.prepare else args.warmup), 1, pid)
    for round_no in range(1, args.rounds + 1):
        for concurrency in args.concurrency:
            for endpoint in targets:
                if endpoint.prepare is not None and concurrency > 1:
                    continue
                n = args.requests if endpoint.prepare is None else max(1, args.requests // 5)
                sample = await load(port, endpoint, n, concurrency, pid)
                result.samples.setdefault((endpoint.name, concurrency), []).append(sample)
                if sample.failures:
                    result.ok = False
                    result.notes += sample.failures[:3]
                print(
                    f"[{result.backend} {round_no}/{args.rounds}] c={concurrency} "
                    f"{endpoint.name:<28} p50 {sample.ms(0.5):7.1f} ms  "
                    f"p99 {sample.ms(0.99):7.1f} ms  max {sample.ms(1.0):7.1f} ms  "
                    f"{sample.rate:7.1f}/s  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )


# --- report ----------------------------------------------------------------------------

HEADER = [
    "backend",
    "endpoint",
    "conc.",
    "p50 ms",
    "p99 ms",
    "max ms",
    "req/s",
    "server CPU ms/req",
    "body bytes",
]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def rows_of(results: Sequence[BackendResult]) -> list[list[str]]:
    rows = []
    for r in results:
        for (name, concurrency), samples in r.samples.items():
            n = sum(len(s.latencies) for s in samples) / len(samples)
            rows.append(
                [
                    r.backend,
                    name,
                    str(concurrency),
                    f"{median([s.ms(0.5) for s in samples]):.1f}",
                    f"{median([s.ms(0.99) for s in samples]):.1f}",
                    f"{median([s.ms(1.0) for s in samples]):.1f}",
                    f"{median([s.rate for s in samples]):.0f}",
                    f"{median([1000 * s.server_cpu / n for s in samples]):.1f}",
                    f"{median([statistics.median(s.sizes) for s in samples]):,.0f}",
                ]
            )
    return rows


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(HEADER))
    print(
        "|"
        + "|".join(("-" * (w + 1)) + (":" if i >= 2 else "-") for i, w in enumerate(widths))
        + "|"
    )
    for row in rows:
        print(line(row))


def goal_lines(results: Sequence[BackendResult]) -> tuple[list[str], bool]:
    lines, met = [], True
    for r in results:
        for (name, concurrency), samples in r.samples.items():
            if concurrency != 1 or name == ALL_CHANGED:
                continue
            p99 = median([s.ms(0.99) for s in samples])
            ok = p99 < GOAL_MS
            met &= ok
            lines.append(
                f"  {r.backend:<10} {name:<28} p99 {p99:6.1f} ms  {'ok' if ok else 'MISSED'}"
            )
    return lines, met


def describe(args: argparse.Namespace) -> None:
    usable = len(os.sched_getaffinity(0))
    print(
        f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"cpu_count={os.cpu_count()} (usable {usable}), load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(heartwatch_source())
    print(
        f"{args.services} services ({args.probes} probes), {args.days} days; "
        f"{args.requests} requests per endpoint, concurrency {args.concurrency}, "
        f"{args.warmup} warm-up requests, {args.rounds} round(s); server and client share "
        "the machine"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="API read latency benchmark (see the docstring).")
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--requests", type=int, default=200, help="per endpoint, level, round")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--warmup", type=int, default=20, help="requests per endpoint first")
    parser.add_argument("--rounds", type=int, default=3, help="report medians over rounds")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the databases and reuse them")
    parser.add_argument(
        "--data-dir",
        default=str(Path(tempfile.gettempdir()) / "hw_bench_api_latency"),
        help="where --reuse keeps the SQLite database",
    )
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a database of the local PostgreSQL to create and drop the throwaway one from",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1 or min(args.concurrency) < 1 or args.warmup < 0:
        parser.error("need --requests, --rounds, --concurrency >= 1 and --warmup >= 0")
    if urlsplit(args.pg_admin_url).hostname != HOST:
        parser.error(f"--pg-admin-url must point at {HOST}")
    return args


async def main(args: argparse.Namespace) -> int:
    describe(args)
    cpu0, t0 = machine_cpu(), time.monotonic()
    results = [await bench_backend(b, args) for b in args.backends]
    busy = (machine_cpu() - cpu0) / (time.monotonic() - t0)
    print()
    print_table(rows_of(results))
    print()
    for r in results:
        for note in r.notes:
            print(f"{r.backend}: {note}")
    print(f"machine: {busy:.2f} cores busy on average over the whole run (everything)")
    lines, met = goal_lines(results)
    print(f"goal, p99 < {GOAL_MS:g} ms at concurrency 1: {'met' if met else 'NOT met'}")
    print("\n".join(lines))
    failed = [r.backend for r in results if not r.ok]
    print("answers 2xx and clean exit:", f"FAIL ({', '.join(failed)})" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sys.exit(runner.run(main(parse_args())))
