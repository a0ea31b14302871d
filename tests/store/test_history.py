"""Reading rollups back: the summed latency histograms of a window."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from heartwatch.domain import latency
from heartwatch.domain.uptime import HOUR
from heartwatch.services.heartbeats import new_service_row
from heartwatch.store import history
from heartwatch.store.database import Database
from heartwatch.store.models import Service
from tests.conftest import T0


def _rollup(sid: object, hour: int, histogram: dict[str, int], checks: int) -> dict[str, object]:
    return {
        "service_id": sid,
        "hour": T0 + hour * HOUR,
        **dict.fromkeys(("alive_s", "silent_s", "down_s", "dead_s", "unknown_s"), 0.0),
        "paused_s": 3600.0,
        "checks": checks,
        "failures": 0,
        "latency_p50_ms": None,
        "latency_p95_ms": None,
        "latency_p99_ms": None,
        "latency_histogram": histogram,
    }


async def test_latency_counts_sum_the_histograms_of_the_window(database: Database) -> None:
    rng = random.Random(5)
    async with database.writing() as session:
        row = Service(**new_service_row("web", T0))
        other = Service(**new_service_row("other", T0))
        session.add_all([row, other])
    hours = []
    for _ in range(200):
        values = [rng.lognormvariate(4, 1) for _ in range(rng.randrange(0, 40))]
        checks = len(values) + rng.randrange(0, 3)  # (timeouts have no latency)
        hours.append((latency.histogram(values), checks))
    hours[7] = ({}, 5)  # every check timed out
    hours[8] = ({"90": 4}, 0)  # (no checks: never summed)
    async with database.writing() as session:
        await history.upsert_rollups(
            session,
            [_rollup(row.id, h, hist, checks) for h, (hist, checks) in enumerate(hours)]
            + [_rollup(other.id, h, {"90": 1}, 1) for h in range(200)],
        )
    for first, last in ((0, 200), (5, 9), (150, 151), (9, 9), (300, 400)):
        expected: Counter[str] = Counter()
        for hist, checks in hours[first:last]:
            if checks:
                expected.update(hist)
        async with database.reading() as session:
            got = await history.rollup_latency_counts(
                session, row.id, T0 + first * HOUR, T0 + last * HOUR
            )
        assert got == dict(expected), (first, last)
        assert all(isinstance(v, int) for v in got.values())
    async with database.reading() as session:
        assert (
            await history.rollup_latency_counts(
                session, row.id, T0 + timedelta(hours=7), T0 + timedelta(hours=9)
            )
            == {}
        )
