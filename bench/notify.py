"""Notification outbox drain benchmark: an outage of 1,000 services at once.

For each target (a fresh SQLite file, or a throwaway PostgreSQL database `hw_bench_<random>`
dropped afterwards) and each configured channel rate, this starts:

- a fake Telegram Bot API in this process (`tests/fakes/telegram.py`, the real wire
  format) with a per-chat flood limit: more than `--fake-limit` messages to the chat within
  any `--fake-window` seconds is answered 429 with `parameters.retry_after` (whole seconds,
  at least 1), as Telegram answers;
- the real server, `python -m heartwatch up`, in dev mode (HEARTWATCH_DEBUG_MODE=true, so
  the clock can be moved through `POST /dev/clock`), with TELEGRAM_API_URL pointing at the
  fake.

Then, through the API only:

1. `POST /channels`: a telegram channel (the fake's token, one chat) that wants only
   `down` events, at the run's `rate_per_minute`;
2. `POST /services` for `--services` heartbeat services declaring a 60 s period, then one
   `POST /heartbeat/<key>` each;
3. `POST /dev/clock {"advance_seconds": 300}`: every service has been quiet for more than
   4 periods, so the worker records all of them DOWN at once, and the outbox gets one
   event per service in the same transactions;
4. wait until every service has been told, or until the outbox is settled (nothing
   queued or sending), then `--quiet` seconds more, so that a late duplicate would show.

Rates (`--rates`, messages per minute): by default 1,200 (20/s, under the fake's 30/s: no
429 expected) and 3,600 (60/s, over it: the fake answers 429s, and the dispatcher must
wait out each `retry_after` and send the message again, losing nothing).

Measured, from the clock move: when the first and the last of the outage's outbox rows
became visible to another process (this one polls the database: "recorded"), when the
fake accepted the first and the last message; the drain (first recorded -> last message;
at the configured rate it cannot be shorter than (services - 1) / rate);
the achieved rate (messages - 1) / (last - first) against the configured one; the longest
gap between two messages; 429s answered. The server's CPU time (all threads, from
`/proc`): to record the outage, per message while draining it, and idle before the move.

Checked (exit status 1 if any fails, per run): every service told (distinct services in
the fake's `sent` == `--services`), none told twice, no other message, the outbox all
`sent` (read from the database; `GET /notifications?status=queued|sending|failed` must be
empty too), no `sendMessage` to the chat while a `retry_after` it was given still ran, and
the server exits 0 on SIGTERM.

    python bench/notify.py                                   # SQLite, both rates: ~3 min
    python bench/notify.py --targets sqlite postgresql --rounds 3
    python bench/notify.py --rates 1200 --services 200       # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from sqlalchemy import func, select

from heartwatch.store.database import Database
from heartwatch.store.models import NotificationEvent, StateTransition

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.fakes: the fake Bot API is the tests' own

from tests.fakes.telegram import ApiError, FakeTelegram  # noqa: E402

from ingest import (  # noqa: E402  (bench/ is on the path when this file runs)
    HOST,
    Server,
    free_port,
    heartwatch_source,
    machine_cpu,
    process_cpu,
    throwaway_database,
)

CHAT_ID = "-1001234567890"
CHANNEL = "bench"
PERIOD_S = 60
# Past 4 periods of silence (down) and far from the dead age (7 days).
OUTAGE_JUMP_S = 300
SETUP_CONCURRENCY = 16
OUTBOX_POLL_S = 0.5
RECORD_POLL_S = 0.05
RECORD_TIMEOUT_S = 60.0
IDLE_S = 3.0  # the server's CPU is measured this long before the move, for its idle use
# The dispatcher and the fake read the same monotonic clock, but a timer may fire a hair
# early: a send this much inside a retry_after window still counts as honouring it.
HONOUR_TOLERANCE_S = 0.002


class FloodTelegram(FakeTelegram):
    """The fake Bot API, also keeping each 429 of its flood control: (when, retry_after)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.floods: list[tuple[float, float]] = []

    def _flood_control(self, chat: str) -> None:
        try:
            super()._flood_control(chat)
        except ApiError as exc:
            retry_after = (exc.parameters or {}).get("retry_after", 0)
            self.floods.append((time.monotonic(), float(retry_after)))
            raise


