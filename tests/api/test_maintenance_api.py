"""Maintenance windows over HTTP, on both databases: planning, listing and removing them,
the 422s, and alerts held during a window — sent when it ends only for a service that is
still down then."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from heartwatch.runtime import Runtime
from heartwatch.services import maintenance

SUNDAYS_3AM_BERLIN = {
    "schedule": "0 3 * * SUN",
    "duration_sec": 3600,
    "timezone": "Europe/Berlin",
    "tag": "db",
}


async def _at(client: httpx.AsyncClient, moment: str) -> None:
    assert (await client.post("/dev/clock", json={"now": moment})).status_code == 200


async def test_plan_list_and_remove_windows(client: httpx.AsyncClient) -> None:
    await _at(client, "2026-03-01T02:30:00Z")  # Sunday 03:30 in Berlin
    created = await client.post("/maintenance", json=SUNDAYS_3AM_BERLIN)
    assert created.status_code == 201, created.text
    window = created.json()
    assert window["active_until"] == "2026-03-01T03:00:00Z" and window["from"] is None
    await client.post("/services", json={"key": "api", "expected_period_sec": 60})
    one_off = await client.post(
        "/maintenance",
        json={"from": "2026-03-02T10:00:00Z", "until": "2026-03-02T11:00:00Z", "service": "api"},
    )
    assert one_off.status_code == 201, one_off.text
    assert one_off.json()["until"] == "2026-03-02T11:00:00Z"
    assert one_off.json()["active_until"] is None
    listed = (await client.get("/maintenance")).json()["items"]
    assert [w["id"] for w in listed] == [window["id"], one_off.json()["id"]]
    assert (await client.delete(f"/maintenance/{window['id']}")).status_code == 204
    assert (await client.delete(f"/maintenance/{window['id']}")).status_code == 404
    assert (await client.delete("/maintenance/not-a-uuid")).status_code == 404
    assert len((await client.get("/maintenance")).json()["items"]) == 1


async def test_bad_windows_are_clear_4xx(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, object], int, str]] = [
        ({}, 422, "give from and until"),
        ({"from": "2026-03-02T11:00:00Z", "until": "2026-03-02T10:00:00Z"}, 422, "ends after"),
        ({"schedule": "0 3 * * SUN"}, 422, "needs duration_sec"),
        ({"schedule": "0 3 * * SUX", "duration_sec": 60}, 422, "day of week"),
        ({**SUNDAYS_3AM_BERLIN, "timezone": "Nowhere/Land"}, 422, "unknown time zone"),
        ({**SUNDAYS_3AM_BERLIN, "from": "2026-03-02T10:00:00Z"}, 422, "not both"),
        (
            {"from": "2026-03-02T10:00:00Z", "until": "2026-03-02T11:00:00Z", "service": "x"},
            404,
            "",
        ),
        ({**SUNDAYS_3AM_BERLIN, "colour": "red"}, 422, "colour"),
    ]
    for body, status, message in cases:
        response = await client.post("/maintenance", json=body)
        assert response.status_code == status, (body, response.text)
        assert message in response.text, (body, response.text)
    assert (await client.get("/maintenance")).json() == {"items": [], "next_cursor": None}


async def test_alerts_are_held_during_a_window_and_sent_after_only_if_still_down(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    channel = {"name": "ops", "type": "telegram", "config": {"bot_token": "1:a", "chat_id": "42"}}
    assert (await client.post("/channels", json=channel)).status_code == 201
    await _at(client, "2026-03-01T01:50:00Z")
    assert (await client.post("/maintenance", json=SUNDAYS_3AM_BERLIN)).status_code == 201
    for key in ("db-main", "db-replica"):
        body = {"key": key, "expected_period_sec": 3600, "tags": ["db"]}
        assert (await client.post("/services", json=body)).status_code == 201
        await client.post(f"/heartbeat/{key}")
    await _at(client, "2026-03-01T02:10:00Z")  # 03:10 in Berlin: inside the window
    await client.post("/heartbeat/db-main/fail")
    await client.post("/heartbeat/db-replica/fail")
    await client.post("/heartbeat/db-replica")  # recovers inside the window
    assert (await client.get("/notifications")).json()["items"] == []
    history = (await client.get("/state-history", params={"service_key": "db-main"})).json()[
        "items"
    ]
    assert history[0]["to_state"] == "down"  # recorded all the same

    await _at(client, "2026-03-01T02:59:00Z")  # still open: nothing yet
    async with runtime.db.writing() as session:
        assert await maintenance.release_held(session, runtime.clock.now()) == 0
    await _at(client, "2026-03-01T03:00:30Z")  # the window has ended
    async with runtime.db.writing() as session:
        assert await maintenance.release_held(session, runtime.clock.now()) == 1
    async with runtime.db.writing() as session:
        assert await maintenance.release_held(session, runtime.clock.now()) == 0
    [event] = (await client.get("/notifications")).json()["items"]
    assert event["kind"] == "down" and event["title"].startswith("db-main")
    assert datetime.fromisoformat(event["created_at"]) >= datetime.fromisoformat(
        "2026-03-01T03:00:00+00:00"
    )


async def test_uptime_can_leave_the_windows_out(client: httpx.AsyncClient) -> None:
    await _at(client, "2026-03-02T09:00:00Z")
    await client.post("/services", json={"key": "api", "expected_period_sec": 60})
    await client.post("/heartbeat/api")
    window = {"from": "2026-03-02T10:00:00Z", "until": "2026-03-02T11:00:00Z", "service": "api"}
    assert (await client.post("/maintenance", json=window)).status_code == 201
    await _at(client, "2026-03-02T12:00:00Z")
    await client.post("/heartbeat/api")  # back: the outage (09:04-12:00) is recorded
    plain = (await client.get("/metrics/uptime/api")).json()
    assert plain["exclude_maintenance"] is False and plain["maintenance_seconds"] is None
    left_out = (await client.get("/metrics/uptime/api?exclude_maintenance=true")).json()
    assert left_out["exclude_maintenance"] is True
    assert left_out["maintenance_seconds"] == 3600
    # (The dev clock runs on between the two calls: a moment more of up time.)
    assert left_out["down_seconds"] == pytest.approx(plain["down_seconds"] - 3600, abs=1)
    assert left_out["up_seconds"] == pytest.approx(plain["up_seconds"], abs=1)
    summary = (await client.get("/metrics/summary?exclude_maintenance=true")).json()
    assert summary["exclude_maintenance"] is True
    assert summary["totals"]["down_seconds"] == pytest.approx(left_out["down_seconds"], abs=1)
