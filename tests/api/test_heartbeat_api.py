"""Heartbeat endpoints: every accepted form, what is stored, and what is refused."""

from __future__ import annotations

import httpx
import pytest

from heartwatch.domain.ping import PERIOD_MAX_S, PERIOD_MIN_S, RUN_ID_MAX_LENGTH
from heartwatch.runtime import Runtime


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/dev/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/heartbeat?service_key=billing"),
        ("GET", "/heartbeat?service_key=billing"),
        ("POST", "/heartbeat/billing"),
        ("GET", "/heartbeat/billing"),
    ],
)
async def test_every_form_registers_and_records(
    client: httpx.AsyncClient, method: str, url: str
) -> None:
    response = await client.request(method, url)
    assert response.status_code == 200, response.text
    ack = response.json()
    assert ack["ok"] is True and ack["registered"] is True
    assert ack["service_key"] == "billing" and ack["status"] == "unknown"
    assert ack["received_at"].endswith("Z")
    history = (await client.get("/services/billing/history")).json()
    assert [h["kind"] for h in history["items"]] == ["success"]
    assert history["items"][0]["source"] == "10.1.2.3"


async def test_walk_to_alive_and_fail_and_recover(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        last = (await client.post("/heartbeat/etl")).json()
        await advance(client, 60)
    assert last["status"] == "alive"
    assert (await client.post("/heartbeat/etl/start")).json()["status"] == "alive"
    assert (await client.post("/heartbeat/etl/fail", content=b"exit 3")).json()["status"] == "down"
    assert (await client.post("/heartbeat/etl")).json()["status"] == "alive"
    kinds = [h["kind"] for h in (await client.get("/services/etl/history")).json()["items"]]
    assert kinds == ["success", "fail", "start", "success", "success", "success", "success"]
    changes = (await client.get("/state-history")).json()["items"]
    states = [(t["from_state"], t["to_state"]) for t in changes]
    assert states == [("down", "alive"), ("alive", "down"), ("unknown", "alive")]


async def test_bodies_are_kept_and_long_ones_truncated_to_10_kb(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/logs", content=b"short log")
    big = b"x" * 50_000
    response = await client.post("/heartbeat/logs/fail", content=big)
    assert response.status_code == 200
    items = (await client.get("/services/logs/history")).json()["items"]
    assert len(items[0]["body"]) == 10 * 1024
    assert items[1]["body"] == "short log"


async def test_a_multibyte_character_cut_by_the_limit_is_dropped_not_mangled(
    client: httpx.AsyncClient,
) -> None:
    body = ("a" * (10 * 1024 - 1) + "é").encode()  # é is 2 bytes: it straddles the limit
    await client.post("/heartbeat/utf", content=body)
    stored = (await client.get("/services/utf/history")).json()["items"][0]["body"]
    assert stored == "a" * (10 * 1024 - 1)


async def test_declared_period_makes_the_first_heartbeat_alive(client: httpx.AsyncClient) -> None:
    ack = (await client.post("/heartbeat/cron?period=300")).json()
    assert ack["status"] == "alive"
    service = (await client.get("/services/cron")).json()
    assert service["expected_period_sec"] == 300 and service["period_source"] == "declared"


@pytest.mark.parametrize(
    "url",
    [
        "/heartbeat?service_key=has%20space",
        "/heartbeat?service_key=",
        "/heartbeat/" + "k" * 101,
        "/heartbeat/sla%2Fsh",
        "/heartbeat/%C3%A9t%C3%A9",
    ],
)
async def test_bad_keys_get_422_that_says_what_a_key_is(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.post(url)
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert "letters, digits" in response.json()["detail"]
    assert (await client.get("/services")).json()["items"] == []


async def test_missing_service_key_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/heartbeat")
    assert response.status_code == 422
    assert "service_key is required" in response.json()["detail"]


@pytest.mark.parametrize("period", ["0", "-5", "abc", "99999999999"])
async def test_bad_period_is_422(client: httpx.AsyncClient, period: str) -> None:
    response = await client.post(f"/heartbeat/x?period={period}")
    assert response.status_code == 422
    assert "period" in response.json()["detail"]


async def test_auto_registration_off_gives_404_for_unknown_keys(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    runtime.heartbeats._auto_register = False
    response = await client.post("/heartbeat/stranger")
    assert response.status_code == 404
    assert "not registered" in response.json()["detail"]
    await client.post("/services", json={"key": "known"})
    assert (await client.post("/heartbeat/known")).status_code == 200


async def test_huge_body_is_413_and_stores_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post("/heartbeat/huge", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert (await client.get("/services")).json()["items"] == []


async def test_huge_chunked_body_without_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> object:
        for _ in range(40):
            yield b"y" * 65536

    response = await client.post("/heartbeat/chunky", content=chunks())  # type: ignore[arg-type]
    assert response.status_code == 413


async def test_a_nul_byte_is_stored_not_refused_and_costs_no_one_else(
    client: httpx.AsyncClient,
) -> None:
    """PostgreSQL text cannot hold NUL: one binary log must not fail the batch it shares
    with other services' heartbeats (reviewer's finding, reproduced on PostgreSQL)."""
    import asyncio

    responses = await asyncio.gather(
        client.post("/heartbeat/binary?rid=a%00b", content=b"abc\x00def"),
        *(client.post(f"/heartbeat/plain-{i}") for i in range(20)),
    )
    assert [r.status_code for r in responses] == [200] * 21
    stored = (await client.get("/services/binary/history")).json()["items"][0]
    assert (stored["body"], stored["run_id"]) == ("abc\ufffddef", "a\ufffdb")


async def test_a_bad_query_gets_fastapis_validation_answer(client: httpx.AsyncClient) -> None:
    """The ping parser (api/pings.py) says what FastAPI's validation said before it."""
    response = await client.post("/heartbeat/x/start", params={"period": "0", "rid": "r" * 65})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "query.period: Input should be greater than or equal to 1; "
        "query.rid: String should have at most 64 characters",
        "errors": [
            {
                "loc": ["query", "period"],
                "msg": "Input should be greater than or equal to 1",
                "type": "greater_than_equal",
            },
            {
                "loc": ["query", "rid"],
                "msg": "String should have at most 64 characters",
                "type": "string_too_long",
            },
        ],
    }
    assert (await client.get("/services")).json()["items"] == []


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/heartbeat", ["service_key", "period", "rid", "ping_key", "X-Ping-Key"]),
        ("/heartbeat/{key}", ["key", "period", "rid", "ping_key", "X-Ping-Key"]),
        ("/heartbeat/{key}/start", ["key", "period", "rid", "ping_key", "X-Ping-Key"]),
        ("/heartbeat/{key}/fail", ["key", "period", "rid", "ping_key", "X-Ping-Key"]),
    ],
)
async def test_the_heartbeat_routes_document_their_query(
    client: httpx.AsyncClient, path: str, names: list[str]
) -> None:
    """The query is parsed by api/pings.py, not by FastAPI: its parameters are still in
    the OpenAPI document, with the domain's limits."""
    spec = (await client.get("/openapi.json")).json()
    for method in ("get", "post"):
        operation = spec["paths"][path][method]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert list(parameters) == names
        assert all(
            p["in"] == ("header" if n == "X-Ping-Key" else "query") and not p["required"]
            for n, p in parameters.items()
            if n != "key"
        )
        period = parameters["period"]["schema"]["anyOf"][0]
        assert (period["type"], period["minimum"], period["maximum"]) == (
            "number",
            PERIOD_MIN_S,
            PERIOD_MAX_S,
        )
        assert parameters["rid"]["schema"]["anyOf"][0]["maxLength"] == RUN_ID_MAX_LENGTH
        bodies = {"413"} if method == "post" else set()  # the body limit
        assert set(operation["responses"]) == {"200", "401", "404", "409", "422", *bodies}
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/PingAck"
        }