@dataclass(slots=True)
class Run:
    target: str
    rate_per_minute: float
    services: int
    # timings, seconds (monotonic clock of this process)
    moved_at: float = math.nan
    first_recorded_at: float = math.nan  # the first outbox row visible to another process
    recorded_at: float = math.nan  # all of them: the outage's transitions are recorded
    first_at: float = math.nan
    last_at: float = math.nan
    longest_gap: float = math.nan
    # what the fake saw
    delivered: int = 0
    distinct: int = 0
    duplicates: int = 0
    strangers: int = 0  # messages about something else than the bench's services
    floods: int = 0
    early_sends: int = 0  # sendMessage calls inside a retry_after window
    tightest_wait: float = math.nan  # min over 429s of (next call - 429) - retry_after
    # the outbox, from the database
    outbox: Counter[str] = field(default_factory=Counter)
    max_attempts: int = 0
    down_transitions: int = 0
    api_unsettled: int = 0  # rows GET /notifications?status=queued|sending|failed listed
    # server CPU seconds: recording the outage (move -> all recorded), draining it
    # (all recorded -> every service told); cores it used idle, before the move
    record_cpu_s: float = math.nan
    drain_cpu_s: float = math.nan
    drained_after_recorded: int = 0  # messages sent in that second window
    idle_cores: float = math.nan
    other_cores: float = math.nan  # the rest of the machine, move -> end
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def configured(self) -> float:
        return self.rate_per_minute / 60

    @property
    def drain_s(self) -> float:
        """From the outage's first recorded transition to its last message."""
        return self.last_at - self.first_recorded_at

    @property
    def achieved(self) -> float:
        span = self.last_at - self.first_at
        return (self.delivered - 1) / span if self.delivered > 1 and span > 0 else math.nan

    @property
    def ok(self) -> bool:
        return not self.problems


# --- the server ------------------------------------------------------------------------


def heartwatch_server(port: int, workdir: Path, database_url: str, fake: FakeTelegram) -> Server:
    # A defined configuration: nothing inherited from the caller's HEARTWATCH_* or TELEGRAM_*.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEARTWATCH_", "TELEGRAM_"))}
    env.update(
        HEARTWATCH_DATABASE_URL=database_url,
        HEARTWATCH_DEBUG_MODE="true",
        HEARTWATCH_ACCESS_LOG="false",
        # The worker's own heartbeat would go down with the clock jump too: not this
        # bench's business.
        HEARTWATCH_SELF_MONITOR="false",
        # Only the Bot API's address: the channel is made through the API, wanting `down`
        # from the start (TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID would make a channel that
        # wants everything, the day's summary included, before it can be changed).
        TELEGRAM_API_URL=fake.api_url,
    )
    argv = [sys.executable, "-m", "heartwatch", "up", "--host", HOST, "--port", str(port)]
    return Server(argv, env, workdir)


async def call(
    http: aiohttp.ClientSession, method: str, path: str, *, expect: int = 200, **kw: Any
) -> Any:
    async with http.request(method, path, **kw) as response:
        body = await response.text()
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status} {body[:300]}")
        return await response.json() if body else None


async def each(keys: Sequence[str], job: Callable[[str], Awaitable[None]]) -> None:
    """`job(key)` for every key, `SETUP_CONCURRENCY` at a time."""
    queue = list(keys)

    async def worker() -> None:
        while queue:
            await job(queue.pop())

    async with asyncio.TaskGroup() as group:
        for _ in range(SETUP_CONCURRENCY):
            group.create_task(worker())


# --- one run ---------------------------------------------------------------------------


async def bench_run(target: str, rate: float, args: argparse.Namespace) -> Run:
    run = Run(target, rate, args.services)
    with tempfile.TemporaryDirectory(prefix="hw_bench_notify_") as tmp:
        workdir = Path(tmp)
        if target == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'hw.db'}"
            await drive(run, url, workdir, args)
        else:
            async with throwaway_database(args.pg_admin_url) as pg_url:
                url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
                await drive(run, url, workdir, args)
    return run


