"""Cron schedules over HTTP, on both databases: creating and editing a scheduled service,
the 422s, the view's next run and deadline, the preview routes, the missed run kept in
the history when a late heartbeat comes, and the time-zone hint."""

from __future__ import annotations

from typing import Any

import httpx

# 02:00 in Moscow is 23:00 UTC the day before.
NIGHT_1 = "2026-01-01T23:01:00Z"  # 02:01 MSK on 2 January


async def _at(client: httpx.AsyncClient, moment: str) -> None:
    response = await client.post("/dev/clock", json={"now": moment})
    assert response.status_code == 200, response.text


async def _create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"key": "backup", "schedule": "0 2 * * *", "timezone": "Europe/Moscow", **fields}
    response = await client.post("/services", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_scheduled_service_shows_its_next_run_and_deadline(
    client: httpx.AsyncClient,
) -> None:
    await _at(client, "2026-01-01T12:00:00Z")
    service = await _create(client)
    assert service["schedule"] == "0 2 * * *" and service["timezone"] == "Europe/Moscow"
    assert service["grace_sec"] == 300 and service["early_tolerance_sec"] == 0
    assert service["expected_period_sec"] is None and service["period_source"] is None
    assert service["schedule_description"] == "At 02:00 every day (Europe/Moscow)"
    assert service["next_expected_at"] == "2026-01-01T23:00:00Z"
    assert service["next_expected_at_local"] == "2026-01-02T02:00:00+03:00"
    assert service["deadline_at"] == "2026-01-01T23:05:00Z"
    assert service["deadline_at_local"] == "2026-01-02T02:05:00+03:00"
    assert service["status"] == "unknown"
    assert service["hint"] == "waiting for a success or fail heartbeat"


async def test_missed_night_then_a_late_ping_keeps_the_outage(client: httpx.AsyncClient) -> None:
    await _at(client, "2026-01-01T12:00:00Z")
    await _create(client)
    await _at(client, NIGHT_1)
    ping = await client.post("/heartbeat/backup")
    assert ping.json()["status"] == "alive"
    await _at(client, "2026-01-02T23:02:00Z")  # 02:02 MSK the next night: silent
    view = (await client.get("/services/backup")).json()
    assert view["status"] == "silent"
    assert view["next_expected_at"] == "2026-01-02T23:00:00Z"
    assert view["deadline_at"] == "2026-01-02T23:05:00Z"
    await _at(client, "2026-01-02T23:06:00Z")
    view = (await client.get("/services/backup")).json()
    assert view["status"] == "down"
    assert view["next_expected_at"] == "2026-01-03T23:00:00Z"  # the missed run is over
    await _at(client, "2026-01-02T23:20:00Z")  # 02:20 MSK: late
    assert (await client.post("/heartbeat/backup")).json()["status"] == "alive"
    history = (await client.get("/state-history", params={"service_key": "backup"})).json()["items"]
    steps = [(t["to_state"], t["timestamp"], t["reason"]) for t in history]
    assert ("down", "2026-01-02T23:05:00Z", "expected run at 02:00 MSK missed") in steps
    assert ("silent", "2026-01-02T23:00:00Z", "expected run at 02:00 MSK not reported yet") in (
        steps
    )
    incidents = (await client.get("/services/backup/incidents")).json()["items"]
    # (The dev clock runs on from where it was set: the ping came a moment after 02:20.)
    assert [(i["started_at"], i["recovered_at"][:16]) for i in incidents] == [
        ("2026-01-02T23:05:00Z", "2026-01-02T23:20")
    ]


async def test_bad_expressions_zones_and_mixtures_are_clear_422s(
    client: httpx.AsyncClient,
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"schedule": "61 * * * *"}, '"61 * * * *": minute 61 is out of range'),
        ({"schedule": "0 2 * *"}, "4 fields"),
        ({"schedule": "0 2 * * *", "timezone": "Mars/Olympus"}, 'unknown time zone "Mars/Olympus"'),
        ({"schedule": "0 2 * * *", "expected_period_sec": 60}, "not both"),
        ({"timezone": "Europe/Moscow"}, "give schedule too"),
        ({"schedule": "0 2 * * *", "type": "http", "endpoint": "http://127.0.0.1:1/"}, "probes"),
        ({"schedule": "0 2 * * *", "grace_sec": -1}, "greater than or equal to 0"),
    ]
    for body, message in cases:
        response = await client.post("/services", json={"key": "job", **body})
        assert response.status_code == 422, (body, response.text)
        assert message in str(response.json()["detail"]), (body, response.text)
    assert (await client.get("/services")).json()["items"] == []


