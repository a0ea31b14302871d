"""Ping keys on every heartbeat route, who may auto-register a service, and the cap on
what auto-registration creates (HEARTWATCH_PING_KEY, HEARTWATCH_REQUIRE_PING_KEY,
HEARTWATCH_MAX_SERVICES), through the app as served (fast path in front)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest

from heartwatch.runtime import Runtime

PING_KEY = "s3cret-ping-key"
NON_ASCII_KEY = "clé-de-ping-\u00e9\u20ac"


def configure(runtime: Runtime, **settings: object) -> None:
    runtime.settings = runtime.settings.model_copy(update=settings)


async def new_service(client: httpx.AsyncClient, key: str = "job") -> str:
    created = await client.post("/services", json={"key": key, "expected_period_sec": 60})
    assert created.status_code == 201, created.text
    service_id: str = created.json()["id"]
    return service_id


async def kinds(client: httpx.AsyncClient, key: str = "job") -> list[str]:
    page = (await client.get(f"/services/{key}/history")).json()
    return [h["kind"] for h in page["items"]]


def heartbeat_urls(sid: str) -> list[str]:
    """Every heartbeat route, addressed to the service `job` (id `sid`)."""
    return [
        "/heartbeat/job",
        "/heartbeat/job/start",
        "/heartbeat/job/fail",
        "/heartbeat?service_key=job",
        f"/ping/{sid}",
        f"/ping/{sid}/start",
        f"/ping/{sid}/0",
        f"/ping/{sid}/log",
        f"/api/push/{sid}?status=up",
    ]


def with_query(url: str, key: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}ping_key={quote(key)}"


async def test_a_required_key_guards_every_heartbeat_route(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    sid = await new_service(client)
    configure(runtime, ping_key=PING_KEY, require_ping_key=True)
    recorded = 0
    for url in heartbeat_urls(sid):
        for method in ("GET", "POST"):
            missing = await client.request(method, url)
            assert missing.status_code == 401, (method, url, missing.text)
            assert "X-Ping-Key" in missing.json()["detail"]
            wrong = await client.request(method, url, headers={"X-Ping-Key": "wrong-key-1"})
            assert wrong.status_code == 401, (method, url)
            wrong_query = await client.request(method, with_query(url, "wrong-key-1"))
            assert wrong_query.status_code == 401, (method, url)
            by_header = await client.request(method, url, headers={"X-Ping-Key": PING_KEY})
            assert by_header.status_code == 200, (method, url, by_header.text)
            by_query = await client.request(method, with_query(url, PING_KEY))
            assert by_query.status_code == 200, (method, url, by_query.text)
            recorded += 2
    assert len(await kinds(client)) == recorded
    # HEAD, Healthchecks' too.
    assert (await client.head(f"/ping/{sid}")).status_code == 401
    assert (await client.head(f"/ping/{sid}", headers={"X-Ping-Key": PING_KEY})).is_success


async def test_the_slug_route_carries_the_key_in_its_path(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await new_service(client)
    configure(runtime, ping_key=PING_KEY, require_ping_key=True)
    assert (await client.post(f"/ping/{PING_KEY}/job")).text == "OK"
    assert (await client.post(f"/ping/{PING_KEY}/job/fail")).text == "OK"
    wrong = await client.post("/ping/wrong-key-1/job", headers={"X-Ping-Key": PING_KEY})
    assert wrong.status_code == 401  # the path's key is the one that counts
    assert "wrong ping key" in wrong.json()["detail"]
    assert await kinds(client) == ["fail", "success"]


async def test_by_default_the_uuid_routes_need_no_key(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    sid = await new_service(client)
    configure(runtime, ping_key=PING_KEY)
    for url in heartbeat_urls(sid):
        assert (await client.post(url)).status_code == 200, url
        wrong = await client.post(url, headers={"X-Ping-Key": "wrong-key-1"})
        assert wrong.status_code == 200, url  # not required: an existing service is pinged


@pytest.mark.parametrize(
    "sent",
    [NON_ASCII_KEY, "\u00e9" * 9, "\U0001f511" * 4, "%FF%FE-not-utf8", "a" * 300],
)
async def test_non_ascii_keys_are_refused_or_accepted_never_a_500(
    runtime: Runtime, client: httpx.AsyncClient, sent: str
) -> None:
    sid = await new_service(client)
    for configured in (PING_KEY, NON_ASCII_KEY):
        configure(runtime, ping_key=configured, require_ping_key=True)
        expected = 200 if sent == configured else 401
        slug = await client.post(f"/ping/{quote(sent, safe='%')}/job")
        assert slug.status_code == expected, slug.text
        query = await client.post(f"/heartbeat/job?ping_key={quote(sent, safe='%')}")
        assert query.status_code == expected
        by_id = await client.post(f"/ping/{sid}?ping_key={quote(sent, safe='%')}")
        assert by_id.status_code == expected
        header = await client.post("/heartbeat/job", headers={b"X-Ping-Key": sent.encode()})
        assert header.status_code == expected


async def test_the_configured_non_ascii_key_works_in_path_query_and_header(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    sid = await new_service(client)
    configure(runtime, ping_key=NON_ASCII_KEY, require_ping_key=True)
    utf8 = NON_ASCII_KEY.encode()
    assert (await client.post(f"/ping/{quote(NON_ASCII_KEY)}/job")).text == "OK"
    assert (await client.post(f"/ping/{sid}?ping_key={quote(NON_ASCII_KEY)}")).text == "OK"
    assert (await client.post("/heartbeat/job", headers={b"X-Ping-Key": utf8})).is_success


# --- auto-registration ----------------------------------------------------------------


async def test_a_configured_key_is_needed_to_register_a_new_service(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await new_service(client)
    configure(runtime, ping_key=PING_KEY)  # configured, not required
    refused = await client.post("/heartbeat/newcomer")
    assert refused.status_code == 401
    detail = refused.json()["detail"]
    assert "'newcomer' is not registered" in detail
    assert "X-Ping-Key" in detail and "POST /services" in detail
    refused_by_query = await client.get("/heartbeat?service_key=newcomer&ping_key=nope")
    assert refused_by_query.status_code == 401
    assert (await client.get("/services/newcomer")).status_code == 404
    # ... while a known service takes pings from anyone, as before.
    assert (await client.post("/heartbeat/job")).json()["registered"] is False
    registered = await client.post("/heartbeat/newcomer", headers={"X-Ping-Key": PING_KEY})
    assert registered.json()["registered"] is True
    by_slug = await client.get(f"/ping/{PING_KEY}/other?create=1")
    assert by_slug.text == "OK"


async def test_without_a_configured_key_anyone_registers_as_before(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/heartbeat/newcomer")).json()["registered"] is True


async def test_registration_off_says_so_whatever_the_key(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    configure(runtime, ping_key=PING_KEY, auto_register=False)
    runtime.heartbeats._auto_register = False
    answer = await client.post("/heartbeat/newcomer")
    assert (answer.status_code, answer.json()["detail"]) == (
        404,
        "service 'newcomer' is not registered (auto-registration is off)",
    )


async def test_auto_registration_stops_at_the_cap(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await new_service(client, "manual")
    runtime.heartbeats.max_services = 3
    assert (await client.post("/heartbeat/first")).json()["registered"] is True
    assert (await client.post("/heartbeat/second")).json()["registered"] is True
    full = await client.post("/heartbeat/third")
    assert full.status_code == 409
    assert "HEARTWATCH_MAX_SERVICES (3 services)" in full.json()["detail"]
    assert "POST /services" in full.json()["detail"]
    configure(runtime, ping_key=PING_KEY)
    by_slug = await client.get(f"/ping/{PING_KEY}/third?create=1")
    assert by_slug.status_code == 409
    # Existing services keep working, and an admin may still create one.
    assert (await client.post("/heartbeat/first")).status_code == 200
    assert (await client.post("/heartbeat/manual")).status_code == 200
    await new_service(client, "fourth")
    services = (await client.get("/services")).json()["items"]
    assert sorted(s["key"] for s in services) == ["first", "fourth", "manual", "second"]


async def test_the_cap_holds_within_one_batch(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """Concurrent pings share a transaction: room for two, five new keys, two registered."""
    runtime.heartbeats.max_services = 2
    answers = await asyncio.gather(*(client.post(f"/heartbeat/k{i}") for i in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 200, 409, 409, 409]
    assert len((await client.get("/services")).json()["items"]) == 2
