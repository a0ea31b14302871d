"""Input that used to be a 500, each as its scenario: a clear 4xx now, and the service
keeps working for everyone else. Through the app as served (the heartbeat fast path in
front) and through the FastAPI routes alone, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from heartwatch.api.app import create_asgi_app
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from heartwatch.store.migrate import upgrade
from tests.api.conftest import Keys, settings_for, with_key
from tests.conftest import _admin, create_pg_database, drop_pg_database

PING_KEY = "s3cret-ping-key"


@pytest.fixture(params=["fast path", "routes"])
async def any_client(
    request: pytest.FixtureRequest, runtime: Runtime
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_asgi_app(runtime, fast_heartbeat=request.param == "fast path")
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
        yield c


@pytest.mark.parametrize("period", ["1e-300", "5e-324", "0.5", "0"])
async def test_a_tiny_period_is_refused_and_later_heartbeats_keep_working(
    any_client: httpx.AsyncClient, period: str
) -> None:
    assert (await any_client.post("/heartbeat/job", params={"period": "60"})).status_code == 200
    refused = await any_client.post("/heartbeat/job", params={"period": period})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["query", "period"]
    assert "greater than or equal to 1" in refused.json()["detail"]
    for _ in range(3):
        later = await any_client.post("/heartbeat/job")
        assert later.status_code == 200, later.text
        assert later.json()["status"] == "alive"
    # A new key with a tiny period is not registered either.
    assert (await any_client.post(f"/heartbeat/new?period={period}")).status_code == 422
    assert (await any_client.get("/services/new")).status_code == 404


async def test_the_period_floor_is_one_second_everywhere(any_client: httpx.AsyncClient) -> None:
    assert (await any_client.post("/heartbeat/job?period=1")).status_code == 200
    created = await any_client.post("/services", json={"key": "x", "expected_period_sec": 1e-300})
    assert created.status_code == 422
    patched = await any_client.patch("/services/job", json={"expected_period_sec": 0.5})
    assert patched.status_code == 422
    assert (await any_client.post("/heartbeat/job")).status_code == 200


async def test_unicode_digits_are_not_exit_statuses(
    runtime: Runtime, any_client: httpx.AsyncClient
) -> None:
    created = await any_client.post("/services", json={"key": "job", "expected_period_sec": 60})
    sid = created.json()["id"]
    assert (await any_client.get(f"/ping/{sid}")).status_code == 200
    for suffix in (
        "\u00b9",
        "\u0663",
        "\uff13",
        "\u00b2\u00b3",
    ):  # superscript one, Arabic-Indic three, fullwidth three, superscripts
        answer = await any_client.get(f"/ping/{sid}/{suffix}")
        assert (answer.status_code, answer.text) == (404, "not found")
    assert (await any_client.get(f"/ping/{sid}/3")).status_code == 200  # ASCII: exit 3
    page = (await any_client.get("/services/job/history")).json()
    assert [h["kind"] for h in page["items"]] == ["fail", "success"]


@pytest.mark.parametrize("required", [False, True])
async def test_a_non_ascii_ping_key_in_the_path_is_a_wrong_key(
    runtime: Runtime, any_client: httpx.AsyncClient, required: bool
) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"ping_key": PING_KEY, "require_ping_key": required}
    )
    for first in ("\u00e9t\u00e9", "%ff", "\u0663" * 16, PING_KEY + "\u00e9"):
        answer = await any_client.get(f"/ping/{first}/slug")
        assert answer.status_code == 401, (first, answer.text)
        assert "wrong ping key" in answer.json()["detail"]
    assert (await any_client.get(f"/ping/{PING_KEY}/slug?create=1")).status_code == 200


NUL_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/services", {"key": "a", "name": "a\x00b"}, "body.name"),
    ("POST", "/services", {"key": "a", "description": "\x00"}, "body.description"),
    ("POST", "/services", {"key": "a", "tags": ["ok", "x\x00"]}, "body.tags.1"),
    (
        "POST",
        "/services",
        {"key": "a", "type": "http", "endpoint": "http://127.0.0.1/", "headers": {"X": "\x00"}},
        "body.headers.X",
    ),
    (
        "POST",
        "/services",
        {"key": "a", "type": "http", "endpoint": "http://127.0.0.1/\x00"},
        "body.endpoint",
    ),
    ("PATCH", "/services/job", {"name": "\x00"}, "body.name"),
    ("PATCH", "/services/job", {"expect_kw\x00": 1}, "body.expect_kw\x00"),
    (
        "POST",
        "/channels",
        {"name": "a\x00", "type": "webhook", "config": {"url": "http://127.0.0.1:9/"}},
        "body.name",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "where"), NUL_BODIES)
async def test_a_nul_in_configured_text_is_a_422_that_says_where(
    any_client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], where: str
) -> None:
    assert (await any_client.post("/services", json={"key": "job"})).status_code == 201
    answer = await any_client.request(method, path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {"detail": f"{where}: text may not contain the NUL character (\\u0000)"}
    assert (await any_client.get("/services/a")).status_code == 404
    assert (await any_client.get("/services/job")).json()["name"] == "job"


@pytest.mark.parametrize(
    "url",
    [
        "/services/a%00b",
        "/services/job/history?cursor=%00",
        "/incidents?service=%00",
        "/services?x=%00",
    ],
)
async def test_a_nul_in_a_path_or_query_is_a_422(any_client: httpx.AsyncClient, url: str) -> None:
    answer = await any_client.get(url)
    assert answer.status_code == 422, answer.text
    assert "NUL character" in answer.json()["detail"]


async def test_a_ping_body_and_run_id_with_nul_are_still_recorded(
    any_client: httpx.AsyncClient,
) -> None:
    """Heartbeats come from programs: their NUL is stored as U+FFFD, not refused."""
    answer = await any_client.post("/heartbeat/job?rid=a%00b", content=b"log\x00tail")
    assert answer.status_code == 200
    [item] = (await any_client.get("/services/job/history")).json()["items"]
    assert (item["body"], item["run_id"]) == ("log\ufffdtail", "a\ufffdb")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/services"), ("PATCH", "/services/job"), ("POST", "/channels"), ("POST", "/keys")],
)
async def test_without_a_key_a_body_that_is_not_json_is_a_401_not_a_422(
    client: httpx.AsyncClient, keys: Keys, method: str, path: str
) -> None:
    """FastAPI parses the body before the route's dependencies run: the key comes first."""
    for body in (b"{not json", b"\x00", b""):
        headers = {"Content-Type": "application/json"}
        anonymous = await client.request(method, path, content=body, headers=headers)
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = await client.request(
            method, path, content=body, headers=with_key(keys.unknown) | headers
        )
        assert wrong.status_code == 401
        read = await client.request(
            method, path, content=body, headers=with_key(keys.read) | headers
        )
        assert read.status_code == 403
        admin = await client.request(
            method, path, content=body, headers=with_key(keys.admin) | headers
        )
        assert admin.status_code == 422, admin.text


async def test_readyz_tells_the_world_no_more_than_unavailable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Its own PostgreSQL database refusing connections: /readyz is a 503 that names no
    host, user, database or driver message; the reason is in the log."""
    url = await asyncio.to_thread(create_pg_database, "hw_readyz")
    name = make_url(url).database
    try:
        db = Database(url)
        await upgrade(db)
        await db.dispose()
        async with Runtime.open(settings_for(url)) as runtime:
            transport = httpx.ASGITransport(app=create_asgi_app(runtime))
            async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
                assert (await c.get("/readyz")).json() == {"status": "ok"}
                await runtime.db.dispose()  # (its pooled connections)
                await _admin(
                    f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}'",
                )
                answer = await c.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "unavailable",
            "detail": "the database cannot be reached",
        }
        logged = capsys.readouterr()
        assert "readyz: the database cannot be reached" in logged.out + logged.err
    finally:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await asyncio.to_thread(drop_pg_database, url)
