"""A probe's credentials (headers, a plugin's password or token, the endpoint's
`user:password@` and query) are shown to admins only; a read key sees them masked, and
an admin sending that view back keeps the stored secrets while the host stays."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from heartwatch.api.probe_secrets import masked_endpoint, masked_settings
from tests.api.conftest import Keys, with_key

TOKEN = "tok-0123456789abcdef-XYZW"
ENDPOINT = f"http://monitor:hunter22@127.0.0.1:9/health?token={TOKEN}&mode=full"
PROBE = {
    "key": "web",
    "type": "http",
    "endpoint": ENDPOINT,
    "headers": {
        "Authorization": f"Bearer {TOKEN}",
        "cookie": "session=abc",
        "X-Api-Key": TOKEN,
        "Accept": "text/plain",
    },
    "expect_keyword": "ok",
}


def test_masked_settings_masks_credentials_at_any_depth() -> None:
    settings: dict[str, Any] = {
        "headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "*/*"},
        "password": "pw",
        "auth": {"username": "u", "api_token": "0123456789abcdef-LAST", "port": 5432},
        "expect_keyword": "token",  # a name, not a secret: the value is shown
        "pin": 1234,
    }
    assert masked_settings(settings) == {
        "headers": {"Authorization": "••••", "Accept": "*/*"},  # whole: a header, a password
        "password": "••••",
        "auth": {"username": "u", "api_token": "••••LAST", "port": 5432},
        "expect_keyword": "token",
        "pin": 1234,
    }
    assert masked_endpoint("http://u:p@h/x?a=1") == "http://••••@h/x?a=••••"
    assert masked_endpoint("db.internal:5432") == "db.internal:5432"


async def create(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await client.post("/services", json=PROBE, headers=with_key(keys.admin))
    assert created.status_code == 201, created.text


async def test_a_read_key_sees_a_probes_credentials_masked(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    await create(client, keys)
    admin = (await client.get("/services/web", headers=with_key(keys.admin))).json()
    assert admin["endpoint"] == ENDPOINT
    assert admin["settings"]["headers"] == PROBE["headers"]
    for shown in (
        (await client.get("/services/web", headers=with_key(keys.read))).json(),
        (await client.get("/services", headers=with_key(keys.read))).json()["items"][0],
    ):
        assert shown["endpoint"] == "http://••••@127.0.0.1:9/health?token=••••XYZW&mode=••••"
        assert shown["settings"]["headers"] == {
            "Authorization": "••••",
            "cookie": "••••",
            "X-Api-Key": "••••",
            "Accept": "text/plain",
        }
        assert shown["settings"]["expect_keyword"] == "ok"
        assert TOKEN not in str(shown) and "hunter22" not in str(shown)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_an_admin_sending_the_masked_view_back_keeps_the_secrets(
    client: httpx.AsyncClient, keys: Keys, method: str
) -> None:
    await create(client, keys)
    seen = (await client.get("/services/web", headers=with_key(keys.read))).json()
    named = {"key": "web", "type": "http"} if method == "PUT" else {}
    body = {
        **named,
        "endpoint": seen["endpoint"],
        **seen["settings"],
        "expect_keyword": "healthy",
    }
    sent = await client.request(method, "/services/web", json=body, headers=with_key(keys.admin))
    assert sent.status_code == 200, sent.text
    stored = (await client.get("/services/web", headers=with_key(keys.admin))).json()
    assert stored["endpoint"] == ENDPOINT
    assert stored["settings"]["headers"] == PROBE["headers"]
    assert stored["settings"]["expect_keyword"] == "healthy"


async def test_a_masked_secret_is_not_kept_for_another_host(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    await create(client, keys)
    seen = (await client.get("/services/web", headers=with_key(keys.read))).json()
    moved = {"endpoint": "http://127.0.0.2:9/health", "headers": seen["settings"]["headers"]}
    answer = await client.patch("/services/web", json=moved, headers=with_key(keys.admin))
    assert answer.status_code == 422
    assert "host changed" in answer.json()["detail"]
    assert "headers.Authorization" in answer.json()["detail"]
    wrong = {"endpoint": "http://127.0.0.1:9/health?token=••••ABCD"}
    answer = await client.patch("/services/web", json=wrong, headers=with_key(keys.admin))
    assert answer.status_code == 422
    assert "do not match" in answer.json()["detail"]
    stored = (await client.get("/services/web", headers=with_key(keys.admin))).json()
    assert stored["endpoint"] == ENDPOINT and stored["settings"]["headers"] == PROBE["headers"]
