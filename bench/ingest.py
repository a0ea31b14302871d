"""Heartbeat ingest benchmark: durable heartbeats per second and latency, against a ceiling.

For each target this starts a real server on a free port of 127.0.0.1, waits for
`GET /healthz`, and has `--concurrency` workers, one keep-alive connection each, loop
`POST /heartbeat/<key>` over `--keys` service keys: `--warmup` seconds, then `--seconds`
measured seconds. Targets:

- null: `bench/null_app.py`, a do-nothing ASGI app on the same uvicorn settings as
  heartwatch: the ceiling that this client and this machine allow;
- sqlite: `heartwatch up` on a fresh SQLite file, once per `--sqlite-sync` mode;
- postgresql: `heartwatch up` on a throwaway database of the local server, dropped after.

With `--baseline DIR` (a heartwatch source tree, e.g. an exported older commit), each
heartwatch target also runs from `DIR/src`, in the same rounds: an A/B in one invocation,
so both sides see the same (noisy) machine.

After the load, while the server still runs, each heartbeat target's database is read
directly: every key the client used must have as many stored heartbeats as it got 2xx
answers (warm-up included); heartbeats of other keys (heartwatch's own) are only listed.
Then the server gets SIGTERM and must exit 0. Exit status 0 when every check passed, 1
otherwise. The goal (SQLite >= 0.5 x ceiling) is reported, not enforced.

The client is aiohttp (default) or `--client raw`, a minimal HTTP/1.1 client that costs
far less CPU per request: server and client share the machine, so a heavy client lowers
the ceiling it measures.

With `--ping-key on`, every heartwatch server requires a ping key
(HEARTWATCH_PING_KEY + HEARTWATCH_REQUIRE_PING_KEY) and the client sends it as the
X-Ping-Key header (to the ceiling too, so both pay for the same bytes); `--ping-key ab`
runs each heartwatch target without and then with it, in every round (an A/B in one
invocation, as `--baseline` is).

    python bench/ingest.py                 # all targets, 10 s each: about a minute
    python bench/ingest.py --targets null sqlite --sqlite-sync FULL --seconds 5
    git archive 2f61073 | tar -x -C /tmp/base && python bench/ingest.py --baseline /tmp/base
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
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from importlib.util import find_spec
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
TICKS = os.sysconf("SC_CLK_TCK")

STORED_PER_KEY = """
    SELECT s.key, count(h.id) FROM services s JOIN heartbeats h ON h.service_id = s.id
    GROUP BY s.key
