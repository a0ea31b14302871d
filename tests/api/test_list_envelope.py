"""One list shape: every list endpoint answers `{"items": [...], "next_cursor": ...}`, and
a client that follows `next_cursor` reads every item once, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from heartwatch.api.app import create_app, create_asgi_app
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from tests.api.conftest import settings_for
from tests.fakes.telegram import FakeTelegram, fake_telegram  # noqa: F401 - a fixture

LISTS = [
    "/services",
    "/services/beats/history",
    "/services/beats/incidents",
    "/incidents",
    "/incidents/active",
    "/state-history",
    "/channels",
    "/notifications",
    "/keys",
    "/maintenance",
    "/status-pages",
]


@pytest.fixture
async def outbox_client(
    db_url: str,
    database: Database,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(db_url, debug_mode=True, telegram_api_url=fake_telegram.api_url)
    async with Runtime.open(settings) as rt:
        transport = httpx.ASGITransport(app=create_asgi_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
            yield c


async def read_all(client: httpx.AsyncClient, path: str, **params: Any) -> list[Any]:
    """Every item of a list, page by page, as a client would read it."""
    items: list[Any] = []
    cursor = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=query)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path}: no last page")


async def test_every_list_endpoint_answers_the_envelope(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/beats?period=60")
    await client.post("/heartbeat/beats/fail")
    for path in LISTS:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        page = response.json()
        assert isinstance(page, dict) and isinstance(page["items"], list), (path, page)
        assert "next_cursor" in page, path


def test_no_operation_answers_a_bare_array(runtime: Runtime) -> None:
    spec = create_app(runtime).openapi()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                assert not (schema and schema.get("type") == "array"), (method, path, status)


async def test_state_history_pages_by_cursor(client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/flappy?period=60")
    for _ in range(3):
        await client.post("/heartbeat/flappy/fail")
        await client.post("/heartbeat/flappy")
    whole = (await client.get("/state-history", params={"limit": 1000})).json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 7
    paged = await read_all(client, "/state-history", limit=2)
    assert paged == whole["items"]
    one = await read_all(client, "/state-history", limit=3, service_key="flappy")
    assert one == whole["items"]


async def test_the_outbox_pages_by_cursor(
    outbox_client: httpx.AsyncClient,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    channel = {
        "name": "ops",
        "type": "telegram",
        "config": {"bot_token": fake_telegram.token, "chat_id": "42"},
    }
    assert (await outbox_client.post("/channels", json=channel)).status_code == 201
    await outbox_client.post("/heartbeat/job?period=3600")
    for _ in range(3):
        await outbox_client.post("/heartbeat/job/fail")
        await outbox_client.post("/heartbeat/job")
    whole = (await outbox_client.get("/notifications", params={"limit": 1000})).json()
    # (alerts only: a service that flaps gets one "flapping" for its flaps)
    assert whole["next_cursor"] is None and len(whole["items"]) >= 4
    assert await read_all(outbox_client, "/notifications", limit=4) == whole["items"]
    by_channel = await read_all(outbox_client, "/notifications", limit=1, channel="ops")
    assert by_channel == whole["items"]


async def test_a_cursor_that_is_not_one_is_a_422(client: httpx.AsyncClient) -> None:
    for path in ("/state-history", "/notifications"):
        response = await client.get(path, params={"cursor": "not-a-cursor"})
        assert response.status_code == 422, path
        assert "cursor" in response.json()["detail"]