async def test_patch_and_put_change_clear_and_swap_schedule_and_period(
    client: httpx.AsyncClient,
) -> None:
    await _at(client, "2026-01-01T12:00:00Z")
    await _create(client)
    await _at(client, NIGHT_1)
    await client.post("/heartbeat/backup")
    # A new zone: re-evaluated now (02:00 in Tokyo was 17:00 UTC, six hours ago).
    await _at(client, "2026-01-02T23:00:30Z")
    patched = await client.patch("/services/backup", json={"timezone": "Asia/Tokyo"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["timezone"] == "Asia/Tokyo" and patched.json()["status"] == "down"
    bad = await client.patch("/services/backup", json={"schedule": "0 25 * * *"})
    assert bad.status_code == 422 and "hour 25 is out of range" in bad.json()["detail"]
    both = await client.patch(
        "/services/backup", json={"schedule": "0 3 * * *", "expected_period_sec": 60}
    )
    assert both.status_code == 422 and "not both" in both.json()["detail"]
    # A period replaces the schedule, and a schedule the period.
    to_period = (await client.patch("/services/backup", json={"expected_period_sec": 3600})).json()
    assert to_period["schedule"] is None and to_period["expected_period_sec"] == 3600
    back = await client.patch("/services/backup", json={"schedule": " 0  2 * * * "})
    assert back.json()["schedule"] == "0 2 * * *" and back.json()["timezone"] == "UTC"
    assert back.json()["period_source"] is None
    # PUT without the schedule fields: no schedule.
    replaced = await client.put("/services/backup", json={"key": "backup"})
    assert replaced.status_code == 200 and replaced.json()["schedule"] is None
    history = (await client.get("/state-history", params={"service_key": "backup"})).json()["items"]
    reasons = [t["reason"] for t in history]
    assert "schedule set to 0 2 * * * (Asia/Tokyo)" in reasons


async def test_schedule_preview_routes(client: httpx.AsyncClient) -> None:
    await _at(client, "2026-03-28T12:00:00Z")
    draft = await client.post(
        "/schedule/preview",
        json={"schedule": "30 2 * * *", "timezone": "Europe/Berlin", "runs": 2},
    )
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["description"] == "At 02:30 every day (Europe/Berlin)"
    # The night the clocks spring forward, 02:30 does not exist: the run is at 03:00.
    assert body["runs"] == [
        {"at": "2026-03-29T01:00:00Z", "local": "2026-03-29T03:00:00+02:00"},
        {"at": "2026-03-30T00:30:00Z", "local": "2026-03-30T02:30:00+02:00"},
    ]
    bad = await client.post("/schedule/preview", json={"schedule": "61 * * * *"})
    assert bad.status_code == 422 and "minute 61 is out of range" in bad.json()["detail"]
    await _create(client, timezone="Europe/Moscow")
    runs = await client.get("/services/backup/schedule", params={"runs": 3})
    assert runs.status_code == 200
    assert [r["local"] for r in runs.json()["runs"]] == [
        "2026-03-29T02:00:00+03:00",
        "2026-03-30T02:00:00+03:00",
        "2026-03-31T02:00:00+03:00",
    ]
    assert (await client.get("/services/backup/schedule?runs=0")).status_code == 422
    await client.post("/services", json={"key": "steady", "expected_period_sec": 60})
    assert (await client.get("/services/steady/schedule")).status_code == 404


async def test_heartbeats_hours_off_the_schedule_suggest_the_zone(
    client: httpx.AsyncClient,
) -> None:
    # The job runs at 02:00 Moscow time but the schedule was saved in UTC: its pings
    # arrive at 23:0x UTC, three hours before 02:00 UTC.
    await _at(client, "2026-01-01T12:00:00Z")
    await _create(client, timezone="UTC")
    for day in (1, 2, 3):
        await _at(client, f"2026-01-0{day}T23:01:00Z")
        await client.post("/heartbeat/backup")
        view = (await client.get("/services/backup")).json()
        if day < 3:
            assert view["hint"] is None or "time zone" not in view["hint"]
    assert view["hint"] == "heartbeats arrive 3 h before the schedule — is the time zone right?"


async def test_a_period_ping_does_not_replace_a_schedule(client: httpx.AsyncClient) -> None:
    await _at(client, "2026-01-01T12:00:00Z")
    await _create(client)
    await _at(client, NIGHT_1)
    ack = await client.post("/heartbeat/backup?period=60")
    assert ack.status_code == 200
    view = (await client.get("/services/backup")).json()
    assert view["schedule"] == "0 2 * * *" and view["expected_period_sec"] is None


async def test_the_list_moves_on_to_the_next_run_of_a_down_service(
    client: httpx.AsyncClient,
) -> None:
    await _at(client, "2026-01-01T12:00:00Z")
    await _create(client)
    await _at(client, NIGHT_1)
    await client.post("/heartbeat/backup")
    for moment, expected in [
        ("2026-01-02T23:06:00Z", "2026-01-03T23:00:00Z"),
        ("2026-01-03T23:06:00Z", "2026-01-04T23:00:00Z"),
    ]:
        await _at(client, moment)
        (listed,) = (await client.get("/services")).json()["items"]
        assert listed == (await client.get("/services/backup")).json()
        assert listed["status"] == "down" and listed["next_expected_at"] == expected


async def test_a_run_that_started_and_runs_too_long_is_down(client: httpx.AsyncClient) -> None:
    await _at(client, "2026-01-01T12:00:00Z")
    await _create(client, grace_sec=7200, max_runtime_sec=1800)
    await _at(client, NIGHT_1)
    await client.post("/heartbeat/backup")
    await _at(client, "2026-01-02T22:50:00Z")  # 01:50 MSK
    assert (await client.post("/heartbeat/backup/start")).json()["status"] == "alive"
    await _at(client, "2026-01-02T23:25:00Z")  # 35 minutes in
    view = (await client.get("/services/backup")).json()
    assert view["status"] == "down" and view["max_runtime_sec"] == 1800
    await client.post("/heartbeat/backup")  # it finishes
    history = (await client.get("/state-history", params={"service_key": "backup"})).json()["items"]
    assert [t["reason"] for t in history][:2] == [
        "heartbeat received",
        "run started at 01:50 MSK still running after 30m",
    ]