"""

# Sends one heartbeat for a key; True when it was acknowledged (2xx).
Post = Callable[[str], Awaitable[bool]]
# Reads the stored heartbeats per key, plus notes for the report.
StoredReader = Callable[[], Awaitable[tuple[dict[str, int], list[str]]]]


@dataclass(slots=True)
class Load:
    """What one load run saw. `acked_by_key` and `unacked` include the warm-up."""

    acked_by_key: Counter[str] = field(default_factory=Counter)
    unacked: int = 0  # non-2xx answers and client errors
    requests: int = 0  # started in the measured window
    acked: int = 0  # of those, answered 2xx
    latencies: list[float] = field(default_factory=list)  # seconds, measured window
    elapsed: float = 0.0  # measured window, up to its last answer
    # CPU over the whole load (warm-up included), in cores: the server process, this
    # process (the client), and the rest of the machine (PostgreSQL, anything else).
    server_cpu: float = math.nan
    client_cpu: float = math.nan
    other_cpu: float = math.nan
    server_ms_per_request: float = math.nan

    @property
    def rate(self) -> float:
        return self.acked / self.elapsed if self.elapsed else 0.0

    @property
    def sent(self) -> int:
        return sum(self.acked_by_key.values()) + self.unacked

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


# --- clients ---------------------------------------------------------------------------


# `--ping-key`: the servers require it, the client sends it.
PING_KEY = "bench-ping-key-0123456789"


async def aiohttp_post(session: aiohttp.ClientSession, key: str) -> bool:
    try:
        async with session.post(f"/heartbeat/{key}") as response:
            await response.read()
            return 200 <= response.status < 300
    except (aiohttp.ClientError, TimeoutError):
        return False


class RawConnection:
    """One keep-alive HTTP/1.1 connection, just enough for `POST` with an empty body."""

    def __init__(self, port: int, extra_headers: str = "") -> None:
        self.port = port
        self.extra_headers = extra_headers  # "Name: value\r\n" lines
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, key: str) -> bool:
        request = (
            f"POST /heartbeat/{key} HTTP/1.1\r\nHost: {HOST}\r\n{self.extra_headers}"
            "Content-Length: 0\r\n\r\n"
        )
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                if self.streams is None:
                    self.streams = await asyncio.open_connection(HOST, self.port)
                reader, writer = self.streams
                writer.write(request.encode())
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                length = head.split("content-length:", 1)[1].split("\r\n", 1)[0]
                await reader.readexactly(int(length))
                return head.startswith("http/1.1 2")
        except (OSError, TimeoutError, IndexError, ValueError, asyncio.IncompleteReadError):
            self.close()  # reconnect on the next request
            return False

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


@contextlib.asynccontextmanager
async def open_client(
    kind: str, port: int, concurrency: int, ping_key: str | None = None
) -> AsyncIterator[list[Post]]:
    """One `Post` per worker; aiohttp's pool holds `concurrency` connections."""
    headers = {} if ping_key is None else {"X-Ping-Key": ping_key}
    if kind == "aiohttp":
        connector = aiohttp.TCPConnector(limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        base_url = f"http://{HOST}:{port}"
        async with aiohttp.ClientSession(
            base_url, connector=connector, timeout=timeout, headers=headers
        ) as s:
            yield [partial(aiohttp_post, s)] * concurrency
    else:
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        connections = [RawConnection(port, extra) for _ in range(concurrency)]
        try:
            yield [c.post for c in connections]
        finally:
            for c in connections:
                c.close()


async def run_load(
    posts: Sequence[Post], keys: Sequence[str], *, warmup: float, seconds: float
) -> Load:
    load = Load()
    turn = itertools.count()
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + seconds
    last_answer = measure_from

    async def worker(post: Post) -> None:
        nonlocal last_answer
        while (t0 := time.perf_counter()) < stop_at:
            key = keys[next(turn) % len(keys)]
            acked = await post(key)
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
        for post in posts:
            group.create_task(worker(post))
    load.elapsed = last_answer - measure_from
    return load


# --- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu() -> float:
    """CPU seconds all cores spent busy so far (not idle, not waiting for I/O)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return math.nan
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


class Server:
    """A server subprocess on 127.0.0.1, its output kept in a log file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], workdir: Path) -> None:
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / "server.log"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

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
            while time.monotonic() < deadline and self.proc.returncode is None:
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://{HOST}:{port}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.argv[1:]} did not become ready:\n{self.log_tail()}")

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

    def log_lines(self) -> list[str]:
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(errors="replace").splitlines()

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_lines()[-lines:])

    def log_problems(self) -> list[str]:
        marks = ("Traceback", "[error", "[warning", "[critical")
        return [line for line in self.log_lines() if any(m in line for m in marks)]


BASELINE = "@baseline"  # target suffix: the same target, run from `--baseline DIR/src`
KEYED = "+pingkey"  # target suffix (last): the server requires a ping key, the client sends it


def heartwatch_server(
    port: int,
    workdir: Path,
    database_url: str,
    sync: str = "FULL",
    src: Path | None = None,
    ping_key: str | None = None,
) -> Server:
    # A defined configuration: nothing inherited from the caller's HEARTWATCH_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTWATCH_")}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    env.update(
        HEARTWATCH_DATABASE_URL=database_url,
        HEARTWATCH_SQLITE_SYNCHRONOUS=sync,
        HEARTWATCH_ACCESS_LOG="false",
        HEARTWATCH_DEBUG_MODE="false",
        HEARTWATCH_AUTO_REGISTER="true",
    )
    if ping_key is not None:
        env.update(HEARTWATCH_PING_KEY=ping_key, HEARTWATCH_REQUIRE_PING_KEY="true")
    argv = [sys.executable, "-m", "heartwatch", "up", "--host", HOST, "--port", str(port)]
    return Server(argv, env, workdir)


# --- durability ------------------------------------------------------------------------


