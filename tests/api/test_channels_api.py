"""Channels, the outbox and mutes over HTTP; test messages go to the local fake Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from tests.api.conftest import settings_for
from tests.fakes.telegram import FakeTelegram, fake_telegram  # noqa: F401 - a fixture

TOKEN_TAIL = "ABCD"


@pytest.fixture
async def tg_client(
    db_url: str,
    database: Database,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(db_url, debug_mode=True, telegram_api_url=fake_telegram.api_url)
    async with Runtime.open(settings) as rt:
        transport = httpx.ASGITransport(app=create_asgi_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
            yield c


def telegram_channel(token: str, **extra: object) -> dict[str, object]:
    return {
        "name": "ops",
        "type": "telegram",
        "config": {"bot_token": token, "chat_id": "42"},
        **extra,
    }


async def test_channel_crud_never_echoes_secrets(
    tg_client: httpx.AsyncClient,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    r = await tg_client.post(
        "/channels", json=telegram_channel(fake_telegram.token, events=["down", "recovered"])
    )
    assert r.status_code == 201, r.text
    channel = r.json()
    assert fake_telegram.token not in r.text
    assert channel["config"]["bot_token"].startswith("••••")
    assert channel["events"] == ["down", "recovered"]

    # sending the config back as shown keeps the stored token...
    r = await tg_client.patch(
        f"/channels/{channel['id']}", json={"config": {**channel["config"], "message_thread_id": 7}}
    )
    assert r.status_code == 200, r.text
    # ... but not for another chat: the token must come with it
    r = await tg_client.patch(
        f"/channels/{channel['id']}", json={"config": {**channel["config"], "chat_id": "43"}}
    )
    assert r.status_code == 422
    assert r.json()["detail"].endswith("send these again in full: bot_token")
    r = await tg_client.patch(
        f"/channels/{channel['id']}",
        json={"config": {"bot_token": fake_telegram.token, "chat_id": "43"}},
    )
    assert r.status_code == 200, r.text
    r = await tg_client.post("/channels/ops/test")
    assert r.json() == {"delivered": True, "error": None}
    [sent] = fake_telegram.sent
    assert sent.chat_id in (43, "43") and "test message" in sent.plain_text

    listed = (await tg_client.get("/channels")).json()["items"]
    assert [c["name"] for c in listed] == ["ops"] and fake_telegram.token not in str(listed)
    assert (await tg_client.delete("/channels/ops")).status_code == 204
    assert (await tg_client.get("/channels/ops")).status_code == 404


async def test_a_test_message_reports_the_failure(
    tg_client: httpx.AsyncClient,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    await tg_client.post("/channels", json=telegram_channel("999:NOT_THE_TOKEN"))
    body = (await tg_client.post("/channels/ops/test")).json()
    assert body["delivered"] is False and body["error"]
    assert "NOT_THE_TOKEN" not in body["error"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "x", "type": "carrier-pigeon", "config": {}}, "carrier-pigeon"),
        ({"name": "x", "type": "telegram", "config": {"chat_id": "1"}}, "bot_token"),
        ({"name": "x", "type": "telegram", "config": {}, "events": ["boom"]}, "events"),
        ({"name": "x", "type": "webhook", "config": {"url": "not a url"}}, "url"),
        ({"name": "x", "type": "email", "config": {"host": "h", "to": ["nope"]}}, "to"),
    ],
)
async def test_bad_channels_get_a_422_that_says_why(
    tg_client: httpx.AsyncClient, body: dict[str, object], needle: str
) -> None:
    r = await tg_client.post("/channels", json=body)
    assert r.status_code == 422, r.text
    assert needle in r.text


async def test_duplicate_channel_names_conflict(
    tg_client: httpx.AsyncClient,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    assert (await tg_client.post("/channels", json=telegram_channel("1:a"))).status_code == 201
    assert (await tg_client.post("/channels", json=telegram_channel("1:a"))).status_code == 409


async def test_mute_and_the_outbox(
    tg_client: httpx.AsyncClient,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    await tg_client.post("/channels", json=telegram_channel(fake_telegram.token))
    await tg_client.post("/heartbeat/nightly?period=3600")
    r = await tg_client.post("/services/nightly/mute", json={"minutes": 30})
    assert r.status_code == 200 and r.json()["muted_until"]
    await tg_client.post("/heartbeat/nightly/fail")
    assert (await tg_client.get("/notifications")).json()["items"] == []
    assert (await tg_client.delete("/services/nightly/mute")).json()["muted_until"] is None
    await tg_client.post("/heartbeat/nightly")
    [event] = (await tg_client.get("/notifications", params={"channel": "ops"})).json()["items"]
    assert event["kind"] == "recovered" and event["status"] == "queued"
    assert event["title"].startswith("nightly RECOVERED")
    bad = await tg_client.post("/services/nightly/mute", json={"minutes": 5, "until": "2030-01-01"})
    assert bad.status_code == 422
    assert (await tg_client.post("/services/nope/mute", json={"minutes": 5})).status_code == 404
