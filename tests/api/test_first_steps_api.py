"""What a newcomer does in the first hour, over HTTP: a few pings by hand, pausing and
pinging, the seed's camelCase, a check that cannot run here. Each of these once taught
the wrong thing (a false alarm, a silent misreading); the tests pin the answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.checkers.script import SCRIPTS_DISABLED
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from tests.api.conftest import settings_for


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/dev/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200, response.text


async def transitions(client: httpx.AsyncClient, key: str) -> list[tuple[str, str, str]]:
    rows = (await client.get(f"/state-history?service_key={key}")).json()["items"]
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
    assert service["resume_on_ping"] is True  # registered by its first ping: the default
    assert await transitions(client, "newbie") == []
    assert (await client.get("/incidents/active")).json()["items"] == []


async def test_pings_a_minute_apart_still_teach_the_period(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        ack = (await client.post("/heartbeat/cron-job")).json()
        await advance(client, 60)
    assert ack["status"] == "alive"
    period = (await client.get("/services/cron-job")).json()["expected_period_sec"]
    assert period == pytest.approx(60, abs=1)  # the dev clock runs on between the moves


async def test_the_first_heartbeats_say_why_the_status_is_unknown(
    client: httpx.AsyncClient,
) -> None:
    hints = []
    for _ in range(4):
        ack = (await client.post("/heartbeat/newbie")).json()
        hints.append(ack["hint"])
        await advance(client, 90)
    assert hints[:3] == [
        f"learning the period: {n} more heartbeat{'s' if n > 1 else ''} at least 60s apart, "
        "or send ?period=SECONDS"
        for n in (3, 2, 1)
    ]
    assert (ack["status"], ack["hint"]) == ("alive", None)
    assert (await client.get("/services/newbie")).json()["hint"] is None
    first = (await client.post("/heartbeat/other")).json()
    shown = (await client.get("/services/other")).json()
    assert shown["hint"] == first["hint"] and "3 more heartbeats" in shown["hint"]
    listed = {s["key"]: s["hint"] for s in (await client.get("/services")).json()["items"]}
    assert listed == {"newbie": None, "other": shown["hint"]}
    declared = (await client.post("/heartbeat/declared?period=300")).json()
    assert (declared["status"], declared["hint"]) == ("alive", None)


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
    assert (await client.get("/incidents/active")).json()["items"] == []


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


# --- the seed's camelCase: seconds, as checkInterval is ----------------------------------


async def test_camel_case_timeout_is_in_seconds(
    client: httpx.AsyncClient, http_target: str
) -> None:
    body = {"type": "http", "endpoint": f"{http_target}/ok", "checkInterval": 10}
    created = await client.post("/services", json={**body, "key": "seed", "timeout": 3})
    assert created.status_code == 201, created.text
    assert (created.json()["check_interval_sec"], created.json()["timeout_ms"]) == (10, 3000)
    half = await client.patch("/services/seed", json={"timeout": 0.5})
    assert half.json()["timeout_ms"] == 500
    checked = (await client.post("/services/seed/check")).json()
    assert checked["status"] == "up", checked


@pytest.mark.parametrize("field", ["timeout_ms", "timeoutMs"])
async def test_a_timeout_in_milliseconds_under_100_asks_whether_seconds_were_meant(
    client: httpx.AsyncClient, field: str
) -> None:
    body = {"key": "web", "type": "http", "endpoint": "http://h/", field: 3}
    response = await client.post("/services", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "did you mean seconds?" in detail and "timeout_ms" in detail, detail
    ok = await client.post("/services", json={**body, field: 100})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"timeout": 0.05}, "timeout"),  # 50 ms: under the minimum, in seconds too
        ({"timeout": 3, "timeout_ms": 3000}, "not both"),
        ({"timeout": 7200}, "timeout"),
    ],
)
async def test_a_timeout_in_seconds_is_checked_too(
    client: httpx.AsyncClient, extra: dict[str, float], words: str
) -> None:
    body = {"key": "web", "type": "http", "endpoint": "http://h/", **extra}
    response = await client.post("/services", json=body)
    assert response.status_code == 422 and words in response.json()["detail"], response.text


# --- a check that cannot run here ------------------------------------------------------


@pytest.fixture
async def scripts_client(db_url: str, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(db_url, debug_mode=True, allow_script_checks=True)
    async with Runtime.open(settings, migrate=True) as runtime:
        transport = httpx.ASGITransport(app=create_asgi_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://hw") as client:
            yield client


async def test_a_script_service_is_refused_while_script_checks_are_off(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/services", json={"key": "disk", "type": "script", "endpoint": "true"}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == SCRIPTS_DISABLED  # the checker's own words


async def test_a_script_service_is_accepted_when_script_checks_are_on(
    scripts_client: httpx.AsyncClient,
) -> None:
    body = {"key": "disk", "type": "script", "endpoint": "true"}
    response = await scripts_client.post("/services", json=body)
    assert response.status_code == 201, response.text
    assert (await scripts_client.post("/services/disk/check")).json()["status"] == "up"


# --- what the figures count -------------------------------------------------------------


async def test_uptime_leaves_out_the_time_before_the_service_existed(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/services", json={"key": "fresh", "expected_period_sec": 3600})
    await advance(client, 600)
    await client.post("/heartbeat/fresh")
    await advance(client, 1800)
    body = (await client.get("/metrics/uptime/fresh", params={"period": "24h"})).json()
    # 10 minutes unknown (registered, not heard from), 30 alive: not 23 h 50 min unknown
    assert body["seconds_by_status"]["unknown"] == pytest.approx(600, abs=5)
    assert body["seconds_by_status"]["alive"] == pytest.approx(1800, abs=5)


async def test_failed_checks_are_counted_for_probes_only(
    client: httpx.AsyncClient, http_target: str
) -> None:
    await client.post("/heartbeat/cron?period=3600")
    await client.post("/heartbeat/cron/fail")
    body = {"key": "web", "type": "http", "endpoint": f"{http_target}/fail"}
    assert (await client.post("/services", json=body)).status_code == 201
    await client.post("/services/web/check")
    active = {i["service_key"]: i for i in (await client.get("/incidents/active")).json()["items"]}
    assert active["cron"]["checks_failed_count"] is None  # a heartbeat service has no checks
    assert active["web"]["checks_failed_count"] == 1