async def drive(run: Run, url: str, workdir: Path, args: argparse.Namespace) -> None:
    fake = FloodTelegram(per_chat_limit=(args.fake_limit, args.fake_window))
    await fake.start()
    port = free_port()
    server = heartwatch_server(port, workdir, url, fake)
    keys = [f"svc-{i:05d}" for i in range(run.services)]
    try:
        await server.start(port)
        base = f"http://{HOST}:{port}"
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(base, timeout=timeout) as http:
            channel = {
                "name": CHANNEL,
                "type": "telegram",
                "config": {"bot_token": fake.token, "chat_id": CHAT_ID},
                "events": ["down"],
                "rate_per_minute": run.rate_per_minute,
            }
            await call(http, "POST", "/channels", json=channel, expect=201)

            async def register(key: str) -> None:
                body = {"key": key, "name": key, "expected_period_sec": PERIOD_S}
                await call(http, "POST", "/services", json=body, expect=201)
                await call(http, "POST", f"/heartbeat/{key}")

            await each(keys, register)
            if fake.sent:
                run.problems.append(f"{len(fake.sent)} messages before the outage")

            idle0, t0 = process_cpu(server.pid), time.monotonic()
            await asyncio.sleep(IDLE_S)
            cpu0, machine0 = process_cpu(server.pid), machine_cpu()
            run.idle_cores = (cpu0 - idle0) / (time.monotonic() - t0)
            run.moved_at = time.monotonic()
            await call(http, "POST", "/dev/clock", json={"advance_seconds": OUTAGE_JUMP_S})
            recording = asyncio.create_task(watch_recording(run, url, server.pid, cpu0))
            cpu_told = await wait_for_drain(run, fake, http, args, server.pid)
            wall = time.monotonic() - run.moved_at
            cpu1, machine1 = process_cpu(server.pid), machine_cpu()
            cpu_recorded = await recording
            run.drain_cpu_s = cpu_told - cpu_recorded
            run.other_cores = max(0.0, (machine1 - machine0) - (cpu1 - cpu0)) / wall
            for status in ("queued", "sending", "failed"):
                listed = await call(http, "GET", "/notifications", params={"status": status})
                run.api_unsettled += len(listed["items"])
            await read_outbox(run, url)
    finally:
        run.exit_code = await server.stop()
        await fake.close()
    look_at_messages(run, fake, set(keys))
    judge(run)
    # The 429 scenario logs a warning per refused message: expected, shown, not a failure.
    logged = server.log_problems()
    run.problems += [f"server log: {line}" for line in logged if "[warning" not in line][:5]
    warnings = [line for line in logged if "[warning" in line]
    if warnings:
        run.notes.append(f"{len(warnings)} warnings logged, the first: {warnings[0]}")


async def watch_recording(run: Run, url: str, pid: int, cpu0: float) -> float:
    """Poll the database from this process until the outage's outbox rows are all
    committed; notes when the first and the last became visible. Returns the server's
    CPU seconds at that moment."""
    db = Database(url)
    try:
        while time.monotonic() < run.moved_at + RECORD_TIMEOUT_S:
            async with db.reading() as session:
                n = await session.scalar(select(func.count()).select_from(NotificationEvent))
            now = time.monotonic()
            if n and math.isnan(run.first_recorded_at):
                run.first_recorded_at = now
            if n is not None and n >= run.services:
                run.recorded_at = now
                cpu = process_cpu(pid)
                run.record_cpu_s = cpu - cpu0
                return cpu
            await asyncio.sleep(RECORD_POLL_S)
    finally:
        await db.dispose()
    run.problems.append(f"the outage was not recorded within {RECORD_TIMEOUT_S:.0f} s")
    return math.nan


async def wait_for_drain(
    run: Run,
    fake: FakeTelegram,
    http: aiohttp.ClientSession,
    args: argparse.Namespace,
    pid: int,
) -> float:
    """Until every service was told and the outbox has nothing left to send (or the
    time is up), then `--quiet` seconds more. Returns the server's CPU seconds when the
    last service was told."""
    expected = run.services / min(run.configured, args.fake_limit / args.fake_window)
    deadline = run.moved_at + RECORD_TIMEOUT_S + 3 * expected
    cpu_told = math.nan
    while time.monotonic() < deadline:
        await asyncio.sleep(OUTBOX_POLL_S)
        told = {m.plain_text.split(" ", 1)[0] for m in fake.sent}
        if len(told) < run.services:
            continue
        if math.isnan(cpu_told):
            cpu_told = process_cpu(pid)
        pending = [
            (await call(http, "GET", "/notifications", params={"status": s, "limit": 1}))["items"]
            for s in ("queued", "sending")
        ]
        if not any(pending):
            break
    else:
        run.problems.append(f"not drained within {deadline - run.moved_at:.0f} s")
    await asyncio.sleep(args.quiet)
    return cpu_told


async def read_outbox(run: Run, url: str) -> None:
    """The outbox and the recorded transitions, from the database."""
    db = Database(url)
    try:
        async with db.reading() as session:
            rows = (
                await session.execute(
                    select(
                        NotificationEvent.status,
                        func.count(),
                        func.max(NotificationEvent.attempts),
                    ).group_by(NotificationEvent.status)
                )
            ).all()
            down = await session.scalar(
                select(func.count()).where(StateTransition.to_status == "down")
            )
    finally:
        await db.dispose()
    run.outbox = Counter({status: int(n) for status, n, _ in rows})
    run.max_attempts = max((int(a) for _, _, a in rows), default=0)
    run.down_transitions = int(down or 0)


