"""What checking an API key costs: `GET /services/{id}` with access control off (no key
sent) and on (a key sent with every request), on the same data.

Two SQLite databases are made alike: migrated, `--services` heartbeat services
registered over the API. One is left without any credential (heartwatch serves it open,
on 127.0.0.1); the other gets a read key (`heartwatch keys create`), sent as
`Authorization: Bearer` with every request; with `--env-key`, a third side uses
HEARTWATCH_ADMIN_KEY on the first database. Each round starts `heartwatch api` (no
worker: nothing else runs in the server) once per side, all at once, each on a free port
of 127.0.0.1, sends each `--warmup` untimed requests, then `--requests` timed ones at
concurrency 1 over one keep-alive connection (a minimal HTTP/1.1 client), `--block` at a
time to each side in turn (the order reversed every other round), rotating over the
services by key: whatever else the machine does falls on every side alike. Reported per
side: medians over rounds of p50 and p99 latency and of the server's CPU per request
(from /proc), and their difference from the open side.

Any non-2xx answer, or a server that does not exit 0 on SIGTERM, makes the exit status 1.

    flock /tmp/hw-bench.lock python bench/auth_overhead.py --env-key
    flock /tmp/hw-bench.lock python bench/auth_overhead.py --rounds 9 --requests 3000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import uvloop

from api_latency import Connection
from ingest import HOST, Server, free_port, heartwatch_source, machine_cpu, process_cpu

ENV_KEY = "bench-admin-key-0123456789-abcdefghijklmnop"


@dataclass
class Side:
    name: str
    database: Path
    workdir: Path  # the server's own (its log)
    headers: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Sample:
    latencies: list[float]  # seconds
    cpu_per_request: float  # seconds

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _env(database: Path, **extra: str) -> dict[str, str]:
    # A defined configuration: nothing inherited from the caller's HEARTWATCH_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
    env.update(
        HEARTWATCH_DATABASE_URL=f"sqlite:///{database}",
        HEARTWATCH_ACCESS_LOG="false",
        HEARTWATCH_DEBUG_MODE="false",
        **extra,
    )
    return env


def _heartwatch(database: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "heartwatch", *args],
        env=_env(database),
        cwd=database.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _server(side: Side, port: int) -> Server:
    argv = [sys.executable, "-m", "heartwatch", "api", "--host", HOST, "--port", str(port)]
    side.workdir.mkdir(parents=True, exist_ok=True)
    return Server(argv, _env(side.database, **side.env), side.workdir)


def _fresh_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("**/*.db*"):
        old.unlink()
    return path


async def make_database(path: Path, services: int) -> None:
    _heartwatch(path, "migrate")
    port = free_port()
    server = _server(Side("fill", path, path.parent / "fill", {}), port)
    await server.start(port)
    try:
        async with aiohttp.ClientSession(f"http://{HOST}:{port}") as http:
            for n in range(services):
                body = {"key": f"svc-{n:04d}", "expected_period_sec": 60}
                async with http.post("/services", json=body) as response:
                    if response.status != 201:
                        raise RuntimeError(f"POST /services: {response.status}")
    finally:
        await server.stop()


async def measure_round(
    sides: Sequence[Side], args: argparse.Namespace, reverse: bool
) -> tuple[dict[str, Sample], list[str]]:
    """One round: a server per side, all running at once; `--block` requests to each in
    turn until each had `--requests`, so that what else the machine does falls on every
    side alike."""
    servers: dict[str, Server] = {}
    conns: dict[str, Connection] = {}
    failures: list[str] = []
    latencies: dict[str, list[float]] = {side.name: [] for side in sides}
    cpu = dict.fromkeys(latencies, 0.0)
    paths = [f"/services/svc-{n:04d}" for n in range(args.services)]
    try:
        ports = {}
        for side in sides:
            ports[side.name] = port = free_port()
            servers[side.name] = server = _server(side, port)
            await server.start(port)
        # Connected once every server runs: uvicorn closes a connection idle for 5 s.
        for side in sides:
            conns[side.name] = Connection(ports[side.name], side.headers)
            await conns[side.name].open()
            for i in range(args.warmup):
                await conns[side.name].get(paths[i % len(paths)])
        order = list(sides)[::-1] if reverse else list(sides)
        for start in range(0, args.requests, args.block):
            for side in order:
                conn, pid = conns[side.name], servers[side.name].pid
                cpu0 = process_cpu(pid)
                for i in range(start, min(start + args.block, args.requests)):
                    t0 = time.perf_counter()
                    status, body = await conn.get(paths[i % len(paths)])
                    latencies[side.name].append(time.perf_counter() - t0)
                    if not 200 <= status < 300:
                        failures.append(f"{side.name}: {status} {body[:200]!r}")
                cpu[side.name] += process_cpu(pid) - cpu0
    finally:
        for conn in conns.values():
            conn.close()
        for name, server in servers.items():
            code = await server.stop()
            if code != 0:
                failures.append(f"{name}: server exit status {code}\n{server.log_tail()}")
    samples = {name: Sample(lat, cpu[name] / len(lat)) for name, lat in latencies.items()}
    return samples, failures


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="API key check cost (see the docstring).")
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--requests", type=int, default=1000, help="timed, per side and round")
    parser.add_argument("--warmup", type=int, default=200, help="untimed, per side and round")
    parser.add_argument("--block", type=int, default=50, help="requests to a side in a row")
    parser.add_argument("--rounds", type=int, default=5, help="report medians over rounds")
    parser.add_argument("--env-key", action="store_true", help="also HEARTWATCH_ADMIN_KEY")
    parser.add_argument(
        "--data-dir", default=str(Path(tempfile.gettempdir()) / "hw_bench_auth_overhead")
    )
    args = parser.parse_args(argv)
    if min(args.services, args.requests, args.rounds, args.block) < 1 or args.warmup < 0:
        parser.error("need --services, --requests, --rounds, --block >= 1 and --warmup >= 0")
    return args


async def main(args: argparse.Namespace) -> int:
    print(
        f"python {platform.python_version()}, cpu_count={os.cpu_count()}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(heartwatch_source())
    print(
        f"{args.services} services; {args.warmup} + {args.requests} requests per side and "
        f"round, concurrency 1, {args.rounds} round(s); server and client share the machine"
    )
    data = _fresh_dir(Path(args.data_dir))
    open_db, keyed_db = data / "open.db", data / "keyed.db"
    await make_database(open_db, args.services)
    await make_database(keyed_db, args.services)
    key = _heartwatch(keyed_db, "keys", "create", "--role", "read", "--name", "bench")
    sides = [
        Side("no key (access control off)", open_db, data / "open", {}),
        Side("read key (Bearer)", keyed_db, data / "key", {"Authorization": f"Bearer {key}"}),
    ]
    if args.env_key:
        env = {"HEARTWATCH_ADMIN_KEY": ENV_KEY}
        headers = {"X-Api-Key": ENV_KEY}
        sides.append(Side("HEARTWATCH_ADMIN_KEY", open_db, data / "env", headers, env))

    samples: dict[str, list[Sample]] = {side.name: [] for side in sides}
    failures: list[str] = []
    cpu0, t0 = machine_cpu(), time.monotonic()
    for round_ in range(args.rounds):
        by_side, problems = await measure_round(sides, args, reverse=round_ % 2 == 1)
        for name, sample in by_side.items():
            samples[name].append(sample)
        failures += problems
    busy = (machine_cpu() - cpu0) / (time.monotonic() - t0)

    def med(name: str, value: str) -> float:
        runs = samples[name]
        if value == "cpu":
            return statistics.median(s.cpu_per_request * 1e6 for s in runs)
        return statistics.median(s.ms(0.5 if value == "p50" else 0.99) for s in runs)

    base = sides[0].name
    print()
    head = ("p50 ms", "p99 ms", "CPU µs/req", "Δ p50 µs", "Δ CPU µs")
    print(f"{'side':30} " + " ".join(f"{h:>{max(8, len(h))}}" for h in head))
    for side in sides:
        d50 = 1000 * (med(side.name, "p50") - med(base, "p50"))
        dcpu = med(side.name, "cpu") - med(base, "cpu")
        print(
            f"{side.name:30} {med(side.name, 'p50'):8.3f} {med(side.name, 'p99'):8.3f} "
            f"{med(side.name, 'cpu'):10.0f} {d50:+8.0f} {dcpu:+8.0f}"
        )
    print(f"\nmachine: {busy:.2f} cores busy on average over the run (everything)")
    for failure in failures[:20]:
        print("FAIL", failure)
    print("answers 2xx and clean exits:", "FAIL" if failures else "PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sys.exit(runner.run(main(parse_args())))
