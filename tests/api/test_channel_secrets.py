"""A channel's secrets never leave in full, and never follow a channel to a new
destination: the attack of issue #13 (point a channel elsewhere, send its masked
secrets back, press "test") against real local receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.notifiers.webhook import SIGNATURE_HEADER, sign
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from tests.api.conftest import settings_for
from tests.fakes.receiver import Receiver

HMAC = "hmac-secret-0123456789"
BEARER = "Bearer api-token-0123456789-7890"
QUERY_TOKEN = "qtok-0123456789abcdef"
ROUTING_KEY = "R0123456789abcdefghijklmnopq7890"


@pytest.fixture
async def client(db_url: str, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with Runtime.open(settings_for(db_url), migrate=True) as rt:
        transport = httpx.ASGITransport(app=create_asgi_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
            yield c


@pytest.fixture
async def legit() -> AsyncIterator[Receiver]:
    async with Receiver() as receiver:
        yield receiver


@pytest.fixture
async def attacker() -> AsyncIterator[Receiver]:
    async with Receiver() as receiver:
        yield receiver


def leaked(text: str) -> list[str]:
    return [s for s in (HMAC, BEARER, QUERY_TOKEN, ROUTING_KEY, "api-token") if s in text]


async def test_a_webhooks_secrets_do_not_follow_it_to_a_new_url(
    client: httpx.AsyncClient, legit: Receiver, attacker: Receiver
) -> None:
    r = await client.post(
        "/channels",
        json={
            "name": "hook",
            "type": "webhook",
            "config": {
                "url": legit.url(f"/in?token={QUERY_TOKEN}"),
                "secret": HMAC,
                "headers": {"Authorization": BEARER},
            },
        },
    )
    assert r.status_code == 201, r.text
    shown = r.json()["config"]
    assert shown["url"] == legit.url("/in?token=••••cdef")
    assert shown["secret"] == "••••6789" and shown["headers"] == {"Authorization": "••••7890"}
    for response in (r, await client.get("/channels/hook"), await client.get("/channels")):
        assert leaked(response.text) == []

    # The attack: a new URL, the secrets sent back as they were shown.
    for config in (
        {"url": attacker.url("/"), "secret": "••••6789", "headers": {"Authorization": "••••7890"}},
        {**shown, "url": attacker.url("/")},
        {**shown, "url": attacker.url(f"/in?token={QUERY_TOKEN}")},  # the query guessed
    ):
        r = await client.patch("/channels/hook", json={"config": config})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == (
            "url changed: a masked secret is kept only while the channel's destination "
            "stays the same; send these again in full: headers.Authorization, secret"
        )
    # A masked URL cannot be edited into another one either.
    moved = {**shown, "url": shown["url"].replace("/in", "/other")}
    r = await client.patch("/channels/hook", json={"config": moved})
    assert r.status_code == 422 and "is a masked secret that does not match" in r.text

    r = await client.post("/channels/hook/test")
    assert r.json() == {"delivered": True, "error": None}
    assert attacker.received == []
    [request] = legit.received
    assert request.query == {"token": QUERY_TOKEN}
    assert request.headers["Authorization"] == BEARER
    assert request.headers[SIGNATURE_HEADER] == sign(HMAC, request.body)

    # The same destination keeps them; a new one works with secrets of its own.
    r = await client.patch("/channels/hook", json={"config": {**shown, "method": "PUT"}})
    assert r.status_code == 200, r.text
    fresh = {"url": attacker.url("/"), "secret": "other-hmac", "headers": {"X-Key": "other"}}
    r = await client.patch("/channels/hook", json={"config": fresh})
    assert r.status_code == 200, r.text
    assert (await client.post("/channels/hook/test")).json()["delivered"] is True
    [request] = attacker.received
    assert leaked(str(dict(request.headers)) + request.text()) == []
    assert request.headers[SIGNATURE_HEADER] == sign("other-hmac", request.body)
    assert len(legit.received) == 1


async def test_a_pagerduty_routing_key_does_not_follow_it_to_a_new_api(
    client: httpx.AsyncClient, legit: Receiver, attacker: Receiver
) -> None:
    r = await client.post(
        "/channels",
        json={
            "name": "pd",
            "type": "pagerduty",
            "config": {"routing_key": ROUTING_KEY, "api_url": legit.url()},
        },
    )
    assert r.status_code == 201, r.text
    shown = r.json()["config"]
    assert shown["routing_key"] == "••••7890" and leaked(r.text) == []

    for config in (
        {"routing_key": "••••7890", "api_url": attacker.url()},
        {"routing_key": "••••7890"},  # back to the default Events API: a change too
    ):
        r = await client.patch("/channels/pd", json={"config": config})
        assert r.status_code == 422, r.text
        assert r.json()["detail"].endswith("send these again in full: routing_key")

    assert (await client.post("/channels/pd/test")).json() == {"delivered": True, "error": None}
    assert attacker.received == []
    assert [e.json()["routing_key"] for e in legit.received] == [ROUTING_KEY, ROUTING_KEY]
    assert [e.json()["event_action"] for e in legit.received] == ["trigger", "resolve"]
