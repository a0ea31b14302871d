"""Incidents and uptime over HTTP, with the dev clock."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def approx(value: float) -> object:
    """The dev clock keeps running after it is set: allow the test's own run time (long
    on a machine busy with the rest of the suite)."""
    return pytest.approx(value, abs=10)


async def at(client: httpx.AsyncClient, minutes: float) -> None:
    moment = START.timestamp() + minutes * 60
    r = await client.post(
        "/dev/clock", json={"now": datetime.fromtimestamp(moment, UTC).isoformat()}
    )
    assert r.status_code == 200, r.text


async def outage(client: httpx.AsyncClient, key: str = "billing") -> None:
    """Alive 10 min, down 30 min (a fail signal), alive again: checked at minute 60."""
    await at(client, 0)
    assert (await client.post(f"/heartbeat/{key}?period=3600")).status_code == 200
    await at(client, 10)
    assert (await client.post(f"/heartbeat/{key}/fail", content=b"disk full")).status_code == 200
    await at(client, 40)
    assert (await client.post(f"/heartbeat/{key}")).status_code == 200
    await at(client, 60)


async def test_an_outage_is_one_incident_with_its_duration(client: httpx.AsyncClient) -> None:
    await at(client, 0)
    await client.post("/heartbeat/billing?period=3600")
    await at(client, 10)
    await client.post("/heartbeat/billing/fail", content=b"disk full")
    [active] = (await client.get("/incidents/active")).json()["items"]
    assert active["service_key"] == "billing" and active["resolved"] is False
    assert active["duration"] is None and active["started_at"].startswith("2026-05-04T08:10:00")
    assert active["last_error"] == "disk full"

    await at(client, 40)
    await client.post("/heartbeat/billing")
    assert (await client.get("/incidents/active")).json()["items"] == []
    page = (await client.get("/services/billing/incidents")).json()
    [incident] = page["items"]
    assert incident["resolved"] is True and incident["duration"] == approx(1800)
    assert incident["recovered_at"].startswith("2026-05-04T08:40:00")
    assert page["next_cursor"] is None


async def test_uptime_mttr_and_sla_for_24h(client: httpx.AsyncClient) -> None:
    await outage(client)
    await client.patch("/services/billing", json={"sla_target": 99.9})
    r = await client.get("/metrics/uptime/billing", params={"period": "24h"})
    assert r.status_code == 200, r.text
    body = r.json()
    # alive 08:00-08:10 and 08:40-09:00 (30 min), down 08:10-08:40 (30 min)
    assert body["up_seconds"] == approx(1800) and body["down_seconds"] == approx(1800)
    assert body["observed_seconds"] == approx(3600) and body["uptime_percent"] == approx(50)
    assert body["incident_count"] == 1
    assert body["mttr"] == approx(1800) and body["mtbf"] == approx(1800)
    assert body["sla_target"] == 99.9 and body["sla_met"] is False
    assert body["to"].startswith("2026-05-04T09:00:00") and body["from"].startswith("2026-05-03T09")
    assert body["latency_ms"] is None  # a heartbeat service has no check latency


async def test_summary_across_services(client: httpx.AsyncClient) -> None:
    await outage(client, "a")
    await at(client, 0)
    await client.post("/heartbeat/b?period=3600")
    await at(client, 60)
    await client.post("/heartbeat/b?period=3600")
    body = (await client.get("/metrics/summary?period=7d")).json()
    totals = body["totals"]
    assert totals["services"] == 2 and totals["incident_count"] == 1
    assert totals["by_status"]["alive"] == 2 and totals["active_incidents"] == 0
    # b: up 60 min; a: up 30, down 30
    assert totals["up_seconds"] == approx(5400) and totals["down_seconds"] == approx(1800)
    assert totals["uptime_percent"] == approx(75) and totals["mttr"] == approx(1800)
    assert [s["service_key"] for s in body["services"]] == ["a", "b"]


async def test_incident_log_filters(client: httpx.AsyncClient) -> None:
    await outage(client, "a")
    await outage(client, "b")
    r = await client.get("/incidents", params={"service_key": "a"})
    assert [i["service_key"] for i in r.json()["items"]] == ["a"]
    r = await client.get("/incidents", params={"from": "2026-05-04T08:45:00Z"})
    assert r.json()["items"] == []  # both ended at 08:40
    r = await client.get("/incidents", params={"from": "2026-05-04T08:30:00Z", "limit": 1})
    first = r.json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = await client.get(
        "/incidents", params={"from": "2026-05-04T08:30:00Z", "cursor": first["next_cursor"]}
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["items"][0]["id"] != first["items"][0]["id"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/metrics/uptime/billing?period=2h", 422),
        ("/metrics/uptime/nope", 404),
        ("/services/nope/incidents", 404),
        ("/incidents?from=2026-05-05T00:00:00Z&to=2026-05-04T00:00:00Z", 422),
        ("/incidents?cursor=garbage", 422),
        ("/metrics/summary?period=1y", 422),
    ],
)
async def test_bad_requests_get_clear_4xx(client: httpx.AsyncClient, url: str, status: int) -> None:
    await outage(client)
    r = await client.get(url)
    assert r.status_code == status, r.text
    assert r.json()["detail"]
