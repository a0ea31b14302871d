"""Fill a heartwatch database with 90 days of realistic monitoring history, fast.

For bench/api_latency.py, and for anyone who wants a big database to look at. The
history ends at "now" (the real clock) and is consistent the way heartwatch itself
would have written it:

- 1,000 services (by default): 900 heartbeat services (periods from 5 minutes to a day,
  most declared, some learned) and 100 http probe services checked every 60 s. 90% were
  registered a little over 90 days ago, the rest at random moments since.
- Their status history (`state_transitions`), played out with the domain rules: a few
  outages a month each (missed heartbeats: silent, then down; fail signals; failed
  checks), 5% flappy services with one or two outages a day, a few maintenance pauses.
  Heartbeat steps are stamped by `domain.heartbeat.schedule`, probe changes at the check
  that saw them, as heartwatch stamps them.
- Today: most services alive; about 2% down (an outage still going), one dead for
  weeks, a few silent (long periods only), paused or never heard from.
- The incidents those transitions imply: one per transition into down (or dead),
  closed by the next transition to alive; exactly one open for each service down now.
- Hourly `uptime_rollups` for every service and hour up to the watermark `rollups.through`
  (the last complete hour, as the worker leaves it), the seconds per status computed
  with `domain.uptime.time_in_status_by_hour` over the same transitions, so they are
  what the rollup job would have written.
- Daily `latency_days` (the hours' latency histograms summed per UTC day), written by
  the worker's own `rollups.roll_up_days` from those hourly rows.
- 7 days of raw `check_results` of the probe services (one a minute, ~1M rows); older
  ones were "pruned", so those hours' check counts and latency histograms exist only in
  the rollups, as in a deployment with a short retention. Raw heartbeats are not
  generated (none of the benchmarked endpoints reads them; their counts per hour are in
  the rollups).

Rows are written in the order heartwatch writes them (rollups hour by hour across all
services, check results in time order across services), so the tables' physical layout
is that of a real deployment, not one clustered by service. Bulk paths: plain sqlite3
`executemany` on SQLite and binary `COPY` on PostgreSQL for the two big tables,
SQLAlchemy Core `executemany` for the rest. Afterwards PostgreSQL gets `VACUUM ANALYZE`
(what autovacuum does to a live database); SQLite gets nothing, as heartwatch never runs
`ANALYZE` on it.

`--verify` then checks the result against heartwatch's own code: `compute_rollups` on
sampled services and hours equals the stored rollups, `uptime.status_times` (rollups)
equals the raw computation over 90 days, no heartbeat service has a deadline already
past, and the open incidents are exactly the services down now.

    python bench/gen_history.py sqlite+aiosqlite:////tmp/hw.db --verify
    python bench/gen_history.py postgresql+asyncpg://postgres@127.0.0.1:5432/hw_bench_x

The database must exist (for PostgreSQL) and be empty; the migrations are applied first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from heartwatch.domain import latency
from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    advance,
    next_deadline,
    schedule,
)
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import (
    DOWN,
    HOUR,
    Change,
    floor_hour,
    time_in_status,
    time_in_status_by_hour,
)
from heartwatch.services import rollups, uptime
from heartwatch.services.lifecycle import state_of
from heartwatch.store import app_state, history
from heartwatch.store import probes as probe_store
from heartwatch.store.database import Database
from heartwatch.store.migrate import upgrade
from heartwatch.store.models import (
    AppState,
    Incident,
    SchedulerState,
    Service,
    StateTransition,
    UptimeRollup,
)
from heartwatch.store.tables import core_table

RULES = HeartbeatRules()  # the server's defaults
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
HOUR_US = 3_600_000_000
DAY = timedelta(days=1)

# Declared heartbeat periods (s) and their weights: cron jobs every 5 min to daily.
# Nothing shorter than 5 minutes, so that a service alive at generation time does not
# go silent during a benchmark run of a few minutes (nobody sends it heartbeats).
PERIODS = ((300, 30), (600, 15), (900, 15), (1800, 10), (3600, 20), (86400, 10))
PROBE_INTERVAL_S = 60
PROBE_STEP = timedelta(seconds=PROBE_INTERVAL_S)
PROBE_TIMEOUT_MS = 10_000
MONTH_S = 30 * 86400.0

ROLLUP_COLUMNS = (
    "service_id",
    "hour",
    "alive_s",
    "silent_s",
    "down_s",
    "dead_s",
    "unknown_s",
    "paused_s",
    "checks",
    "failures",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_histogram",
)
# The columns heartwatch itself writes for a check result (one list, not a copy).
CHECK_COLUMNS = probe_store.NewCheckResult._fields
STATUS_ORDER = (
    Status.ALIVE,
    Status.SILENT,
    Status.DOWN,
    Status.DEAD,
    Status.UNKNOWN,
    Status.PAUSED,
)


def to_us(at: datetime) -> int:
    return (at - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def grid_count(first: int, step: int, last: int, a: int, b: int) -> int:
    """How many of first, first+step, ... (up to `last`) lie in [a, b)."""
    lo = max(0, ceil_div(a - first, step))
    hi = min((last - first) // step, ceil_div(b - first, step) - 1)
    return max(0, hi - lo + 1)


class Ids:
    """UUIDv7s stamped with each row's own time, as `heartwatch.ids.new_id` would have
    made them then; a counter in the random bits keeps ids of one millisecond in the
    order they were made (ties between transitions are broken by id)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def at(self, when: datetime) -> uuid.UUID:
        return uuid.UUID(int=self.int_at(to_us(when)))

    def int_at(self, us: int) -> int:
        self.n += 1
        value = ((us // 1000) & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62
        return value | (self.n & ((1 << 30) - 1)) << 32 | self.rng.getrandbits(32)


# --- one service's history -------------------------------------------------------------


@dataclass
class Timeline:
    """A service's transitions and the incidents they imply, appended in time order."""

    service_id: uuid.UUID
    ids: Ids
    status: Status = Status.UNKNOWN
    since: datetime | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    open: dict[str, Any] | None = None

    def to(
        self,
        status: Status,
        at: datetime,
        reason: str,
        *,
        detected: datetime | None = None,
        failed: int = 1,
        error: str | None = None,
        failed_while_open: int = 0,
    ) -> None:
        if status is self.status:
            return
        assert self.since is None or at >= self.since, (self.service_id, at, self.since)
        tid = self.ids.at(at)
        self.transitions.append(
            {
                "id": tid,
                "service_id": self.service_id,
                "from_status": self.status,
                "to_status": status,
                "at": at,
                "detected_at": detected or at,
                "reason": reason,
                "alert_sent": True,
            }
        )
        if status in DOWN and self.open is None:
            self.open = {
                "id": self.ids.at(at),
                "service_id": self.service_id,
                "started_at": at,
                "recovered_at": None,
                "resolved": False,
                "checks_failed_count": failed,
                "last_error": error or reason,
                "opened_by": tid,
                "closed_by": None,
            }
            self.incidents.append(self.open)
        elif status is Status.ALIVE and self.open is not None:
            self.open.update(
                recovered_at=at,
                resolved=True,
                closed_by=tid,
                checks_failed_count=self.open["checks_failed_count"] + failed_while_open,
            )
            self.open = None
        self.status, self.since = status, at

    @property
    def changes(self) -> list[Change]:
        return [Change(t["at"], t["to_status"]) for t in self.transitions]


@dataclass
class Plan:
    """One service: its row, its history, and what it did hour by hour."""

    index: int
    id: uuid.UUID
    key: str
    probe: bool
    created: datetime
    period_s: int
    fate: str
    flappy: bool
    row: dict[str, Any] = field(default_factory=dict)
    timeline: Timeline | None = None
    # Heartbeats: stretches of beats (first, last) on the period's grid, and windows
    # [from, to) in which those beats were fail signals. Probes: the check grid (first
    # slot, last slot) and the failing windows of slots. All in epoch microseconds.
    stretches: list[tuple[int, int]] = field(default_factory=list)
    fails: list[tuple[int, int]] = field(default_factory=list)
    # Probes: check timings fixed while planning (boundaries of outages, the last check),
    # slot index -> (drift us, latency us or None for a timeout, up, error kind).
    fixed: dict[int, tuple[int, int | None, bool]] = field(default_factory=dict)
    probe_g0: datetime | None = None
    probe_last_k: int = -1
    latency_pool: list[int] = field(default_factory=list)
    drift_pool: list[int] = field(default_factory=list)
    next_run_at: datetime | None = None


def _weighted(rng: random.Random, choices: Sequence[tuple[int, int]]) -> int:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _last_beat(first: datetime, step: timedelta, before: datetime) -> datetime:
    """The last beat of a grid starting at `first` at or before `before`."""
    return first + step * max(0, (before - first) // step)


def _steps(last: datetime, period: float, *, failed_at: datetime | None = None) -> list[Any]:
    """What the rules say happens after the last heartbeat (or a fail signal)."""
    state = HeartbeatState(
        status=Status.ALIVE,
        status_since=last,
        last_heartbeat_at=last,
        failed_at=failed_at,
        declared_period=period,
    )
    return schedule(state, RULES)[1:] if failed_at is None else schedule(state, RULES)


def _tick(rng: random.Random, at: datetime) -> datetime:
    """When the worker (ticking every 10 s) noticed a deadline that passed at `at`."""
    return at + timedelta(microseconds=rng.randrange(10_000_000))


def plan_heartbeat(p: Plan, rng: random.Random, now: datetime, ids: Ids) -> None:
    P = float(p.period_s)
    step = timedelta(seconds=P)
    tl = p.timeline = Timeline(p.id, ids)
    learned = rng.random() < 0.2
    gaps = _gaps(rng, P) if learned else []
    row = p.row
    row.update(expected_period_sec=None if learned else P, recent_gaps=gaps)
    if p.fate == "unknown":  # registered ahead of its first heartbeat, never heard from
        row.update(status=Status.UNKNOWN, status_since=p.created, heartbeat_count=0)
        row.update(last_heartbeat_at=None, failed_at=None, next_deadline_at=None)
        return

    # When today's episode began: the last outage (still going), the pause, ...
    x = {
        "alive": timedelta(0),
        "silent": step * rng.uniform(2.05, 2.9),  # E stays in (2P, 4P)
        "down": step * 4 + timedelta(minutes=rng.uniform(10, 36 * 60)),
        "failing": timedelta(minutes=rng.uniform(20, 3 * 60)),
        "dead": timedelta(days=rng.uniform(9, 40)),
        "paused": timedelta(hours=rng.uniform(2, 24 * 6)),
    }[p.fate]
    episode = now - x
    first = p.created + timedelta(seconds=rng.uniform(1, min(P, 900)))
    if episode <= first + step * 8:  # (young services: today's episode is all there is)
        episode = first + step * 8
    tl.to(Status.ALIVE, first, "heartbeat received")
    stretch = first
    rate = (1.5 / 86400 if p.flappy else rng.uniform(1.5, 4.5) / MONTH_S) * min(1, 3600 / P)
    kinds = (
        (("fail", 70), ("silent", 20), ("down", 10))
        if P >= 21600
        else (("silent", 25), ("down", 55), ("fail", 15), ("pause", 0 if p.flappy else 5))
    )
    t = first
    count = 1
    while True:
        t += timedelta(seconds=rng.expovariate(rate))
        if t >= episode:
            break
        kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        last = _last_beat(stretch, step, t)
        if kind == "pause":  # maintenance: heartbeats go on, nothing is judged
            end = t + timedelta(hours=rng.uniform(0.5, 6))
            if end >= episode:
                break
            tl.to(Status.PAUSED, t, "paused")
            tl.to(Status.ALIVE, end, "resumed")
            t = end
            continue
        if kind == "fail":
            fail_from = last + step
            m = max(1, round(rng.expovariate(1 / 3)))
            recovered = fail_from + step * m
            if recovered >= episode:
                break
            for s in _steps(last, P, failed_at=fail_from):
                if s.at < recovered:
                    tl.to(s.status, s.at, s.reason, failed=1, error="job failed: exit status 1")
            tl.to(Status.ALIVE, recovered, "heartbeat received", failed_while_open=m)
            p.fails.append((to_us(fail_from), to_us(recovered)))
            t = recovered
            continue
        if kind == "silent":
            m = rng.choice((3, 4))
        else:
            extra = rng.expovariate(1 / (600 if p.flappy else max(1800, 2 * P)))
            m = max(5, math.ceil((4 * P + extra) / P))
        recovered = last + step * m
        if recovered >= episode:
            break
        down_at = None
        for s in _steps(last, P):
            if s.at < recovered:
                tl.to(s.status, s.at, s.reason, detected=_tick(rng, s.at), failed=4)
                down_at = s.at if s.status is Status.DOWN else down_at
        missed = 0 if down_at is None else math.floor((recovered - down_at) / step)
        tl.to(Status.ALIVE, recovered, "heartbeat received", failed_while_open=missed)
        p.stretches.append((to_us(stretch), to_us(last)))
        count += (last - stretch) // step
        stretch = t = recovered

    # Today.
    failed_at: datetime | None = None
    if p.fate in ("alive", "paused"):
        end = now if p.fate == "alive" else episode
        last = _last_beat(stretch, step, end)
        if p.fate == "paused":
            tl.to(Status.PAUSED, episode, "paused")
    elif p.fate == "failing":
        last = _last_beat(stretch, step, episode)
        failed_at = last + step
        p.fails.append((to_us(failed_at), to_us(now) + 1))
        for s in _steps(last, P, failed_at=failed_at):
            if s.at <= now:
                tl.to(s.status, s.at, s.reason, error="job failed: exit status 1")
        fails_sent = (now - failed_at) // step + 1
        count += fails_sent
    else:  # silent, down, dead: the heartbeats stopped
        last = _last_beat(stretch, step, episode)
        for s in _steps(last, P):
            if s.at <= now:
                tl.to(s.status, s.at, s.reason, detected=_tick(rng, s.at), failed=4)
    p.stretches.append((to_us(stretch), to_us(last)))
    count += (last - stretch) // step
    if failed_at is not None:  # the fail signals go on, on the same grid
        p.stretches[-1] = (to_us(stretch), to_us(_last_beat(stretch, step, now)))

    assert tl.since is not None
    state = HeartbeatState(
        status=tl.status,
        status_since=tl.since,
        last_heartbeat_at=last,
        failed_at=failed_at,
        declared_period=row["expected_period_sec"],
        recent_gaps=tuple(gaps),
        heartbeat_count=count,
    )
    _, pending = advance(state, now, RULES)
    assert not pending, (p.key, p.fate, pending)
    row.update(
        status=state.status,
        status_since=state.status_since,
        last_heartbeat_at=last,
        failed_at=failed_at,
        heartbeat_count=count,
        next_deadline_at=next_deadline(state, RULES, now),
        updated_at=p.created,
    )


def _gaps(rng: random.Random, period: float) -> list[float]:
    """20 recent gaps around the period whose median is exactly the period."""
    spread = [rng.uniform(0.001, 0.03) * period for _ in range(10)]
    return [period + s for s in spread] + [period - s for s in spread]


def _check_timing(rng: random.Random, p: Plan, up: bool) -> tuple[int, int | None, bool]:
    """(drift us, latency us or None for a timeout, up) of one check."""
    drift = p.drift_pool[rng.getrandbits(9)]
    if up:
        return drift, p.latency_pool[rng.getrandbits(11)], True
    if rng.random() < 0.3:
        return drift, None, False  # timed out
    return drift, rng.randrange(2000, 30000), False


def _pools(rng: random.Random, p: Plan) -> None:
    """Latencies (lognormal around the service's own, 1% slow spikes) and start drifts
    to draw checks from: cheaper than a lognormal draw per check, as realistic."""
    base = rng.uniform(15, 250)
    spike = [rng.uniform(3, 10) if rng.random() < 0.01 else 1.0 for _ in range(2048)]
    p.latency_pool = [int(base * rng.lognormvariate(0, 0.35) * x * 1000) + 1 for x in spike]
    p.drift_pool = [int(rng.expovariate(1 / 3000)) for _ in range(512)]


def _check_error(lat_us: int | None) -> tuple[str, str, int | None]:
    if lat_us is None:
        return f"timeout after {PROBE_TIMEOUT_MS} ms", "timeout", None
    return "status 503 not in 200-399", "status", 503


def plan_probe(p: Plan, rng: random.Random, now: datetime, ids: Ids, live_url: str | None) -> None:
    tl = p.timeline = Timeline(p.id, ids)
    _pools(rng, p)
    g0 = p.probe_g0 = p.created + timedelta(microseconds=rng.randrange(60_000_000))
    end = now - timedelta(seconds=15)  # the last slot whose check has surely finished
    if p.fate == "paused":
        end = now - timedelta(hours=rng.uniform(2, 24 * 6))
    last_k = p.probe_last_k = (end - g0) // PROBE_STEP

    def slot_at(k: int, up: bool) -> datetime:
        if k not in p.fixed:
            p.fixed[k] = _check_timing(rng, p, up)
        drift, lat, _ = p.fixed[k]
        started = g0 + PROBE_STEP * k + timedelta(microseconds=drift)
        return started + timedelta(microseconds=PROBE_TIMEOUT_MS * 1000 if lat is None else lat)

    def error_at(k: int) -> str:
        return _check_error(p.fixed[k][1])[0]

    tl.to(Status.ALIVE, slot_at(0, True), "1 successful check")
    episode = last_k - int(rng.uniform(20, 36 * 60)) if p.fate == "down" else last_k
    # Outages per slot: flappy ones 8 a day, the others a few a month.
    rate = 8 / 1440 if p.flappy else rng.uniform(1.5, 4.5) / 43200
    k = 0
    streak_from = 0
    while True:
        k += 1 + int(rng.expovariate(rate))
        n = 1 + int(rng.expovariate(1 / (1.5 if p.flappy else 25)))
        if k + n >= episode:
            break
        first = slot_at(k, False)
        tl.to(Status.DOWN, first, f"1 failed check: {error_at(k)}", error=error_at(k))
        tl.to(Status.ALIVE, slot_at(k + n, True), "1 successful check", failed_while_open=n - 1)
        p.fails.append((k, k + n))
        streak_from = k = k + n
    up_now = True
    if p.fate == "down":
        first = slot_at(episode, False)
        tl.to(Status.DOWN, first, f"1 failed check: {error_at(episode)}", error=error_at(episode))
        p.fails.append((episode, last_k + 1))
        streak_from, up_now = episode, False
    last_at = slot_at(last_k, up_now)
    if p.fate == "paused":
        tl.to(Status.PAUSED, max(end, last_at + timedelta(seconds=1)), "paused")
    _, last_lat, _ = p.fixed[last_k]
    assert tl.since is not None
    paused = p.fate == "paused"
    p.row.update(
        status=tl.status,
        status_since=tl.since,
        streak_up=None if paused else up_now,
        streak_count=0 if paused else last_k - streak_from + 1,
        streak_since=None if paused else slot_at(streak_from, up_now),
        last_check_at=last_at,
        last_latency_ms=None if last_lat is None else last_lat / 1000,
        last_error=None if up_now else _check_error(last_lat)[0],
        next_deadline_at=None,
        updated_at=p.created,
    )
    p.stretches = [(to_us(g0), to_us(g0 + PROBE_STEP * last_k))]
    # Parked (default): no check is due for ten years, so the worker probes nothing and
    # the history stays as generated. Live: the next slot on the grid, against a local
    # target that answers 200.
    next_k = (now - g0) // PROBE_STEP + 1
    p.next_run_at = g0 + PROBE_STEP * next_k if live_url else now + timedelta(days=3650)


def make_plans(
    n: int, probes: int, days: int, seed: int, now: datetime, live_url: str | None = None
) -> list[Plan]:
    rng = random.Random(seed)
    ids = Ids(random.Random(seed + 1))
    start = now - timedelta(days=days)
    heartbeat_fates = ["alive"] * (n - probes)
    probe_fates = ["alive"] * probes
    # Today's exceptions (the rest are alive): ~2% down, one dead, a few silent (long
    # periods only, see PERIODS), failing, paused, never heard from.
    special = iter(
        ["down"] * max(1, (n - probes) // 50)
        + ["failing"] * 3
        + ["dead"]
        + ["paused"] * 5
        + ["unknown"] * 3
    )
    for i, fate in zip(rng.sample(range(n - probes), n - probes), special, strict=False):
        heartbeat_fates[i] = fate
    for i, fate in zip(rng.sample(range(probes), probes), ["down", "down", "paused"], strict=False):
        probe_fates[i] = fate
    plans = []
    for i in range(n):
        probe = i >= n - probes
        fate = probe_fates[i - (n - probes)] if probe else heartbeat_fates[i]
        if rng.random() < 0.9 and fate != "unknown":
            created = start - timedelta(seconds=rng.uniform(3600, 2 * 86400))
        else:
            created = start + timedelta(seconds=rng.uniform(0, (days - 2) * 86400))
        if fate == "unknown":
            created = now - timedelta(days=rng.uniform(0.5, 5))
        period = PROBE_INTERVAL_S if probe else _weighted(rng, PERIODS)
        if fate == "silent" and period < 3600:
            period = 3600  # (a short period would go down while the benchmark runs)
        key = f"probe-{i:04d}" if probe else f"job-{i:04d}"
        p = Plan(
            index=i,
            id=ids.at(created),
            key=key,
            probe=probe,
            created=created,
            period_s=period,
            fate=fate,
            flappy=fate == "alive" and rng.random() < 0.05,
        )
        p.row = _service_row(p, rng, live_url)
        srng = random.Random(f"{seed}-{i}")
        if probe:
            plan_probe(p, srng, now, ids, live_url)
        else:
            plan_heartbeat(p, srng, now, ids)
        plans.append(p)
    return plans


TEAMS = ("payments", "search", "platform", "data", "growth", "infra", "mobile", "ops")


def _service_row(p: Plan, rng: random.Random, live_url: str | None) -> dict[str, Any]:
    team = rng.choice(TEAMS)
    row: dict[str, Any] = {
        "id": p.id,
        "key": p.key,
        "name": f"{team} {p.key}",
        "description": f"{'HTTP health check' if p.probe else 'Scheduled job'} owned by {team}",
        "type": "http" if p.probe else "heartbeat",
        "created_at": p.created,
        "updated_at": p.created,
        "recent_gaps": [],
        "heartbeat_count": 0,
        "last_start_at": None,
        "criticality": rng.choice(("low", "medium", "medium", "high", "critical")),
        "tags": [team, rng.choice(("prod", "prod", "staging"))],
        "sla_target": rng.choice((None, None, 99.0, 99.5, 99.9)),
        "endpoint": None,
        "check_interval_sec": None,
        "timeout_ms": None,
        "retry_count": 0,
        "retry_backoff_ms": 0,
        "failure_threshold": 1,
        "success_threshold": 1,
        "check_settings": {},
        "streak_up": None,
        "streak_count": 0,
        "streak_since": None,
        "last_check_at": None,
        "last_latency_ms": None,
        "last_error": None,
        "rollup_dirty_from": None,
        "expected_period_sec": None,
        "last_heartbeat_at": None,
        "failed_at": None,
    }
    if p.probe:
        endpoint = f"{live_url}/health/{p.index}" if live_url else None
        row.update(
            endpoint=endpoint or f"https://{p.key}.{team}.example.internal/healthz",
            check_interval_sec=float(PROBE_INTERVAL_S),
            timeout_ms=PROBE_TIMEOUT_MS,
        )
    return row


# --- hour by hour ----------------------------------------------------------------------

FULL_HOUR = {s: tuple(3600.0 if o is s else 0.0 for o in STATUS_ORDER) for s in Status}


def hour_times(p: Plan, first: datetime, n: int) -> list[tuple[float, ...]]:
    """Seconds per status (in STATUS_ORDER) for the `n` hours from `first`, as the
    rollup job computes them: `time_in_status_by_hour` for every hour with a change in
    it; an hour without one is spent whole in the status in force (what that function
    gives for it too, without building a StatusTimes for each of two million hours)."""
    assert p.timeline is not None
    changes = p.timeline.changes
    out: list[tuple[float, ...]] = []
    status, i = Status.UNKNOWN, 0
    end = first + HOUR * n
    h = first
    while h < end:
        while i < len(changes) and changes[i].at <= h:
            status, i = changes[i].to, i + 1
        if i < len(changes) and changes[i].at < h + HOUR:
            j = i
            while j < len(changes) and changes[j].at < h + HOUR:
                j += 1
            st = time_in_status_by_hour(status, changes[i:j], h, h + HOUR)[h].seconds
            out.append(tuple(st[s] for s in STATUS_ORDER))
            h += HOUR
            continue
        upto = min(end, floor_hour(changes[i].at) if i < len(changes) else end)
        out.extend([FULL_HOUR[status]] * ((upto - h) // HOUR))
        h = upto
    return out


def add_grid(counts: list[int], base: int, first: int, last: int, step: int) -> None:
    """Add to counts[i] (the hour `base` + i hours) how many of first, first + step, ...
    (up to `last`) lie in it."""
    if last < first:
        return
    lo = max(0, (first - base) // HOUR_US)
    hi = min(len(counts) - 1, (last - base) // HOUR_US)
    kmax = (last - first) // step
    for i in range(lo, hi + 1):
        a = base + i * HOUR_US
        k0 = -((first - a) // step) if a > first else 0
        k1 = min(kmax, -((first - a - HOUR_US) // step) - 1)
        if k1 >= k0:
            counts[i] += k1 - k0 + 1


def activity(p: Plan, base: int, n: int) -> tuple[list[int], list[int]]:
    """Checks (heartbeats or check results) and failures per hour, from the grids: what
    the rollups keep of hours whose raw rows are gone."""
    checks, failures = [0] * n, [0] * n
    step = p.period_s * 1_000_000
    for first, last in p.stretches:
        add_grid(checks, base, first, last, step)
    windows = p.fails
    if p.probe:
        assert p.probe_g0 is not None
        g0 = to_us(p.probe_g0)
        windows = [(g0 + a * step, g0 + b * step) for a, b in p.fails]
    for f0, f1 in windows:
        add_grid(failures, base, f0, f1 - 1, step)
    return checks, failures


@dataclass
class LatencyHour:
    p50: float | None
    p95: float | None
    p99: float | None
    histogram: str


def latency_hour(values: list[float]) -> LatencyHour:
    if not values:
        return NO_LATENCY
    ordered = sorted(values)
    return LatencyHour(
        latency.percentile(ordered, 50),
        latency.percentile(ordered, 95),
        latency.percentile(ordered, 99),
        json.dumps(latency.histogram(ordered)),
    )


NO_LATENCY = LatencyHour(None, None, None, "{}")


class OldLatencies:
    """Latency percentiles and histograms of a probe's hours whose raw results are gone:
    a dozen hours' worth drawn once and reused for full healthy hours."""

    def __init__(self, p: Plan, seed: int) -> None:
        self.p = p
        self.rng = random.Random(f"{seed}-old-{p.index}")
        self.templates = [latency_hour(self._draw(60)) for _ in range(12)]

    def _draw(self, n: int) -> list[float]:
        pool = self.p.latency_pool
        return [pool[self.rng.getrandbits(11)] / 1000 for _ in range(n)]

    def hour(self, checks: int, failures: int) -> LatencyHour:
        if checks == 60 and failures == 0:
            return self.rng.choice(self.templates)
        return latency_hour(self._draw(checks - failures))


class RawChecks:
    """A probe's raw check results from slot `k` on, as rows for the sink, an hour at a
    time (by when they finished, as `checked_at` is what hours are counted by)."""

    def __init__(self, p: Plan, k: int, seed: int, sink: Sink, ids: Ids) -> None:
        assert p.probe_g0 is not None
        self.p = p
        self.k = k
        self.rng = random.Random(f"{seed}-checks-{p.index}")
        self.sink = sink
        self.ids = ids
        self.sid = sink.sid(p.id)
        self.g0 = to_us(p.probe_g0)
        self.step = p.period_s * 1_000_000
        self.fi = 0
        self.pending: tuple[bool, int, int | None, int, int, int] | None = None

    def _failing(self, k: int) -> bool:
        fails = self.p.fails
        while self.fi < len(fails) and fails[self.fi][1] <= k:
            self.fi += 1
        return self.fi < len(fails) and fails[self.fi][0] <= k

    def until(self, end: int) -> tuple[list[tuple[int, tuple[Any, ...]]], int, list[float]]:
        """(finished, row) of the checks finished before `end` not handed out yet, how
        many failed, and the latencies (ms) of those that have one."""
        p, row_of = self.p, self.sink.check_row
        out: list[tuple[int, tuple[Any, ...]]] = []
        failed = 0
        ms: list[float] = []
        while self.k <= p.probe_last_k:
            if self.pending is None:
                k = self.k
                up = not self._failing(k)
                drift, lat, _ = p.fixed.get(k) or _check_timing(self.rng, p, up)
                scheduled = self.g0 + k * self.step
                started = scheduled + drift
                finished = started + (PROBE_TIMEOUT_MS * 1000 if lat is None else lat)
                self.pending = (up, drift, lat, scheduled, started, finished)
            up, _, lat, scheduled, started, finished = self.pending
            if finished >= end:
                break
            lat_ms = None if lat is None else lat / 1000
            status: int | None = 200
            error: str | None = None
            assertion: str | None = None
            detail: str | None = '{"status": "ok"}'
            if not up:
                (error, assertion, status), detail = _check_error(lat), None
                failed += 1
            if lat_ms is not None:
                ms.append(lat_ms)
            row = row_of(
                self.ids.int_at(finished),
                self.sid,
                up,
                lat_ms,
                status,
                error,
                assertion,
                detail,
                scheduled,
                started,
                finished,
            )
            out.append((finished, row))
            self.pending = None
            self.k += 1
        return out, failed, ms


# --- writing ---------------------------------------------------------------------------


class Sink:
    """Where the big tables' rows go, in the backend's own types: plain sqlite3
    `executemany`, or asyncpg's binary COPY."""

    def sid(self, sid: uuid.UUID) -> Any:
        raise NotImplementedError

    def hour(self, at: datetime) -> Any:
        raise NotImplementedError

    def check_row(
        self,
        rid: int,
        sid: Any,
        up: bool,
        lat_ms: float | None,
        status: int | None,
        error: str | None,
        assertion: str | None,
        detail: str | None,
        scheduled: int,
        started: int,
        finished: int,
    ) -> tuple[Any, ...]:
        raise NotImplementedError

    async def rollups(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    async def checks(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        raise NotImplementedError


class SqliteTimes:
    """Epoch microseconds as UTCDateTime stores them on SQLite (naive UTC text, always
    with microseconds), fast: the date-to-minute prefix is made once per minute."""

    def __init__(self) -> None:
        self.prefix: dict[int, str] = {}

    def __call__(self, us: int) -> str:
        minute, rest = divmod(us, 60_000_000)
        prefix = self.prefix.get(minute)
        if prefix is None:
            at = from_us(minute * 60_000_000).replace(tzinfo=None)
            prefix = self.prefix[minute] = at.isoformat(" ")[:17]
        second, micro = divmod(rest, 1_000_000)
        return f"{prefix}{second:02d}.{micro:06d}"


class SqliteSink(Sink):
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        # A bulk load: no journal, no syncs, and a cache that holds the indexes (rows
        # arrive in time order, so index inserts land all over). The layout is the same.
        for pragma in ("journal_mode=DELETE", "journal_mode=OFF", "synchronous=OFF"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("PRAGMA cache_size=-1500000")
        self.conn.execute("BEGIN")
        self.time = SqliteTimes()

    def sid(self, sid: uuid.UUID) -> Any:
        return sid.hex

    def hour(self, at: datetime) -> Any:
        return self.time(to_us(at))

    def check_row(
        self,
        rid: int,
        sid: Any,
        up: bool,
        lat_ms: float | None,
        status: int | None,
        error: str | None,
        assertion: str | None,
        detail: str | None,
        scheduled: int,
        started: int,
        finished: int,
    ) -> tuple[Any, ...]:
        t = self.time
        return (
            f"{rid:032x}",
            sid,
            int(up),
            lat_ms,
            status,
            error,
            assertion,
            detail,
            1,
            t(scheduled),
            t(started),
            t(finished),
        )

    async def rollups(self, rows: list[tuple[Any, ...]]) -> None:
        self._insert("uptime_rollups", ROLLUP_COLUMNS, rows)

    async def checks(self, rows: list[tuple[Any, ...]]) -> None:
        self._insert("check_results", CHECK_COLUMNS, rows)

    def _insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        self.conn.executemany(sql, rows)

    async def finish(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("PRAGMA journal_mode=WAL")  # as heartwatch runs it
        self.conn.close()


class PostgresSink(Sink):
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def sid(self, sid: uuid.UUID) -> Any:
        return sid

    def hour(self, at: datetime) -> Any:
        return at

    def check_row(
        self,
        rid: int,
        sid: Any,
        up: bool,
        lat_ms: float | None,
        status: int | None,
        error: str | None,
        assertion: str | None,
        detail: str | None,
        scheduled: int,
        started: int,
        finished: int,
    ) -> tuple[Any, ...]:
        return (
            uuid.UUID(int=rid),
            sid,
            up,
            lat_ms,
            status,
            error,
            assertion,
            detail,
            1,
            from_us(scheduled),
            from_us(started),
            from_us(finished),
        )

    async def rollups(self, rows: list[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(
            "uptime_rollups", records=rows, columns=list(ROLLUP_COLUMNS)
        )

    async def checks(self, rows: list[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(
            "check_results", records=rows, columns=list(CHECK_COLUMNS)
        )

    async def finish(self) -> None:
        await self.conn.close()


async def open_sink(url: str) -> Sink:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        assert u.database
        return SqliteSink(u.database)
    import asyncpg

    dsn = u.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresSink(await asyncpg.connect(dsn))


# app_state key: when the history was generated (where it ends), for --reuse; written
# last, so a generation cut short does not look complete.
GENERATED_AT = "bench.generated_at"


async def write_small_tables(
    db: Database, plans: list[Plan], through: datetime, now: datetime
) -> None:
    services = sorted((p.row for p in plans), key=lambda r: r["created_at"])
    transitions = sorted(
        (t for p in plans if p.timeline for t in p.timeline.transitions), key=lambda t: t["at"]
    )
    incidents = sorted(
        (i for p in plans if p.timeline for i in p.timeline.incidents),
        key=lambda i: i["started_at"],
    )
    slots = [{"service_id": p.id, "next_run_at": p.next_run_at} for p in plans if p.probe]
    async with db.writing() as session:
        for model, rows in (
            (Service, services),
            (SchedulerState, slots),
            (StateTransition, transitions),
            (Incident, incidents),
        ):
            for i in range(0, len(rows), 5000):
                await session.execute(insert(core_table(model)), rows[i : i + 5000])
        await session.execute(
            insert(core_table(AppState)),
            [{"key": uptime.ROLLED_THROUGH, "value": through.isoformat(), "updated_at": now}],
        )


@dataclass
class Counts:
    services: int = 0
    transitions: int = 0
    incidents: int = 0
    open_incidents: int = 0
    rollups: int = 0
    latency_days: int = 0
    checks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


async def generate(
    url: str,
    *,
    services: int = 1000,
    probes: int = 100,
    days: int = 90,
    raw_days: int = 7,
    seed: int = 1,
    now: datetime | None = None,
    live_url: str | None = None,
    quiet: bool = False,
) -> Counts:
    """Migrate the (empty) database at `url` and fill it; history ends at `now`."""

    def say(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    counts = Counts()
    t0 = time.perf_counter()
    db = Database(url, sqlite_synchronous="OFF" if url.startswith("sqlite") else "FULL")
    try:
        await upgrade(db)
        async with db.reading() as session:
            if await session.scalar(select(Service.id).limit(1)) is not None:
                raise SystemExit(f"{url} already has services: generate into an empty one")
        now = now or datetime.now(UTC)
        through = floor_hour(now - rollups.GRACE)  # what the rollup job has reached
        raw_from = floor_hour(now - timedelta(days=raw_days))
        plans = make_plans(services, probes, days, seed, now, live_url)
        counts.seconds["plan"] = time.perf_counter() - t0
        await write_small_tables(db, plans, through, now)
    finally:
        await db.dispose()
    counts.services = len(plans)
    counts.transitions = sum(len(p.timeline.transitions) for p in plans if p.timeline)
    counts.incidents = sum(len(p.timeline.incidents) for p in plans if p.timeline)
    counts.open_incidents = sum(1 for p in plans if p.timeline and p.timeline.open)
    counts.seconds["small tables"] = time.perf_counter() - t0 - counts.seconds["plan"]
    say(
        f"  planned {len(plans)} services, {counts.transitions} transitions, "
        f"{counts.incidents} incidents ({counts.open_incidents} open) "
        f"in {counts.seconds['plan'] + counts.seconds['small tables']:.1f} s"
    )

    t1 = time.perf_counter()
    sink = await open_sink(url)
    ids = Ids(random.Random(seed + 2))  # (check result ids)
    try:
        rollup_count, check_count = await _write_hours(
            sink, plans, now, through, raw_from, seed, ids
        )
    finally:
        await sink.finish()
    counts.rollups, counts.checks = rollup_count, check_count
    counts.seconds["rollups + checks"] = time.perf_counter() - t1
    say(
        f"  {rollup_count:,} rollups and {check_count:,} check results "
        f"in {counts.seconds['rollups + checks']:.1f} s"
    )
    t_days = time.perf_counter()
    db = Database(url)
    try:  # the daily latency sums, by the worker's own code (from the hourly rows)
        counts.latency_days = await rollups.roll_up_days(db, through, now)
    finally:
        await db.dispose()
    counts.seconds["latency days"] = time.perf_counter() - t_days
    say(
        f"  {counts.latency_days:,} daily latency histograms "
        f"in {counts.seconds['latency days']:.1f} s"
    )
    if not url.startswith("sqlite"):
        t2 = time.perf_counter()
        await _vacuum_analyze(url)
        counts.seconds["vacuum analyze"] = time.perf_counter() - t2
        say(f"  VACUUM ANALYZE in {counts.seconds['vacuum analyze']:.1f} s")
    db = Database(url)
    try:
        async with db.writing() as session:
            await app_state.put_app_state(session, GENERATED_AT, now.isoformat(), now)
    finally:
        await db.dispose()
    counts.seconds["total"] = time.perf_counter() - t0
    return counts


async def _write_hours(
    sink: Sink,
    plans: list[Plan],
    now: datetime,
    through: datetime,
    raw_from: datetime,
    seed: int,
    ids: Ids,
) -> tuple[int, int]:
    """Hour by hour, every service's rollup and the probes' raw results of that hour:
    the order the worker writes them in."""
    order = sorted(plans, key=lambda p: p.created)
    first_hour = min(floor_hour(p.created) for p in plans)
    begins: dict[int, int] = {}  # service -> index of its first hour
    times: dict[int, list[tuple[float, ...]]] = {}
    counts: dict[int, tuple[list[int], list[int]]] = {}
    old: dict[int, OldLatencies] = {}
    for p in order:
        f = floor_hour(p.created)
        n = max(0, (through - f) // HOUR)
        begins[p.index] = (f - first_hour) // HOUR
        times[p.index] = hour_times(p, f, n)
        counts[p.index] = activity(p, to_us(f), n)
        if p.probe:
            old[p.index] = OldLatencies(p, seed)
    recent: dict[int, RawChecks] = {}
    sids = {p.index: sink.sid(p.id) for p in plans}
    batch: list[tuple[Any, ...]] = []
    rollup_count = check_count = 0
    for hi in range(ceil_div(to_us(now) - to_us(first_hour), HOUR_US)):
        h = first_hour + hi * HOUR
        hour, rolled, raw = sink.hour(h), h < through, h >= raw_from
        hour_checks: list[tuple[int, tuple[Any, ...]]] = []
        for p in order:
            i = hi - begins[p.index]
            if i < 0:
                break
            if p.probe and raw:
                if p.index not in recent:
                    assert p.probe_g0 is not None
                    first_k = max(0, ceil_div(to_us(raw_from) - to_us(p.probe_g0), 60_000_000))
                    recent[p.index] = RawChecks(p, first_k, seed, sink, ids)
                rows, failures, ms = recent[p.index].until(to_us(h + HOUR))
                hour_checks += rows
                checks, lat = len(rows), latency_hour(ms)
            elif rolled:
                checks, failures = counts[p.index][0][i], counts[p.index][1][i]
                lat = old[p.index].hour(checks, failures) if p.probe else NO_LATENCY
            if not rolled:
                continue  # not rolled up yet: only raw results
            batch.append(
                (
                    sids[p.index],
                    hour,
                    *times[p.index][i],
                    checks,
                    failures,
                    lat.p50,
                    lat.p95,
                    lat.p99,
                    lat.histogram,
                )
            )
        if hour_checks:
            hour_checks.sort(key=lambda r: r[0])
            await sink.checks([row for _, row in hour_checks])
            check_count += len(hour_checks)
        if len(batch) >= 50_000:
            await sink.rollups(batch)
            rollup_count += len(batch)
            batch = []
    await sink.rollups(batch)
    return rollup_count + len(batch), check_count


async def _vacuum_analyze(url: str) -> None:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# --- verification ----------------------------------------------------------------------


async def generated_at(url: str) -> datetime | None:
    """When the history in this database was generated (None: not by this script)."""
    db = Database(url)
    try:
        async with db.reading() as session:
            value = await app_state.get_app_state(session, GENERATED_AT)
    finally:
        await db.dispose()
    return datetime.fromisoformat(value) if value else None


async def verify(url: str, *, samples: int = 12, seed: int = 7) -> list[str]:
    """Check the generated database against heartwatch's own code; returns problems."""
    problems: list[str] = []
    rng = random.Random(seed)
    now = datetime.now(UTC)
    db = Database(url)
    try:
        async with db.reading() as session:
            rows = list((await session.scalars(select(Service))).all())
            through = await uptime.rolled_through(session)
            open_incidents = await session.scalar(
                select(func.count()).where(Incident.resolved.is_(False))
            )
        assert through is not None
        down_now = 0
        for row in rows:
            if row.type == "heartbeat":
                _, pending = advance(state_of(row), now, RULES)
                if pending:
                    problems.append(f"{row.key}: a deadline already passed: {pending}")
            down_now += row.status in DOWN
        if open_incidents != down_now:
            problems.append(f"{open_incidents} open incidents, {down_now} services down or dead")

        probes = [r for r in rows if r.type != "heartbeat" and r.status is not Status.PAUSED]
        beats = [r for r in rows if r.type == "heartbeat"]
        half = samples // 2
        sample = rng.sample(probes, min(len(probes), half))
        sample += rng.sample(beats, min(len(beats), samples - half))
        for row in sample:
            problems += await _verify_rollups(db, row, through)
            problems += await _verify_uptime(db, row, now)
    finally:
        await db.dispose()
    return problems


async def _verify_rollups(db: Database, row: Service, through: datetime) -> list[str]:
    """`rollups.compute_rollups` over a few recent hours (raw results kept: every column
    of a probe's rollup) and a day two months back (raw results gone: the seconds)."""
    problems = []
    old = max(floor_hour(row.created_at) + HOUR, through - timedelta(days=60))
    probe = row.type != "heartbeat"
    for start, end, every_column in (
        (through - 6 * HOUR, through, probe),
        (old, old + 24 * HOUR, False),
    ):
        computed = await rollups.compute_rollups(db, [row.id], start, end)
        async with db.reading() as session:
            stmt = select(UptimeRollup).where(
                UptimeRollup.service_id == row.id,
                UptimeRollup.hour >= start,
                UptimeRollup.hour < end,
            )
            stored = {r.hour: r for r in (await session.scalars(stmt)).all()}
        if len(stored) != len(computed):
            problems.append(f"{row.key}: {len(stored)} rollups stored, {len(computed)} computed")
        for c in computed:
            s = stored.get(c["hour"])
            if s is None:
                problems.append(f"{row.key} {c['hour']}: no stored rollup")
                continue
            for name, want in c.items():
                if name in ("service_id", "hour") or not (every_column or name.endswith("_s")):
                    continue
                got = getattr(s, name)
                same = got == want or (
                    isinstance(got, float) and math.isclose(got, want, abs_tol=1e-6)
                )
                if not same:
                    problems.append(
                        f"{row.key} {c['hour']:%m-%d %H}h {name}: stored {got!r}, computed {want!r}"
                    )
    return problems


async def _verify_uptime(db: Database, row: Service, now: datetime) -> list[str]:
    """90 days from the rollups (as the API answers) == 90 days from the transitions."""
    start = now - timedelta(days=90)
    async with db.reading() as session:
        rolled = (await uptime.status_times(session, [row], start, now))[row.id]
        opening = await history.statuses_at(session, [row.id], start)
        changes = await history.changes_between(session, [row.id], start, now)
    raw = time_in_status(opening.get(row.id, Status.UNKNOWN), changes.get(row.id, []), start, now)
    return [
        f"{row.key} 90d {s}: rollups {rolled.seconds[s]}, raw {raw.seconds[s]}"
        for s in Status
        if not math.isclose(rolled.seconds[s], raw.seconds[s], abs_tol=1e-6)
    ]


async def time_compute_rollups(url: str, hours: int = 24) -> float:
    """Seconds `rollups.compute_rollups` takes for every service over the last `hours`
    rolled-up hours (to compare with generating the rollups here)."""
    db = Database(url)
    try:
        async with db.reading() as session:
            through = await uptime.rolled_through(session)
        assert through is not None
        t0 = time.perf_counter()
        await rollups.compute_rollups(db, None, through - hours * HOUR, through)
        return time.perf_counter() - t0
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="SQLAlchemy URL of an empty database (created if SQLite)")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=100, help="of the services, http probes")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--raw-days", type=int, default=7, help="raw check results kept")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verify", action="store_true", help="check it with heartwatch's code")
    parser.add_argument(
        "--probe-target",
        metavar="URL",
        help="point the probes at URL/health/<n> with their next runs due on their grid "
        "(default: example.internal endpoints, next runs parked ten years ahead)",
    )
    parser.add_argument(
        "--time-compute-rollups",
        type=int,
        metavar="HOURS",
        help="also time rollups.compute_rollups over the last HOURS hours of every service",
    )
    args = parser.parse_args()
    if not 0 < args.probes < args.services or args.services < 50:
        parser.error("need at least 50 services and 0 < probes < services")

    async def run() -> int:
        counts = await generate(
            args.url,
            services=args.services,
            probes=args.probes,
            days=args.days,
            raw_days=args.raw_days,
            seed=args.seed,
            live_url=args.probe_target,
        )
        print(f"generated in {counts.seconds['total']:.1f} s: {counts}")
        if args.time_compute_rollups:
            s = await time_compute_rollups(args.url, args.time_compute_rollups)
            print(
                f"rollups.compute_rollups, {args.services} services x "
                f"{args.time_compute_rollups} h: {s:.1f} s"
            )
        if args.verify:
            problems = await verify(args.url)
            for line in problems[:30]:
                print("  PROBLEM", line)
            print("verify:", "FAIL" if problems else "PASS")
            return 1 if problems else 0
        return 0

    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