def look_at_messages(run: Run, fake: FloodTelegram, keys: set[str]) -> None:
    firsts = [m.plain_text.splitlines()[0] for m in fake.sent]
    ours = Counter(line.split(" ", 1)[0] for line in firsts if line.endswith(" is DOWN"))
    run.delivered = len(fake.sent)
    run.distinct = len(set(ours) & keys)
    run.duplicates = sum(n - 1 for k, n in ours.items() if k in keys)
    run.strangers = run.delivered - sum(n for k, n in ours.items() if k in keys)
    times = sorted(m.at for m in fake.sent if m.plain_text.split(" ", 1)[0] in keys)
    run.drained_after_recorded = sum(t >= run.recorded_at for t in times)
    if times:
        run.first_at, run.last_at = times[0], times[-1]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        run.longest_gap = max(gaps, default=0.0)
    run.floods = len(fake.floods)
    # After a 429 answered at t with retry_after r, no sendMessage to the chat before t + r.
    # (Each call's time is taken as its answer leaves, so the next call's is after its
    # arrival, and a dispatcher that waited r from the 429's arrival passes.)
    sends = fake.calls_of("sendMessage")
    refused = [c.at for c in sends if c.status == 429]
    waits = []
    for at, (_, retry_after) in zip(refused, fake.floods, strict=True):
        later = [c.at for c in sends if c.at > at]
        if later:
            waits.append(later[0] - at - retry_after)
            run.early_sends += sum(1 for s in later if s < at + retry_after - HONOUR_TOLERANCE_S)
    run.tightest_wait = min(waits, default=math.nan)


def judge(run: Run) -> None:
    n = run.services
    if run.distinct != n:
        run.problems.append(f"LOSS: {n - run.distinct} of {n} services never told")
    if run.duplicates:
        run.problems.append(f"{run.duplicates} duplicate messages")
    if run.strangers:
        run.problems.append(f"{run.strangers} messages about something else")
    if run.down_transitions != n:
        run.problems.append(f"{run.down_transitions} down transitions recorded, expected {n}")
    if run.outbox.get("sent", 0) != n or set(run.outbox) - {"sent"}:
        run.problems.append(f"outbox not all sent: {dict(run.outbox)}")
    if run.api_unsettled:
        run.problems.append(f"GET /notifications lists {run.api_unsettled} unsettled events")
    if run.early_sends:
        run.problems.append(f"{run.early_sends} sendMessage calls inside a retry_after")
    if run.exit_code != 0:
        run.problems.append(f"server exit code {run.exit_code} (expected 0)")


# --- report ----------------------------------------------------------------------------


def describe_machine() -> str:
    libs = ("uvicorn", "fastapi", "sqlalchemy", "aiosqlite", "asyncpg", "aiohttp")
    return (
        f"python {platform.python_version()}, cpu_count={os.cpu_count()} "
        f"(usable {len(os.sched_getaffinity(0))}), load average {os.getloadavg()[0]:.2f}; "
        + ", ".join(f"{lib} {version(lib)}" for lib in libs)
    )


HEADER = [
    "target",
    "set/s",
    "first recorded s",
    "all recorded s",
    "first msg s",
    "last msg s",
    "drain s",
    "achieved/s",
    "x set",
    "longest gap s",
    "delivered",
    "distinct",
    "dups",
    "429s",
    "max attempts",
    "outbox",
    "record CPU s",
    "drain CPU ms/msg",
    "idle cores",
    "other cores",
    "verdict",
]
OUTBOX_COLUMN = HEADER.index("outbox")


