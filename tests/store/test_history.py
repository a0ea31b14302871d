"""Reading rollups back: the summed latency histograms of a window."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from heartwatch.domain import latency
from heartwatch.domain.uptime import DAY, HOUR
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
            got = await history.latency_counts(
                session, row.id, [(T0 + first * HOUR, T0 + last * HOUR)]
            )
        assert got == dict(expected), (first, last)
        assert all(isinstance(v, int) for v in got.values())
    async with database.reading() as session:
        assert (
            await history.latency_counts(
                session, row.id, [(T0 + timedelta(hours=7), T0 + timedelta(hours=9))]
            )
            == {}
        )


async def test_latency_counts_add_daily_sums_to_the_hours_around_them(database: Database) -> None:
    async with database.writing() as session:
        row = Service(**new_service_row("web", T0))
        other = Service(**new_service_row("other", T0))
        session.add_all([row, other])
    day0 = T0.replace(hour=0) + DAY
    hourly = [_rollup(row.id, h, {"80": 1, str(h % 7): 2}, 3) for h in range(24 * 4)]
    async with database.writing() as session:
        await history.upsert_rollups(session, [*hourly, _rollup(other.id, 0, {"80": 9}, 9)])
        sums = await history.hourly_latency_sums(session, [row.id, other.id], day0, day0 + DAY)
        assert set(sums) == {row.id}  # (other has no latency that day)
        await history.upsert_latency_days(
            session,
            [
                {"service_id": row.id, "day": day0 + i * DAY, "latency_histogram": '{"1": 100}'}
                for i in range(2)
            ],
        )
    expected: Counter[str] = Counter()
    for h in range(24 * 4):
        at = T0 + h * HOUR
        if not day0 <= at < day0 + 2 * DAY:
            expected.update({"80": 1, str(h % 7): 2})
    expected.update({"1": 200})
    async with database.reading() as session:
        got = await history.latency_counts(
            session,
            row.id,
            [(T0, day0), (day0 + 2 * DAY, T0 + 24 * 4 * HOUR)],
            (day0, day0 + 2 * DAY),
        )
        assert got == dict(expected)
        assert await history.latency_counts(session, row.id, [], (day0, day0)) == {}
    # the daily sum is what the hours of that day add up to
    hours_of_day = Counter[str]()
    for h in range(24 * 4):
        if day0 <= T0 + h * HOUR < day0 + DAY:
            hours_of_day.update({"80": 1, str(h % 7): 2})
    assert sums[row.id] == dict(hours_of_day)
