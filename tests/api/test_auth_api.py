"""Access control over HTTP: how keys are sent and refused, the failed-key limit, the
environment's admin key, when access control is on, and the OpenAPI's schemes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_app, create_asgi_app
from heartwatch.domain.auth import Role
from heartwatch.runtime import AUTH_FAILURES_PER_MINUTE, Runtime
from heartwatch.services.auth import Principal
from tests.api.conftest import Keys, settings_for, with_key

ADMIN_KEY = "env-admin-key-0123456789-abcdefghijklmnop"


def _client(runtime: Runtime, address: str = "10.1.2.3") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_asgi_app(runtime), client=(address, 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://hw")


async def test_a_key_is_sent_either_way(client: httpx.AsyncClient, keys: Keys) -> None:
    for headers in [
        {"Authorization": f"Bearer {keys.read}"},
        {"Authorization": f"bearer {keys.read}"},
        {"Authorization": f"BEARER   {keys.read}  "},
        {"X-Api-Key": keys.read},
        {"x-api-key": f" {keys.read} "},
        {"Authorization": f"Bearer {keys.read}", "X-Api-Key": keys.read},
    ]:
        assert (await client.get("/services", headers=headers)).status_code == 200, headers


async def test_what_is_not_a_key(client: httpx.AsyncClient, keys: Keys) -> None:
    # Another scheme is no key at all.
    basic = await client.get("/services", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert basic.headers["WWW-Authenticate"] == 'Bearer realm="heartwatch"'
    empty = await client.get("/services", headers={"Authorization": "Bearer ", "X-Api-Key": ""})
    assert empty.status_code == 401
    # Two different keys: which one was meant?
    both = await client.get(
        "/services", headers={"Authorization": f"Bearer {keys.admin}", "X-Api-Key": keys.read}
    )
    assert both.status_code == 400 and "two different" in both.json()["detail"]
    # A key with the env admin key's shape but none is set.
    assert (await client.get("/services", headers=with_key(ADMIN_KEY))).status_code == 401


async def test_keys_over_the_api(client: httpx.AsyncClient, keys: Keys) -> None:
    admin = with_key(keys.admin)
    created = await client.post(
        "/keys", json={"name": "grafana", "role": "read", "expires_in": "90d"}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    body = created.json()
    new_key = body["key"]
    assert new_key.startswith(f"hwk_{body['id']}_")
    assert body["role"] == "read" and body["state"] == "active"
    assert body["expires_at"] is not None and body["revoked_at"] is None

    # It works at once, as the read key it is.
    assert (await client.get("/services", headers=with_key(new_key))).status_code == 200
    assert (await client.get("/keys", headers=with_key(new_key))).status_code == 403

    listed = await client.get("/keys", headers=admin)
    assert listed.status_code == 200
    assert new_key not in listed.text and new_key.split("_")[2] not in listed.text
    by_name = {k["name"]: k for k in listed.json()["items"]}
    assert set(by_name) == {"admin", "read", "revoked", "expired", "grafana"}
    assert by_name["revoked"]["state"] == "revoked"
    assert by_name["expired"]["state"] == "expired"
    assert set(by_name["grafana"]) == {
        "id",
        "name",
        "role",
        "state",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    }

    revoked = await client.delete(f"/keys/{body['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    # ... and it stops working at once, in this process.
    refused = await client.get("/services", headers=with_key(new_key))
    assert refused.status_code == 401
    assert (await client.delete("/keys/nosuchkey000", headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"name": "x", "expires_in": "90d", "expires_at": "2030-01-01T00:00:00Z"}, "not both"),
        ({"name": "x", "expires_in": "90 days"}, "expires_in"),
        ({"name": "x", "expires_at": "2000-01-01T00:00:00Z"}, "future"),
        ({"name": "x", "role": "owner"}, "role"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "x", "secret": "mine"}, "secret"),
        ({}, "name"),
    ],
)
async def test_bad_key_requests(
    client: httpx.AsyncClient, keys: Keys, body: dict[str, str], problem: str
) -> None:
    response = await client.post("/keys", json=body, headers=with_key(keys.admin))
    assert response.status_code == 422, response.text
    assert problem in response.json()["detail"]


async def test_the_first_key_can_be_made_over_the_open_api(client: httpx.AsyncClient) -> None:
    """Open (no credential, loopback): the first admin key closes the API behind it."""
    assert (await client.get("/services")).status_code == 200
    created = await client.post("/keys", json={"name": "me", "role": "admin"})
    assert created.status_code == 201
    assert (await client.get("/services")).status_code == 401
    assert (await client.get("/services", headers=with_key(created.json()["key"]))).is_success


async def test_failed_keys_are_limited_per_address(
    runtime: Runtime, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    verify = runtime.authn.verify_key

    async def counting(presented: str, now: object) -> Principal | None:
        verified.append(presented)
        return await verify(presented, now)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime.authn, "verify_key", counting)
    async with _client(runtime) as client, _client(runtime, "10.9.9.9") as other:
        # Asking without a key, or with a key whose role may not, is no failed key.
        for _ in range(AUTH_FAILURES_PER_MINUTE + 5):
            assert (await client.get("/services")).status_code == 401
            forbidden = await client.post("/services", json={}, headers=with_key(keys.read))
            assert forbidden.status_code == 403
        for _ in range(AUTH_FAILURES_PER_MINUTE):
            response = await client.get("/services", headers=with_key(keys.unknown))
            assert response.status_code == 401
        verified.clear()
        blocked = await client.get("/services", headers=with_key(keys.admin))
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert "too many" in blocked.json()["detail"]
        assert verified == []  # refused before its key was looked at
        # Another address is not held back.
        assert (await other.get("/services", headers=with_key(keys.admin))).status_code == 200


async def test_ipv6_clients_are_counted_per_64(runtime: Runtime, keys: Keys) -> None:
    for n in range(AUTH_FAILURES_PER_MINUTE):
        async with _client(runtime, f"2001:db8::{n + 1:x}") as client:
            await client.get("/services", headers=with_key(keys.unknown))
    async with _client(runtime, "2001:db8::ffff") as same_64:
        assert (await same_64.get("/services", headers=with_key(keys.admin))).status_code == 429
    async with _client(runtime, "2001:db8:0:1::1") as next_64:
        assert (await next_64.get("/services", headers=with_key(keys.admin))).status_code == 200


async def test_authorize_runs_once_per_request(
    runtime: Runtime, client: httpx.AsyncClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routes that shape their answer by principal (`Reveal`) share the router's check."""
    calls: list[str] = []
    verify = runtime.authn.verify_key

    async def counting(presented: str, now: object) -> Principal | None:
        calls.append(presented)
        return await verify(presented, now)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime.authn, "verify_key", counting)
    assert (await client.get("/services", headers=with_key(keys.read))).status_code == 200
    assert len(calls) == 1