def row_of(runs: Sequence[Run]) -> list[str]:
    """Medians over rounds of one (target, rate); counts are the worst round's."""

    def med(get: Callable[[Run], float]) -> float:
        return float(statistics.median(get(r) for r in runs))

    first = runs[0]
    outboxes = {", ".join(f"{k} {v}" for k, v in sorted(r.outbox.items())) for r in runs}
    passed = sum(r.ok for r in runs)
    return [
        first.target,
        f"{first.configured:g}",
        f"{med(lambda r: r.first_recorded_at - r.moved_at):.2f}",
        f"{med(lambda r: r.recorded_at - r.moved_at):.2f}",
        f"{med(lambda r: r.first_at - r.moved_at):.2f}",
        f"{med(lambda r: r.last_at - r.moved_at):.1f}",
        f"{med(lambda r: r.drain_s):.1f}",
        f"{med(lambda r: r.achieved):.2f}",
        f"{med(lambda r: r.achieved / r.configured):.2f}",
        f"{med(lambda r: r.longest_gap):.2f}",
        f"{min(r.delivered for r in runs):,}",
        f"{min(r.distinct for r in runs):,}",
        f"{max(r.duplicates for r in runs)}",
        f"{med(lambda r: r.floods):.0f}",
        f"{max(r.max_attempts for r in runs)}",
        " / ".join(sorted(outboxes)),
        f"{med(lambda r: r.record_cpu_s):.2f}",
        f"{med(lambda r: 1000 * r.drain_cpu_s / max(r.drained_after_recorded, 1)):.2f}",
        f"{med(lambda r: r.idle_cores):.2f}",
        f"{med(lambda r: r.other_cores):.2f}",
        f"PASS {passed}/{len(runs)}" if passed == len(runs) else f"FAIL {passed}/{len(runs)}",
    ]


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i in (0, OUTBOX_COLUMN) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(HEADER))
    print(
        "|"
        + "|".join(
            ("-" * (w + 1)) + ("-" if i in (0, OUTBOX_COLUMN) else ":")
            for i, w in enumerate(widths)
        )
        + "|"
    )
    for row in rows:
        print(line(row))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Notification outbox drain benchmark (see the module docstring)."
    )
    parser.add_argument("--services", type=int, default=1000, help="services that go down")
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=[1200.0, 3600.0],
        help="the channel's rate_per_minute, one run each",
    )
    parser.add_argument(
        "--fake-limit", type=int, default=30, help="the fake's per-chat flood limit (messages)"
    )
    parser.add_argument(
        "--fake-window", type=float, default=1.0, help="... within this many seconds"
    )
    parser.add_argument(
        "--targets", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"]
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat every run; report medians")
    parser.add_argument(
        "--quiet", type=float, default=3.0, help="seconds to keep listening after the drain"
    )
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a database of the local PostgreSQL to create and drop the throwaway one from",
    )
    args = parser.parse_args(argv)
    if args.services < 1 or args.rounds < 1 or args.fake_limit < 1 or args.fake_window <= 0:
        parser.error("need --services, --rounds, --fake-limit >= 1 and --fake-window > 0")
    if any(r <= 0 for r in args.rates):
        parser.error("rates must be > 0")
    return args


async def main(args: argparse.Namespace) -> int:
    print(describe_machine())
    print(heartwatch_source())
    print(
        f"{args.services:,} heartbeat services (period {PERIOD_S} s), clock moved "
        f"{OUTAGE_JUMP_S} s; fake Bot API in this process, flood limit {args.fake_limit} "
        f"messages per {args.fake_window:g} s to one chat; channel wants `down` only; "
        f"{args.rounds} round(s)",
        flush=True,
    )
    runs: dict[tuple[str, float], list[Run]] = {}
    for round_no in range(1, args.rounds + 1):
        for target in args.targets:
            for rate in args.rates:
                run = await bench_run(target, rate, args)
                runs.setdefault((target, rate), []).append(run)
                print(
                    f"[{round_no}/{args.rounds}] {target:<10} {run.configured:5g}/s set: "
                    f"recorded {run.first_recorded_at - run.moved_at:5.2f}.."
                    f"{run.recorded_at - run.moved_at:5.2f} s, first message "
                    f"{run.first_at - run.moved_at:5.2f} s, drain {run.drain_s:6.1f} s, "
                    f"{run.achieved:6.2f}/s achieved, "
                    f"{run.delivered} delivered, {run.distinct} distinct, "
                    f"{run.duplicates} dups, {run.floods} 429s (tightest wait "
                    f"{run.tightest_wait:+.3f} s past retry_after), outbox {dict(run.outbox)}, "
                    f"{'PASS' if run.ok else 'FAIL'}",
                    flush=True,
                )
                for line in run.problems + run.notes:
                    print(f"    {line}")
    print()
    print_table([row_of(r) for r in runs.values()])
    failed = [f"{t} {r:g}/min" for (t, r), rs in runs.items() if not all(x.ok for x in rs)]
    print()
    print("no loss, no duplicate, all sent, 429s honoured, clean exit:", end=" ")
    print(f"FAIL ({', '.join(failed)})" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sys.exit(runner.run(main(parse_args())))
