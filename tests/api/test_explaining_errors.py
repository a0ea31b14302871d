"""Mistakes answered with what was meant: unknown query parameters, on the heartbeat
routes (fast path and routes alike) and on the list routes; `?tag=` filters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.runtime import Runtime


@pytest.fixture(params=[True, False], ids=["fast-path", "routes"])
async def either(
    runtime: Runtime, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_asgi_app(runtime, fast_heartbeat=request.param)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
        yield c


async def test_a_mistyped_heartbeat_parameter_is_refused_with_what_was_meant(
    either: httpx.AsyncClient,
) -> None:
    answer = await either.post("/heartbeat/billing?perod=60")
    assert answer.status_code == 422
    assert "unknown query parameter 'perod' (did you mean period?)" in answer.json()["detail"]
    assert answer.json()["errors"] == [
        {
            "loc": ["query", "perod"],
            "msg": "unknown query parameter 'perod' (did you mean period?)",
            "type": "unknown_parameter",
        }
    ]
    # nothing was recorded under a period it did not declare
    assert (await either.get("/services/billing")).status_code == 404
    by_query = await either.get("/heartbeat?service_key=billing&rdi=r1")
    assert by_query.status_code == 422 and "did you mean rid?" in by_query.json()["detail"]
    known = await either.post("/heartbeat/billing?period=60&rid=r1&ping_key=")
    assert known.status_code == 200 and known.json()["status"] == "alive"


async def test_list_routes_refuse_unknown_parameters(client: httpx.AsyncClient) -> None:
    answer = await client.get("/services?stauts=down")
    assert answer.status_code == 422
    assert "unknown query parameter 'stauts' (did you mean status?)" in answer.json()["detail"]
    incidents = await client.get("/incidents?service=billing")
    assert incidents.status_code == 422
    assert "did you mean service_key?" in incidents.json()["detail"]
    history = await client.get("/state-history?limt=5")
    assert history.status_code == 422 and "did you mean limit?" in history.json()["detail"]
    assert (await client.get("/services?status=down")).status_code == 200


async def test_services_filter_by_tag(client: httpx.AsyncClient) -> None:
    for key, tags in (("shop", ["web", "eu"]), ("db", ["eu"]), ("cron", [])):
        created = await client.post("/services", json={"key": key, "tags": tags})
        assert created.status_code == 201, created.text
    listed = await client.get("/services?tag=eu")
    assert sorted(s["key"] for s in listed.json()["items"]) == ["db", "shop"]
    web = (await client.get("/services?tag=web")).json()["items"]
    assert [s["key"] for s in web] == ["shop"]
    assert (await client.get("/services?tag=none")).json() == {"items": [], "next_cursor": None}
    assert len((await client.get("/services")).json()["items"]) == 3


# --- bodies -------------------------------------------------------------------------------


async def test_a_mistyped_field_names_the_one_meant(client: httpx.AsyncClient) -> None:
    answer = await client.post("/services", json={"key": "billing", "period": 60})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "unknown field 'period' (did you mean expected_period_sec?)"
    assert (await client.post("/services", json={"key": "billing"})).status_code == 201
    patched = await client.patch("/services/billing", json={"period": 60})
    assert patched.status_code == 422
    assert patched.json()["detail"] == "unknown field 'period' (did you mean expected_period_sec?)"


async def test_broken_json_says_where(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/services",
        content=b'{"key": "b", "name": "x" "c"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "body is not valid JSON (line 1, column 26: expected ',' or '}')"
    )


async def test_a_body_not_sent_as_json_says_so(client: httpx.AsyncClient) -> None:
    # curl -d '...' without -H: application/x-www-form-urlencoded
    for headers, got in (
        (
            {"content-type": "application/x-www-form-urlencoded"},
            "application/x-www-form-urlencoded",
        ),
        ({}, None),
    ):
        answer = await client.post("/services", content=b'{"key": "b"}', headers=headers)
        assert answer.status_code == 422
        detail = answer.json()["detail"]
        assert "content-type: application/json" in detail, detail
        assert (f"got content-type: {got}" if got else "got no content-type") in detail


async def test_put_takes_the_key_from_the_url(client: httpx.AsyncClient) -> None:
    created = await client.post("/services", json={"key": "billing"})
    sid = created.json()["id"]
    replaced = await client.put("/services/billing", json={"expected_period_sec": 300})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["key"] == "billing" and replaced.json()["expected_period_sec"] == 300
    same = await client.put("/services/billing", json={"key": "billing", "name": "Billing"})
    assert same.status_code == 200 and same.json()["name"] == "Billing"
    other = await client.put("/services/billing", json={"key": "payroll"})
    assert other.status_code == 422
    assert "is not the URL's 'billing'" in other.json()["detail"]
    by_id = await client.put(f"/services/{sid}", json={"name": "B"})
    assert by_id.status_code == 200 and by_id.json()["key"] == "billing"


async def test_booleans_are_strict(client: httpx.AsyncClient) -> None:
    for value in ("yes", "true", 1, "on"):
        answer = await client.post("/services", json={"key": "b", "is_active": value})
        assert answer.status_code == 422, value
        assert answer.json()["detail"] == (
            "is_active: Input should be a JSON boolean: true or false"
        )
    assert (
        await client.post("/services", json={"key": "b", "is_active": False})
    ).status_code == 201
    paused = await client.patch("/services/b", json={"paused": "no"})
    assert paused.status_code == 422


async def test_checker_and_channel_booleans_are_strict(client: httpx.AsyncClient) -> None:
    probe = {"key": "shop", "type": "http", "endpoint": "http://127.0.0.1:9/"}
    refused = await client.post("/services", json={**probe, "verify_tls": "no"})
    assert refused.status_code == 422 and "verify_tls" in refused.json()["detail"]
    assert (await client.post("/services", json={**probe, "verify_tls": False})).status_code == 201
    channel = {"name": "hook", "type": "webhook", "config": {"url": "http://127.0.0.1:9/in"}}
    off = await client.post("/channels", json={**channel, "enabled": "off"})
    assert off.status_code == 422 and "enabled" in off.json()["detail"]