async def test_no_credential_serves_no_request_relayed_by_a_proxy(
    client: httpx.AsyncClient,
) -> None:
    """A reverse proxy in front of a loopback address makes it public."""
    assert (await client.get("/services")).status_code == 200
    for header in [{"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}]:
        relayed = await client.get("/services", headers=header)
        assert relayed.status_code == 401
        assert "heartwatch keys create" in relayed.json()["detail"]
        assert (await client.post("/heartbeat/billing", headers=header)).status_code == 200


@pytest.fixture
async def env_admin_runtime(db_url: str, database: object) -> AsyncIterator[Runtime]:
    settings = settings_for(db_url, admin_key=ADMIN_KEY, host="0.0.0.0")
    async with Runtime.open(settings) as runtime:
        yield runtime


async def test_the_environments_admin_key(env_admin_runtime: Runtime) -> None:
    """HEARTWATCH_ADMIN_KEY alone turns access control on, and is an admin key."""
    async with _client(env_admin_runtime) as client:
        assert (await client.get("/services")).status_code == 401
        assert (await client.get("/services", headers=with_key(ADMIN_KEY + "x"))).status_code == 401
        admin = {"X-Api-Key": ADMIN_KEY}
        created = await client.post("/services", json={"key": "billing"}, headers=admin)
        assert created.status_code == 201
        made = await client.post("/keys", json={"name": "ci", "role": "admin"}, headers=admin)
        assert made.status_code == 201
        # The heartbeat routes stay open to senders.
        assert (await client.post("/heartbeat/billing")).status_code == 200


@pytest.fixture
async def exposed_runtime(db_url: str, database: object) -> AsyncIterator[Runtime]:
    async with Runtime.open(settings_for(db_url, host="0.0.0.0")) as runtime:
        yield runtime


async def test_no_credential_beyond_loopback_refuses_every_protected_route(
    exposed_runtime: Runtime,
) -> None:
    """`heartwatch up` refuses to start like this (processes.py); if the last credential
    goes while it runs, the API closes rather than opening to everyone."""
    assert not await exposed_runtime.authn.enabled()
    async with _client(exposed_runtime) as client:
        refused = await client.get("/services")
        assert refused.status_code == 401
        assert "heartwatch keys create" in refused.json()["detail"]
        assert (await client.post("/keys", json={"name": "me"})).status_code == 401
        assert (await client.post("/heartbeat/billing")).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_auth_off_runs_open_beyond_loopback_until_a_credential_exists(
    db_url: str, database: object
) -> None:
    settings = settings_for(db_url, host="0.0.0.0", auth="off")
    async with Runtime.open(settings) as runtime, _client(runtime) as client:
        assert (await client.get("/services")).status_code == 200
        relayed = await client.get("/services", headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status_code == 200
        await runtime.authn.create_key("me", Role.ADMIN, None, runtime.clock.now())
        assert (await client.get("/services")).status_code == 401


def test_the_openapi_declares_both_schemes(runtime: Runtime) -> None:
    spec = create_app(runtime).openapi()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerApiKey"]["type"] == "http"
    assert schemes["bearerApiKey"]["scheme"].lower() == "bearer"
    assert schemes["headerApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": schemes["headerApiKey"]["description"],
    }
    listing = spec["paths"]["/services"]["get"]
    assert {"bearerApiKey": []} in listing["security"]
    assert {"headerApiKey": []} in listing["security"]
    assert {"401", "403", "429"} <= set(listing["responses"])
    for path, method in [("/heartbeat/{key}", "post"), ("/healthz", "get")]:
        assert "security" not in spec["paths"][path][method]
