"""The registry over HTTP: CRUD, history paging, /state-history, the dev clock, and the
bad-input matrix (clear 4xx, never a 500, nothing lost)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.runtime import Runtime
from tests.api.conftest import settings_for


async def test_create_get_patch_delete(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/services", json={"key": "billing", "name": "Billing", "expected_period_sec": 60}
    )
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["type"] == "heartbeat" and service["status"] == "unknown"
    assert service["expected_period_sec"] == 60 and service["period_source"] == "declared"
    assert service["created_at"].endswith("Z")

    by_key = (await client.get("/services/billing")).json()
    by_id = (await client.get(f"/services/{service['id']}")).json()
    assert by_key == by_id == service

    patched = await client.patch("/services/billing", json={"name": "Billing v2", "paused": True})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Billing v2" and patched.json()["status"] == "paused"

    cleared = await client.patch("/services/billing", json={"expected_period_sec": None})
    assert cleared.json()["expected_period_sec"] is None

    assert (await client.delete(f"/services/{service['id']}")).status_code == 204
    assert (await client.get("/services/billing")).status_code == 404
    assert (await client.get("/services")).json()["items"] == []


async def test_pause_and_resume(client: httpx.AsyncClient) -> None:
    """As PATCH {"paused": ...}, on routes of their own (a role that operates services
    but does not configure them may use these)."""
    await client.post("/heartbeat/billing?period=60")
    paused = await client.post("/services/billing/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert not paused.json()["is_active"]
    again = await client.post("/services/billing/pause")
    assert again.json()["status"] == "paused"
    resumed = await client.post("/services/billing/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] != "paused"
    assert (await client.post("/services/nope/pause")).status_code == 404


async def test_the_list_shows_each_service_as_its_own_page_does(
    client: httpx.AsyncClient,
) -> None:
    """A listing reuses the views of unchanged services between calls: they must stay
    what GET /services/{id} answers, through edits, time passing, and deletes."""
    await client.post("/heartbeat/beats?period=60")
    await client.post("/services", json={"key": "quiet", "expected_period_sec": 300})
    await client.post(
        "/services",
        json={"key": "web", "type": "http", "endpoint": "http://127.0.0.1:9/", "tags": ["a"]},
    )

    async def agree() -> list[dict[str, object]]:
        listed: list[dict[str, object]] = (await client.get("/services")).json()["items"]
        for item in listed:
            assert item == (await client.get(f"/services/{item['key']}")).json()
        return listed

    assert [s["status"] for s in await agree()] == ["alive", "unknown", "unknown"]
    await agree()  # (all views reused)
    await client.patch("/services/web", json={"name": "Web", "tags": ["a", "b"]})
    assert [s["name"] for s in await agree()] == ["beats", "quiet", "Web"]
    # No row changes below: the views must still move with the clock.
    await client.post("/dev/clock", json={"advance_seconds": 121})
    assert [s["status"] for s in await agree()] == ["silent", "unknown", "unknown"]
    silent = (await client.get("/services?status=silent")).json()["items"]
    assert [s["key"] for s in silent] == ["beats"]
    await client.post("/dev/clock", json={"advance_seconds": 120})
    assert [s["status"] for s in await agree()] == ["down", "unknown", "unknown"]
    await client.post("/dev/clock", json={"advance_seconds": -240})  # (the dev clock goes back)
    assert [s["status"] for s in await agree()] == ["alive", "unknown", "unknown"]
    await client.delete("/services/quiet")
    assert [s["key"] for s in await agree()] == ["beats", "web"]


async def test_list_rows_carry_the_issue_fields(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/a")
    await client.post("/heartbeat/b?period=30")
    rows = (await client.get("/services")).json()["items"]
    assert [r["key"] for r in rows] == ["a", "b"]
    for field in (
        "id",
        "key",
        "name",
        "type",
        "status",
        "status_since",
        "last_heartbeat_at",
        "expected_period_sec",
        "heartbeat_count",
        "created_at",
    ):
        assert field in rows[0]
    assert [r["key"] for r in (await client.get("/services?status=alive")).json()["items"]] == ["b"]


async def test_history_pages_newest_first_with_a_cursor(client: httpx.AsyncClient) -> None:
    for _ in range(7):
        await client.post("/heartbeat/paged")
        await client.post("/dev/clock", json={"advance_seconds": 10})
    seen: list[str] = []
    url = "/services/paged/history?limit=3"
    while True:
        page = (await client.get(url)).json()
        seen += [h["received_at"] for h in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"/services/paged/history?limit=3&cursor={page['next_cursor']}"
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)

    window = (
        await client.get("/services/paged/history", params={"from": seen[4], "to": seen[2]})
    ).json()
    assert [h["received_at"] for h in window["items"]] == seen[2:5]


async def test_state_history_filters_by_service_and_time(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/one?period=60")
    await client.post("/dev/clock", json={"advance_seconds": 3600})
    await client.post("/heartbeat/two?period=60")
    everything = (await client.get("/state-history")).json()["items"]
    assert [t["service_key"] for t in everything] == ["two", "one"]
    for field in (
        "service_key",
        "from_state",
        "to_state",
        "timestamp",
        "detected_at",
        "alert_sent",
    ):
        assert field in everything[0]
    only_one = (await client.get("/state-history?service_key=one")).json()["items"]
    assert [t["service_key"] for t in only_one] == ["one"]
    latest = {"from": everything[0]["timestamp"]}
    since = (await client.get("/state-history", params=latest)).json()["items"]
    assert [t["service_key"] for t in since] == ["two"]
    assert len((await client.get("/state-history?limit=1")).json()["items"]) == 1


async def test_dev_clock_moves_api_stamps(client: httpx.AsyncClient) -> None:
    set_to = await client.post("/dev/clock", json={"now": "2030-06-01T09:00:00Z"})
    assert set_to.status_code == 200
    assert set_to.json()["now"].startswith("2030-06-01T09:00")
    ack = (await client.post("/heartbeat/time-traveller")).json()
    assert ack["received_at"].startswith("2030-06-01T09:00")
    moved = (await client.post("/dev/clock", json={"advance_seconds": 86400})).json()
    assert moved["now"].startswith("2030-06-02T09:00")
    assert (await client.get("/dev/clock")).json()["offset_seconds"] == moved["offset_seconds"]


@pytest.fixture
async def production_client(db_url: str, database: object) -> AsyncIterator[httpx.AsyncClient]:
    async with Runtime.open(settings_for(db_url, debug_mode=False)) as rt:
        transport = httpx.ASGITransport(app=create_asgi_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
            yield c


async def test_dev_clock_is_404_outside_dev_mode(production_client: httpx.AsyncClient) -> None:
    assert (await production_client.get("/dev/clock")).status_code == 404
    response = await production_client.post("/dev/clock", json={"advance_seconds": 5})
    assert response.status_code == 404


async def test_health_readiness_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}
    spec = (await client.get("/openapi.json")).json()
    assert "/heartbeat/{key}" in spec["paths"] and "/state-history" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


BAD_REQUESTS = [
    # (method, url, json or raw body, expected status, words the message must contain)
    ("GET", "/services/nope", None, 404, "not found"),
    ("GET", "/services/00000000-0000-0000-0000-000000000000", None, 404, "not found"),
    ("PATCH", "/services/nope", {"name": "x"}, 404, "not found"),
    ("DELETE", "/services/nope", None, 404, "not found"),
    ("GET", "/services/nope/history", None, 404, "not found"),
    ("GET", "/state-history?service_key=nope", None, 404, "not found"),
    ("POST", "/services", {"key": "bad key"}, 422, "key"),
    ("POST", "/services", {"key": "ok", "type": "smtp"}, 422, "type"),
    ("POST", "/services", {"key": "ok", "expected_period_sec": -1}, 422, "expected_period_sec"),
    ("POST", "/services", {"key": "ok", "colour": "red"}, 422, "colour"),
    ("POST", "/services", {}, 422, "key"),
    ("POST", "/services", b"{not json", 422, "JSON"),
    ("POST", "/services", b"[1, 2]", 422, "dict"),
    ("PATCH", "/services/existing", {"paused": "perhaps"}, 422, "paused"),
    ("PATCH", "/services/existing", {"key": "a b"}, 422, "key"),
    ("GET", "/services/existing/history?from=yesterday", None, 422, "from"),
    ("GET", "/services/existing/history?to=2026-13-45T99:00:00Z", None, 422, "to"),
    (
        "GET",
        "/services/existing/history?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        None,
        422,
        "from",
    ),
    ("GET", "/services/existing/history?cursor=garbage!!", None, 422, "cursor"),
    ("GET", "/services/existing/history?limit=0", None, 422, "limit"),
    ("GET", "/services/existing/history?limit=100000", None, 422, "limit"),
    ("GET", "/state-history?from=not-a-time", None, 422, "from"),
    ("GET", "/services?status=sleepy", None, 422, "status"),
    ("POST", "/dev/clock", {}, 422, "exactly one"),
    (
        "POST",
        "/dev/clock",
        {"now": "2030-01-01T00:00:00Z", "advance_seconds": 1},
        422,
        "exactly one",
    ),
    ("POST", "/dev/clock", {"now": "soon"}, 422, "now"),
]


@pytest.mark.parametrize(("method", "url", "body", "status", "words"), BAD_REQUESTS)
async def test_bad_input_gets_a_clear_4xx_and_loses_nothing(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: object,
    status: int,
    words: str,
) -> None:
    await client.post("/services", json={"key": "existing", "expected_period_sec": 60})
    await client.post("/heartbeat/existing")
    before = (await client.get("/services/existing")).json()

    if isinstance(body, bytes):
        response = await client.request(
            method, url, content=body, headers={"content-type": "application/json"}
        )
    else:
        response = await client.request(method, url, json=body)

    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words.lower() in detail.lower(), detail
    assert (await client.get("/services/existing")).json() == before


async def test_duplicate_create_is_409_and_keeps_the_original(client: httpx.AsyncClient) -> None:
    first = (await client.post("/services", json={"key": "k", "name": "First"})).json()
    second = await client.post("/services", json={"key": "k", "name": "Second"})
    assert second.status_code == 409 and "already exists" in second.json()["detail"]
    assert (await client.get("/services/k")).json() == first


async def test_services_are_shown_as_of_now_even_when_no_worker_ran(
    client: httpx.AsyncClient,
) -> None:
    """No worker runs in these tests: the view applies the deadlines that passed."""
    await client.post("/heartbeat/lonely?period=60")
    await client.post("/dev/clock", json={"advance_seconds": 130})
    row = (await client.get("/services/lonely")).json()
    assert (row["status"], row["health"]) == ("silent", "unhealthy")
    assert row["status_since"] == (await client.get("/services")).json()["items"][0]["status_since"]
    await client.post("/dev/clock", json={"advance_seconds": 120})
    assert (await client.get("/services/lonely")).json()["status"] == "down"
    assert [r["key"] for r in (await client.get("/services?status=unknown")).json()["items"]] == []


@pytest.mark.parametrize(
    "url",
    [
        "/services/existing/history?from=9999-12-31T23:59:59-01:00",
        "/state-history?to=0001-01-01T00:00:00%2B01:00",
        # a hand-made cursor whose time has no offset
        "/services/existing/history?cursor=MjAyNi0wMS0wMVQwMDowMDowMHwwMWEyMDdiYi05OGI0LTc3MDEtYmNiOC02MWQ0ZTgzYWYwOGY",
    ],
)
async def test_out_of_range_times_and_naive_cursors_are_422_not_500(
    client: httpx.AsyncClient, url: str
) -> None:
    await client.post("/services", json={"key": "existing"})
    assert (await client.get(url)).status_code == 422


async def test_patch_null_criticality_is_422_and_changes_nothing(client: httpx.AsyncClient) -> None:
    await client.post("/services", json={"key": "c", "criticality": "high"})
    response = await client.patch("/services/c", json={"criticality": None})
    assert response.status_code == 422 and "criticality" in response.json()["detail"]
    assert (await client.get("/services/c")).json()["criticality"] == "high"


async def test_status_filter_uses_the_status_as_shown(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/lagging?period=60")
    await client.post("/dev/clock", json={"advance_seconds": 300})  # no worker runs here
    down = (await client.get("/services?status=down")).json()["items"]
    assert [r["key"] for r in down] == ["lagging"]
    assert (await client.get("/services?status=alive")).json()["items"] == []


async def test_dev_clock_refuses_absurd_times(client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/clock", json={"now": "9999-12-30T00:00:00Z"})
    assert response.status_code == 422
    assert (await client.post("/heartbeat/still-fine")).status_code == 200


async def test_chunked_oversized_body_on_a_validating_route_is_413(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> object:
        for _ in range(40):
            yield b"y" * 65536

    sid = (await client.post("/services", json={"key": "big"})).json()["id"]
    for url in ("/heartbeat/big?rid=1", f"/ping/{sid}"):
        response = await client.post(url, content=chunks())  # type: ignore[arg-type]
        assert response.status_code == 413, url
