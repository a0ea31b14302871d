"""What a newcomer does in the first hour, over HTTP: a few pings by hand, pausing and
pinging, the seed's camelCase, a check that cannot run here. Each of these once taught
the wrong thing (a false alarm, a silent misreading); the tests pin the answers."""

from __future__ import annotations

import httpx
import pytest


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/dev/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200, response.text


async def transitions(client: httpx.AsyncClient, key: str) -> list[tuple[str, str, str]]:
    rows = (await client.get(f"/state-history?service_key={key}")).json()
    return [(t["from_state"], t["to_state"], t["reason"]) for t in reversed(rows)]


# --- a few pings by hand ----------------------------------------------------------------


async def test_four_quick_pings_teach_no_period_and_raise_no_alarm(
    client: httpx.AsyncClient,
) -> None:
    # The README's own sequence: `for i in 1 2 3 4; do curl -X POST .../heartbeat/newbie`,
    # then `sleep 11`. It once taught a period of 0.13 s: down within a second, an incident.
    for _ in range(4):
        assert (await client.post("/heartbeat/newbie")).json()["status"] == "unknown"
        await advance(client, 0.13)
    await advance(client, 11)
    service = (await client.get("/services/newbie")).json()
    assert (service["status"], service["expected_period_sec"]) == ("unknown", None)
    assert service["heartbeat_count"] == 4
    assert await transitions(client, "newbie") == []
    assert (await client.get("/incidents/active")).json() == []


async def test_pings_a_minute_apart_still_teach_the_period(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        ack = (await client.post("/heartbeat/cron-job")).json()
        await advance(client, 60)
    assert ack["status"] == "alive"
    period = (await client.get("/services/cron-job")).json()["expected_period_sec"]
    assert period == pytest.approx(60, abs=1)  # the dev clock runs on between the moves


# --- a ping to a paused service ---------------------------------------------------------


async def test_a_ping_resumes_a_paused_service_by_default(client: httpx.AsyncClient) -> None:
    created = await client.post("/services", json={"key": "job", "expected_period_sec": 60})
    assert created.json()["resume_on_ping"] is True
    await client.post("/heartbeat/job")
    assert (await client.patch("/services/job", json={"paused": True})).json()["is_active"] is False
    await advance(client, 3 * 86400)  # long past down: the pause covered it
    ack = (await client.post("/heartbeat/job")).json()
    assert ack["status"] == "alive"
    assert (await transitions(client, "job"))[-2:] == [
        ("alive", "paused", "paused"),
        ("paused", "alive", "resumed by a success ping"),
    ]
    assert (await client.get("/incidents/active")).json() == []


async def test_a_service_can_be_kept_paused_when_it_pings(client: httpx.AsyncClient) -> None:
    body = {"key": "kept", "expected_period_sec": 60, "resumeOnPing": False}
    assert (await client.post("/services", json=body)).json()["resume_on_ping"] is False
    await client.patch("/services/kept", json={"paused": True})
    for path in ("/heartbeat/kept", "/heartbeat/kept/fail", "/heartbeat/kept/start"):
        assert (await client.post(path)).json()["status"] == "paused"
    # ...until told otherwise: then the next ping resumes it.
    patched = await client.patch("/services/kept", json={"resume_on_ping": True})
    assert (patched.json()["resume_on_ping"], patched.json()["status"]) == (True, "paused")
    assert (await client.post("/heartbeat/kept")).json()["status"] == "alive"


async def test_put_leaves_resume_on_ping_at_its_default_when_left_out(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/services", json={"key": "put-me", "resume_on_ping": False})
    replaced = await client.put("/services/put-me", json={"key": "put-me"})
    assert replaced.json()["resume_on_ping"] is True


async def test_resume_on_ping_is_a_field_of_heartbeat_services(client: httpx.AsyncClient) -> None:
    body = {"key": "web", "type": "http", "endpoint": "http://h/", "resume_on_ping": False}
    refused = await client.post("/services", json=body)
    assert refused.status_code == 422
    assert "resume_on_ping is for heartbeat services" in refused.text
    created = await client.post("/services", json={**body, "resume_on_ping": None})
    assert created.status_code == 201, created.text
    assert created.json()["resume_on_ping"] is None
    patched = await client.patch("/services/web", json={"resume_on_ping": True})
    assert patched.status_code == 422


@pytest.mark.parametrize("value", ["perhaps", 3])
async def test_resume_on_ping_must_be_a_boolean(client: httpx.AsyncClient, value: object) -> None:
    response = await client.post("/services", json={"key": "x", "resume_on_ping": value})
    assert response.status_code == 422 and "resume_on_ping" in response.text