def verify(load: Load, stored: Mapping[str, int]) -> tuple[str, bool]:
    """Every acknowledged heartbeat stored; extra rows only as many as unanswered requests."""
    acked_total = sum(load.acked_by_key.values())
    stored_total = sum(stored.values())
    lost = sum(max(0, n - stored.get(k, 0)) for k, n in load.acked_by_key.items())
    extra = sum(max(0, n - load.acked_by_key.get(k, 0)) for k, n in stored.items())
    ok = lost == 0 and extra <= load.unacked
    detail = f"{'PASS' if ok else 'FAIL'} {stored_total}/{acked_total}"
    if lost or extra:
        detail += f" (lost {lost}, stored but not acked {extra})"
    return detail, ok


def sqlite_stored(path: Path) -> tuple[dict[str, int], str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        stored = {key: n for key, n in db.execute(STORED_PER_KEY)}
        (total,) = db.execute("SELECT count(*) FROM heartbeats").fetchone()
        (journal,) = db.execute("PRAGMA journal_mode").fetchone()
    if total != sum(stored.values()):
        raise RuntimeError(f"{total} heartbeats, {sum(stored.values())} with a service")
    return stored, journal


async def postgres_stored(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        stored = {key: n for key, n in await conn.fetch(STORED_PER_KEY)}
        total = await conn.fetchval("SELECT count(*) FROM heartbeats")
    finally:
        await conn.close()
    if total != sum(stored.values()):
        raise RuntimeError(f"{total} heartbeats, {sum(stored.values())} with a service")
    return stored


@contextlib.asynccontextmanager
async def throwaway_database(admin_url: str) -> AsyncIterator[str]:
    """A fresh database on the server of `admin_url`; yields its URL, drops it after."""
    parts = urlsplit(admin_url)
    if parts.hostname != HOST:
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
    ping_key = PING_KEY if target.endswith(KEYED) or args.ping_key == "on" else None
    target = target.removesuffix(KEYED)
    kind = target.removesuffix(BASELINE)
    src = args.baseline / "src" if target.endswith(BASELINE) else None
    with tempfile.TemporaryDirectory(prefix="hw_bench_") as tmp:
        workdir = Path(tmp)
        if target == "null":
            argv = [sys.executable, str(BENCH_DIR / "null_app.py"), "--host", HOST]
            server = Server([*argv, "--port", str(port)], os.environ, workdir)
            return await measure(target, server, port, args, keys, ping_key, stored=None)

        if kind.startswith("sqlite:"):
            sync = kind.removeprefix("sqlite:")
            db_path = workdir / "hw.db"
            server = heartwatch_server(
                port, workdir, f"sqlite+aiosqlite:///{db_path}", sync, src, ping_key
            )

            async def stored_sqlite() -> tuple[dict[str, int], list[str]]:
                stored, journal = sqlite_stored(db_path)
                return stored, [f"journal_mode={journal}, synchronous={sync}"]

            return await measure(target, server, port, args, keys, ping_key, stored=stored_sqlite)

        async with throwaway_database(args.pg_admin_url) as pg_url:
            server_url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
            server = heartwatch_server(port, workdir, server_url, src=src, ping_key=ping_key)

            async def stored_pg() -> tuple[dict[str, int], list[str]]:
                return await postgres_stored(pg_url), [f"database {urlsplit(pg_url).path[1:]}"]

            return await measure(target, server, port, args, keys, ping_key, stored=stored_pg)


async def measure(
    target: str,
    server: Server,
    port: int,
    args: argparse.Namespace,
    keys: Sequence[str],
    ping_key: str | None,
    *,
    stored: StoredReader | None,
) -> Result:
    notes: list[str] = []
    try:
        await server.start(port)
        async with open_client(args.client, port, args.concurrency, ping_key) as posts:
            cpu0 = process_cpu(server.pid), time.process_time(), machine_cpu(), time.monotonic()
            load = await run_load(posts, keys, warmup=args.warmup, seconds=args.seconds)
            cpu1 = process_cpu(server.pid), time.process_time(), machine_cpu(), time.monotonic()
        server_s, client_s, machine_s, wall = (b - a for a, b in zip(cpu0, cpu1, strict=True))
        load.server_cpu, load.client_cpu = server_s / wall, client_s / wall
        load.other_cpu = max(0.0, machine_s - server_s - client_s) / wall
        load.server_ms_per_request = 1000 * server_s / load.sent if load.sent else math.nan
        # Read while the server still runs: an acknowledgement must mean "committed",
        # not "will be written at shutdown".
        if stored is None:
            check, ok = "n/a", True
        else:
            rows, more = await stored()
            # Only the keys this client sent: heartwatch itself may report in too (the
            # worker's self-monitoring heartbeat, as `heartwatch-worker`).
            sent = set(keys)
            check, ok = verify(load, {k: n for k, n in rows.items() if k in sent})
            others = {k: n for k, n in rows.items() if k not in sent}
            notes += more + ([f"not from this client, stored too: {others}"] if others else [])
    finally:
        code = await server.stop()
    if code != 0:
        ok = False
        notes.append(f"server exit code {code} (expected 0)\n{server.log_tail()}")
    notes += [f"server log: {line}" for line in server.log_problems()[:5]]
    return Result(target, load, check, ok, notes)


# --- report ----------------------------------------------------------------------------


def label(target: str) -> str:
    keyed = " +ping key" if target.endswith(KEYED) else ""
    target = target.removesuffix(KEYED)
    kind = target.removesuffix(BASELINE)
    suffix = (" baseline" if target.endswith(BASELINE) else "") + keyed
    if kind.startswith("sqlite:"):
        return f"sqlite ({kind.removeprefix('sqlite:')}){suffix}"
    return "null app (ceiling)" if kind == "null" else kind + suffix


def median_of(runs: Sequence[Result], get: Callable[[Load], float]) -> float:
    return statistics.median(get(r.load) for r in runs)


def summarize(results: Mapping[str, list[Result]]) -> list[list[str]]:
    """One line per target: medians over rounds (one round: its own figures)."""
    ceiling = median_of(results["null"], lambda x: x.rate) if "null" in results else 0.0
    rows = []
    for target, runs in results.items():
        rate = median_of(runs, lambda x: x.rate)
        rows.append(
            [
                label(target),
                f"{median_of(runs, lambda x: x.requests):.0f}",
                f"{median_of(runs, lambda x: x.acked):.0f}",
                f"{rate:,.0f}",
                f"{median_of(runs, lambda x: x.percentile_ms(0.50)):.1f}",
                f"{median_of(runs, lambda x: x.percentile_ms(0.99)):.1f}",
                f"{rate / ceiling:.2f}" if ceiling else "-",
                f"{median_of(runs, lambda x: x.server_ms_per_request):.2f}",
                f"{median_of(runs, lambda x: x.server_cpu):.2f}",
                f"{median_of(runs, lambda x: x.client_cpu):.2f}",
                f"{median_of(runs, lambda x: x.other_cpu):.2f}",
                runs[0].check if len(runs) == 1 else checks_summary(runs),
            ]
        )
    return rows


def checks_summary(runs: Sequence[Result]) -> str:
    if all(r.check == "n/a" for r in runs):
        return "n/a"
    passed = sum(r.check.startswith("PASS") for r in runs)
    return f"PASS in {passed}/{len(runs)} rounds"


HEADER = [
    "target",
    "requests",
    "acked",
    "acked/s",
    "p50 ms",
    "p99 ms",
    "x ceiling",
    "server CPU ms/req",
    "server cores",
    "client cores",
    "other cores",
    "stored/acked",
]


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(HEADER))
    print("|" + "|".join(("-" * (w + 1)) + (":" if i else "-") for i, w in enumerate(widths)) + "|")
    for row in rows:
        print(line(row))


def heartwatch_source() -> str:
    """Where `python -m heartwatch` comes from, and its git commit when it has one."""
    spec = find_spec("heartwatch")
    if spec is None or spec.origin is None:
        return "heartwatch: not importable"
    package = Path(spec.origin).parent
    git = ["git", "-C", str(package)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        return f"heartwatch {version('heartwatch')} from {package}"
    dirty = subprocess.run([*git, "status", "--porcelain", "."], capture_output=True, text=True)
    state = ", uncommitted changes" if dirty.stdout.strip() else ""
    return f"heartwatch from {package} (commit {commit.stdout.strip()}{state})"


def describe_machine(args: argparse.Namespace) -> None:
    usable = len(os.sched_getaffinity(0))
    print(
        f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"cpu_count={os.cpu_count()} (usable {usable}), load average {os.getloadavg()[0]:.2f}"
    )
    libs = ("uvicorn", "httptools", "uvloop", "fastapi", "sqlalchemy", "aiosqlite", "asyncpg")
    print(", ".join(f"{lib} {version(lib)}" for lib in libs) + f", sqlite {sqlite3.sqlite_version}")
    print(heartwatch_source())
    if args.baseline is not None:
        print(f"baseline: heartwatch from {args.baseline / 'src'} (targets marked 'baseline')")
    client = f"aiohttp {version('aiohttp')}" if args.client == "aiohttp" else "raw HTTP/1.1"
    print(
        f"client: {client} on uvloop, {args.concurrency} connections, {args.keys} keys, "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s measured, {args.rounds} round(s); "
        "server and client share the machine"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Heartbeat ingest benchmark (see the module docstring)."
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per target")
    parser.add_argument("--concurrency", type=int, default=32, help="connections (one per worker)")
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
    parser.add_argument("--client", choices=["aiohttp", "raw"], default="aiohttp")
    parser.add_argument(
        "--ping-key",
        choices=["off", "on", "ab"],
        default="off",
        help="on: servers require a ping key (HEARTWATCH_REQUIRE_PING_KEY), the client "
        "sends it; ab: each heartwatch target without, then with it",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat all targets; report medians")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also run each heartwatch target from this source tree's src/ (A/B in one run)",
    )
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a database of the local PostgreSQL to create and drop the throwaway one from",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.concurrency < 1 or args.keys < 1:
        parser.error("need --seconds > 0, --warmup >= 0, --concurrency >= 1, --keys >= 1")
    if args.rounds < 1:
        parser.error("need --rounds >= 1")
    if args.baseline is not None and not (args.baseline / "src" / "heartwatch").is_dir():
        parser.error(f"--baseline {args.baseline}: no src/heartwatch in it")
    return args


async def main(args: argparse.Namespace) -> int:
    targets: list[str] = []
    for target in args.targets:
        kinds = [f"sqlite:{s}" for s in args.sqlite_sync] if target == "sqlite" else [target]
        for kind in kinds:
            both = args.baseline is not None and kind != "null"
            sides = [kind + BASELINE, kind] if both else [kind]
            if args.ping_key == "ab" and kind != "null":
                sides = [side + variant for side in sides for variant in ("", KEYED)]
            targets += sides
    keys = [f"bench-{i:05d}" for i in range(args.keys)]
    describe_machine(args)
    results: dict[str, list[Result]] = {t: [] for t in targets}
    for round_no in range(1, args.rounds + 1):
        # A B, then B A: whichever runs second in a round does not always pay for it
        # (a machine shared with other work drifts within a round).
        for target in targets if round_no % 2 else targets[::-1]:
            result = await bench_target(target, args, keys)
            results[target].append(result)
            load = result.load
            print(
                f"[{round_no}/{args.rounds}] {label(target):<27} {load.rate:>7,.0f} acked/s  "
                f"p50 {load.percentile_ms(0.5):6.1f} ms  p99 {load.percentile_ms(0.99):6.1f} ms  "
                f"unacked {load.unacked}  {result.check}",
                flush=True,
            )
            for note in result.notes:
                print(f"    {note}")
    print()
    print_table(summarize(results))
    print()

    if "null" in results:
        ceiling = median_of(results["null"], lambda x: x.rate)
        client_cores = median_of(results["null"], lambda x: x.client_cpu)
        if client_cores > 0.8:
            print(
                f"note: the client used {client_cores:.2f} cores in the ceiling run; "
                "the ceiling may be the client's, not the server's"
            )
        for target in ("sqlite:FULL" + BASELINE, "sqlite:FULL"):
            if target not in results:
                continue
            rate = median_of(results[target], lambda x: x.rate)
            met = "met" if rate >= GOAL_RATIO * ceiling else "NOT met"
            which = " (baseline)" if target.endswith(BASELINE) else ""
            print(
                f"goal, SQLite (synchronous=FULL){which} >= {GOAL_RATIO} x ceiling: {met} "
                f"({rate:,.0f} / {ceiling:,.0f} = {rate / ceiling:.2f})"
            )
    failed = [label(t) for t, runs in results.items() for r in runs if not r.ok]
    print("durability and clean exit:", f"FAIL ({', '.join(failed)})" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sys.exit(runner.run(main(parse_args())))
