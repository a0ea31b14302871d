"""Probe services over HTTP: registration and validation, edits, manual checks, health."""

from __future__ import annotations

import httpx
import pytest


async def create(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/services", json=body)


async def test_register_an_http_service_with_seed_004_camel_case(
    client: httpx.AsyncClient, http_target: str
) -> None:
    response = await create(
        client,
        key="shop-api",
        name="Shop API",
        type="http",
        endpoint=f"{http_target}/ok",
        checkInterval=30,
        timeout=5,  # seconds, as checkInterval is
        retry_count=2,
        retry_backoff_ms=500,
        failure_threshold=2,
        criticality="high",
        tags=["shop"],
        expect_keyword="ok",
    )
    assert response.status_code == 201, response.text
    row = response.json()
    assert (row["type"], row["status"], row["is_active"]) == ("http", "unknown", True)
    assert (row["check_interval_sec"], row["timeout_ms"], row["retry_count"]) == (30, 5000, 2)
    assert (row["failure_threshold"], row["criticality"], row["tags"]) == (2, "high", ["shop"])
    assert row["settings"] == {"expect_keyword": "ok"}
    assert row["expected_period_sec"] is None


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"type": "smtp", "endpoint": "x"}, 422, "known types are heartbeat"),
        ({"type": "http"}, 422, "endpoint is required"),
        ({"type": "http", "endpoint": "not a url"}, 422, "endpoint"),
        ({"type": "http", "endpoint": "ftp://host/x"}, 422, "endpoint"),
        ({"type": "tcp", "endpoint": "db.internal"}, 422, "port"),
        (
            {"type": "http", "endpoint": "http://h/", "check_interval_sec": 0},
            422,
            "check_interval_sec",
        ),
        (
            {"type": "http", "endpoint": "http://h/", "check_interval_sec": 90000},
            422,
            "check_interval_sec",
        ),
        (
            {"type": "http", "endpoint": "http://h/", "check_interval_sec": 5, "timeout_ms": 5000},
            422,
            "below the check interval",
        ),
        ({"type": "http", "endpoint": "http://h/", "expect_keywrd": "x"}, 422, "expect_keywrd"),
        (
            {"type": "http", "endpoint": "http://h/", "accepted_status_codes": ["abc"]},
            422,
            "accepted_status_codes",
        ),
        ({"type": "http", "endpoint": "http://h/", "criticality": "meh"}, 422, "criticality"),
        ({"type": "heartbeat", "endpoint": "http://h/"}, 422, "not a field of heartbeat services"),
        (
            {"type": "http", "endpoint": "http://h/", "expected_period_sec": 60},
            422,
            "heartbeat services",
        ),
    ],
)
async def test_bad_probe_registrations_get_clear_422s(
    client: httpx.AsyncClient, body: dict[str, object], status: int, words: str
) -> None:
    response = await create(client, key="bad", **body)
    assert response.status_code == status, response.text
    assert words.lower() in response.json()["detail"].lower(), response.json()
    assert (await client.get("/services")).json()["items"] == []


async def test_patch_merges_settings_and_put_replaces_them(
    client: httpx.AsyncClient, http_target: str
) -> None:
    await create(client, key="web", type="http", endpoint=f"{http_target}/ok", expect_keyword="ok")
    patched = await client.patch(
        "/services/web", json={"check_interval_sec": 10, "max_response_ms": 900}
    )
    assert patched.status_code == 200, patched.text
    row = patched.json()
    assert row["check_interval_sec"] == 10 and row["timeout_ms"] == 8000  # default re-derived
    assert row["settings"] == {"expect_keyword": "ok", "max_response_ms": 900}
    replaced = await client.put(
        "/services/web", json={"key": "web", "type": "http", "endpoint": f"{http_target}/ok"}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["settings"] == {} and replaced.json()["check_interval_sec"] == 60
    changed_type = await client.put(
        "/services/web", json={"key": "web", "type": "tcp", "endpoint": "h:1"}
    )
    assert changed_type.status_code == 422 and "cannot change" in changed_type.json()["detail"]
    paused = await client.patch("/services/web", json={"is_active": False})
    assert (paused.json()["status"], paused.json()["is_active"]) == ("paused", False)


async def test_manual_check_runs_now_and_is_recorded(
    client: httpx.AsyncClient, http_target: str
) -> None:
    await create(client, key="ok", type="http", endpoint=f"{http_target}/ok", expect_keyword="ok")
    await create(client, key="bad", type="http", endpoint=f"{http_target}/fail")
    good = await client.post("/services/ok/check")
    assert good.status_code == 200, good.text
    assert (good.json()["status"], good.json()["http_status"]) == ("up", 200)
    assert good.json()["scheduled_at"] is None and good.json()["latency_ms"] > 0
    bad = (await client.post("/services/bad/check")).json()
    assert (bad["status"], bad["http_status"], bad["failed_assertion"]) == ("down", 503, "status")
    assert "503" in bad["error"]

    health = (await client.get("/services/bad/health")).json()
    assert (health["status"], health["health"]) == ("down", "unhealthy")
    assert health["last_result"]["id"] == bad["id"]
    history = (await client.get("/services/ok/history")).json()
    assert [i["status"] for i in history["items"]] == ["up"]
    row = (await client.get("/services/ok")).json()
    assert row["status"] == "alive" and row["last_check_at"] is not None
    transitions = (await client.get("/state-history?service_key=bad")).json()["items"]
    assert [(t["from_state"], t["to_state"]) for t in transitions] == [("unknown", "down")]


async def test_manual_check_of_a_heartbeat_service_is_422(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/pushy")
    response = await client.post("/services/pushy/check")
    assert response.status_code == 422 and "reports in" in response.json()["detail"]


async def test_script_checks_are_off_by_default(client: httpx.AsyncClient) -> None:
    # Refused at registration with the checker's own words (a script service that was
    # registered while they were on says the same when checked: tests/checkers).
    response = await create(client, key="sh", type="script", endpoint="true")
    assert response.status_code == 422
    assert "script checks are disabled" in response.json()["detail"]
    assert "HEARTWATCH_ALLOW_SCRIPT_CHECKS=true" in response.json()["detail"]
    assert (await client.get("/services/sh")).status_code == 404
