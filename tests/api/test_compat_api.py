"""Healthchecks and Uptime Kuma ping URLs: their answers, signals, run durations."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from heartwatch.runtime import Runtime

PING_KEY = "s3cret-ping-key"
# Well formed, and nobody's: fixed, so every xdist worker collects the same test ids.
UNKNOWN_UUID = uuid.UUID("5d1c0f8e-2b7a-4c3e-9f61-0a8b7c6d5e4f")


async def new_service(client: httpx.AsyncClient, key: str = "job") -> str:
    created = await client.post("/services", json={"key": key, "expected_period_sec": 60})
    service_id: str = created.json()["id"]
    return service_id


async def history(client: httpx.AsyncClient, key: str = "job") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(f"/services/{key}/history")).json()["items"]
    return items


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
async def test_healthchecks_ping_answers_ok_for_every_method(
    client: httpx.AsyncClient, method: str
) -> None:
    sid = await new_service(client)
    response = await client.request(method, f"/ping/{sid}")
    assert response.status_code == 200
    if method != "HEAD":
        assert response.text == "OK"
    assert [h["kind"] for h in await history(client)] == ["success"]


@pytest.mark.parametrize(
    ("suffix", "kind", "status"),
    [
        ("start", "start", "unknown"),
        ("fail", "fail", "down"),
        ("log", "log", "unknown"),
        ("0", "success", "alive"),
        ("1", "fail", "down"),
        ("255", "fail", "down"),
    ],
)
async def test_healthchecks_signals_and_exit_statuses(
    client: httpx.AsyncClient, suffix: str, kind: str, status: str
) -> None:
    sid = await new_service(client)
    response = await client.post(f"/ping/{sid}/{suffix}", content=b"job output")
    assert (response.status_code, response.text) == (200, "OK")
    [event] = await history(client)
    assert (event["kind"], event["body"]) == (kind, "job output")
    assert (await client.get("/services/job")).json()["status"] == status


@pytest.mark.parametrize(
    "path",
    [
        f"/ping/{UNKNOWN_UUID}",
        f"/ping/{UNKNOWN_UUID}/fail",
        "/ping/not-a-uuid",
        "/ping/{sid}/256",
        "/ping/{sid}/bogus",
    ],
)
async def test_healthchecks_unknown_targets_are_404_not_found(
    client: httpx.AsyncClient, path: str
) -> None:
    sid = await new_service(client)
    response = await client.get(path.format(sid=sid))
    assert (response.status_code, response.text) == (404, "not found")
    assert await history(client) == []


async def test_start_then_success_records_the_run_duration(client: httpx.AsyncClient) -> None:
    sid = await new_service(client)
    await client.post(f"/ping/{sid}/start")
    await client.post("/dev/clock", json={"advance_seconds": 42})
    await client.post(f"/ping/{sid}")
    end, start = await history(client)
    assert start["kind"] == "start" and start["duration_ms"] is None
    # The dev clock is the real time plus the moves: the run lasted at least what the
    # clock was moved, plus the real time between the requests (long on a busy machine).
    assert 42_000 <= end["duration_ms"] < 42_000 + 30_000


async def test_run_ids_pair_overlapping_runs(client: httpx.AsyncClient) -> None:
    sid = await new_service(client)
    await client.get(f"/ping/{sid}/start?rid=a")
    await client.post("/dev/clock", json={"advance_seconds": 10})
    await client.get(f"/ping/{sid}/start?rid=b")
    await client.post("/dev/clock", json={"advance_seconds": 5})
    await client.get(f"/ping/{sid}/0?rid=a")  # a: 15 s
    await client.post("/dev/clock", json={"advance_seconds": 5})
    await client.get(f"/ping/{sid}/1?rid=b")  # b: 10 s, failed
    await client.get(f"/ping/{sid}?rid=a")  # a already ended: no duration
    events = await history(client)
    assert events[0]["run_id"] == "a" and events[0]["duration_ms"] is None  # closed nothing
    closed = [(h["run_id"], h["kind"], h["duration_ms"]) for h in events if h["duration_ms"]]
    assert [(r, k) for r, k, _ in closed] == [("b", "fail"), ("a", "success")]
    # At least what the dev clock was moved, plus the real time between the requests.
    assert 10_000 <= closed[0][2] < 10_000 + 30_000
    assert 15_000 <= closed[1][2] < 15_000 + 30_000


async def test_keepalives_without_run_id_do_not_end_a_run(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/long/start?rid=r1")
    await client.post("/dev/clock", json={"advance_seconds": 30})
    keepalive = (await client.post("/heartbeat/long")).json()
    await client.post("/dev/clock", json={"advance_seconds": 30})
    final = (await client.post("/heartbeat/long?rid=r1")).json()
    assert keepalive["duration_ms"] is None
    # At least what the dev clock was moved, plus the real time between the requests.
    assert 60_000 <= final["duration_ms"] < 60_000 + 30_000


@pytest.fixture
def with_ping_key(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"ping_key": PING_KEY})


@pytest.mark.usefixtures("with_ping_key")
async def test_ping_key_and_slug_with_create(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/ping/{PING_KEY}/backup")).status_code == 404  # no create=1
    created = await client.get(f"/ping/{PING_KEY}/backup?create=1")
    assert (created.status_code, created.text) == (200, "OK")
    assert (await client.post(f"/ping/{PING_KEY}/backup/start")).text == "OK"
    assert (await client.post(f"/ping/{PING_KEY}/backup/0")).text == "OK"
    assert (await client.post(f"/ping/{PING_KEY}/backup/fail")).text == "OK"
    kinds = [h["kind"] for h in await history(client, "backup")]
    assert kinds == ["fail", "success", "start", "success"]
    assert (await client.get("/ping/wrong-key-123/backup")).status_code == 401
    assert (await client.get(f"/ping/{PING_KEY}/backup/9999")).status_code == 404
    assert (await client.get(f"/ping/{PING_KEY}/bad%20slug?create=1")).status_code == 404


async def test_slug_urls_are_404_without_a_configured_ping_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/ping/anything-at-all/backup?create=1")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("ping keys are not enabled on this server")


async def test_required_ping_key_guards_heartbeat_urls(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"ping_key": PING_KEY, "require_ping_key": True}
    )
    refused = await client.post("/heartbeat/guarded")
    assert refused.status_code == 401 and "ping key" in refused.json()["detail"]
    assert (await client.post("/heartbeat/guarded", headers={"X-Ping-Key": PING_KEY})).is_success
    assert (await client.post(f"/heartbeat/guarded?ping_key={PING_KEY}")).is_success
    wrong = await client.post("/heartbeat/guarded", headers={"X-Ping-Key": "nope"})
    assert wrong.status_code == 401


async def test_uptime_kuma_push(client: httpx.AsyncClient) -> None:
    sid = await new_service(client)
    up = await client.get(f"/api/push/{sid}?status=up&msg=fine&ping=12.5")
    assert up.json() == {"ok": True}
    down = await client.get(f"/api/push/{sid}?status=down&msg=disk%20full&ping=")
    assert down.json() == {"ok": True}
    assert (await client.get("/services/job")).json()["status"] == "down"
    latest, first = await history(client)
    assert (first["kind"], first["body"], first["latency_ms"]) == ("success", "fine", 12.5)
    assert (latest["kind"], latest["body"], latest["latency_ms"]) == ("fail", "disk full", None)
    plain = await client.get(f"/api/push/{sid}")  # Kuma's defaults: status=up, msg=OK
    assert plain.json() == {"ok": True}
    assert (await history(client))[0]["body"] == "OK"


@pytest.mark.parametrize("token", [str(UNKNOWN_UUID), "not-a-token"])
async def test_uptime_kuma_unknown_token(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(f"/api/push/{token}?status=up")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "msg": "Monitor not found or not active."}


async def test_uptime_kuma_odd_ping_values_are_ignored(client: httpx.AsyncClient) -> None:
    sid = await new_service(client)
    for value in ("abc", "-3", "nan", "inf"):
        assert (await client.get(f"/api/push/{sid}?ping={value}")).json() == {"ok": True}
    assert {h["latency_ms"] for h in await history(client)} == {None}
