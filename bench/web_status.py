"""Public status page benchmark: requests per second of a cached status page.

Starts the real server (`python -m heartwatch up`, real clock, dev mode off) on a free
port of 127.0.0.1 over a fresh database (SQLite file, or PostgreSQL with `--backends`),
creates `--services` heartbeat services through the API (a tenth of them failed with a
`/fail` ping, so the page has incidents and its version follows the minute), and a status
page showing them all. Then, per round, `--concurrency` keep-alive connections send
`--requests` GETs of `/status/<slug>` back to back, twice (`--command api`: the API
process alone, without the worker beside it):

- **304**: each request carries the page's ETag in `If-None-Match` (a returning visitor,
  a browser revalidating after max-age)
- **200**: no ETag (a new visitor): the whole page, from the server's cache

The table gives, per backend and case, the medians over rounds of the requests per
second, p50/p99 latency and the server's CPU per request. Any answer other than the one
expected (304, or 200 with the body), a server that does not exit 0 on SIGTERM, or
errors in its log make the exit status 1. The goal (≥ 1,000 requests/s, both cases) is
reported, not enforced. Only 127.0.0.1 is contacted; everything this starts, it stops.

    python bench/web_status.py                              # SQLite, 3 rounds
    python bench/web_status.py --backends sqlite postgresql --rounds 5 --requests 5000
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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import uvloop

from api_latency import Connection
from ingest import HOST, Server, free_port, machine_cpu, process_cpu, throwaway_database

GOAL_RPS = 1000.0
SLUG = "bench"
# Access control on, as on a server whose status pages are public: the page is set up
# with this key, and visitors send none.
ADMIN_KEY = "bench-admin-key-0123456789-abcdefghijklmnop"
ADMIN = {"X-Api-Key": ADMIN_KEY}
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    not_modified: int = 0
    elapsed: float = 0.0
    server_cpu: float = math.nan
    machine_cpu: float = math.nan

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else math.nan

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu / self.count if self.count else math.nan

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def load(port: int, pid: int, etag: str | None, n: int, concurrency: int) -> Sample:
    sample = Sample()
    # As browsers send it: the page comes compressed (compressed once per version).
    headers = {"Accept-Encoding": "gzip, deflate, br"}
    if etag:
        headers["If-None-Match"] = etag
    connections = [Connection(port, headers) for _ in range(concurrency)]
    for c in connections:
        await c.open()
    sent = 0

    async def worker(conn: Connection) -> None:
        nonlocal sent
        while sent < n:
            sent += 1
            t0 = time.perf_counter()
            status, body = await conn.get(f"/status/{SLUG}")
            sample.latencies.append(time.perf_counter() - t0)
            # With an ETag: 304, or the page itself once its version moved on (it
            # follows the minute while a service is down).
            if status == 304 and etag:
                sample.not_modified += 1
            elif status != 200 or not body.startswith(GZIP_MAGIC):
                sample.failures.append(f"{status}: {body[:200]!r}")

    cpu0, busy0, t0 = process_cpu(pid), machine_cpu(), time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for c in connections:
                group.create_task(worker(c))
    finally:
        for c in connections:
            c.close()
    sample.elapsed = time.perf_counter() - t0
    sample.server_cpu = process_cpu(pid) - cpu0
    sample.machine_cpu = machine_cpu() - busy0
    return sample


async def populate(port: int, services: int) -> None:
    """The services, a tenth of them failed, and the page, through the API."""
    base = f"http://{HOST}:{port}"
    async with aiohttp.ClientSession(headers=ADMIN) as http:
        for i in range(services):
            body = {"key": f"svc-{i:04d}", "name": f"Service {i}", "expected_period_sec": 3600}
            async with http.post(f"{base}/services", json=body) as response:
                assert response.status == 201, await response.text()
            signal = "/fail" if i % 10 == 0 else ""
            async with http.post(f"{base}/heartbeat/svc-{i:04d}{signal}") as response:
                assert response.status == 200, await response.text()
        page = {"slug": SLUG, "title": "Bench status", "tags": [], "service_keys": []}
        page["service_keys"] = [f"svc-{i:04d}" for i in range(services)]
        async with http.post(f"{base}/status-pages", json=page) as response:
            assert response.status == 201, await response.text()


async def etag_of(port: int) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://{HOST}:{port}/status/{SLUG}") as response,
    ):
        assert response.status == 200, await response.text()
        assert "</html>" in await response.text()
        return response.headers["ETag"]


@dataclass
class Result:
    backend: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ok: bool = True


@contextlib.asynccontextmanager
async def database(backend: str, tmp: Path, admin_url: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'web_status.db'}"
        return
    async with throwaway_database(admin_url) as url:
        yield url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def bench_backend(backend: str, args: argparse.Namespace) -> Result:
    result = Result(backend)
    with tempfile.TemporaryDirectory(prefix="hw_bench_") as tmp:
        async with database(backend, Path(tmp), args.pg_admin_url) as url:
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
            env.update(
                HEARTWATCH_DATABASE_URL=url,
                HEARTWATCH_DEBUG_MODE="false",
                HEARTWATCH_ACCESS_LOG="false",
                HEARTWATCH_SELF_MONITOR="false",
                HEARTWATCH_ADMIN_KEY=ADMIN_KEY,
            )
            if args.command == "api":  # the API alone: migrate first (`up` does it itself)
                migrate = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "heartwatch", "migrate", env=env, cwd=tmp
                )
                assert await migrate.wait() == 0
            argv = [sys.executable, "-m", "heartwatch", args.command]
            argv += ["--host", HOST, "--port", str(port)]
            server = Server(argv, env, Path(tmp))
            try:
                await server.start(port)
                await populate(port, args.services)
                await load(port, server.pid, None, 200, args.concurrency)  # warm-up
                for _ in range(args.rounds):
                    # The version follows the minute while services are down: fetch the
                    # ETag right before the round, as a revalidating browser holds it.
                    etag = await etag_of(port)
                    for case, tag in (("304", etag), ("200", None)):
                        sample = await load(port, server.pid, tag, args.requests, args.concurrency)
                        result.samples.setdefault(case, []).append(sample)
                        if sample.failures:
                            result.ok = False
                            result.notes.append(f"{case}: {sample.failures[:3]}")
            finally:
                code = await server.stop()
            if code != 0:
                result.ok = False
                result.notes.append(f"server exit code {code}\n{server.log_tail()}")
            problems = server.log_problems()
            if problems:
                result.ok = False
                result.notes += [f"server log: {line}" for line in problems[:5]]
    return result


def table(results: Sequence[Result]) -> list[list[str]]:
    rows = [
        ["backend", "case", "req/s", "p50 ms", "p99 ms", "server CPU/req ms", "304s", "cores busy"]
    ]
    for result in results:
        for case, samples in result.samples.items():
            rows.append(
                [
                    result.backend,
                    case,
                    f"{statistics.median(s.rate for s in samples):,.0f}",
                    f"{statistics.median(s.ms(0.5) for s in samples):.2f}",
                    f"{statistics.median(s.ms(0.99) for s in samples):.2f}",
                    f"{statistics.median(s.cpu_ms_per_request for s in samples):.3f}",
                    f"{sum(s.not_modified for s in samples) / sum(s.count for s in samples):.0%}",
                    f"{statistics.median(s.machine_cpu / s.elapsed for s in samples):.2f}",
                ]
            )
    return rows


def print_table(rows: list[list[str]]) -> None:
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows[1:]:
        print("| " + " | ".join(row) + " |")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite"])
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--command", choices=["up", "api"], default="up", help="api: without the worker"
    )
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    print(
        f"web_status: {args.services} services on the page, {args.rounds} rounds of "
        f"{args.requests} requests at concurrency {args.concurrency}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    results = [await bench_backend(backend, args) for backend in args.backends]
    print_table(table(results))
    worst = min(
        (
            statistics.median(s.rate for s in samples)
            for r in results
            for samples in r.samples.values()
        ),
        default=math.nan,
    )
    print(
        f"goal: >= {GOAL_RPS:,.0f} req/s in every case; worst {worst:,.0f}: "
        f"{'met' if worst >= GOAL_RPS else 'NOT met'}"
    )
    for result in results:
        for note in result.notes:
            print(f"[{result.backend}] {note}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse_args())))
