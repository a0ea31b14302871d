"""The network policy over HTTP: a denied address is a 4xx when a probe or a channel is
configured with it, and a failed check or delivery that says why when a name leads
there. The denied network of the connect-time tests is loopback (where the real test
servers listen), set through HEARTWATCH_PROBE_DENY_NETWORKS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from tests.api.conftest import settings_for
from tests.fakes.receiver import Receiver

METADATA = "address 169.254.169.254 is in a denied network (169.254.0.0/16)"
LOOPBACK = "address 127.0.0.1 is in a denied network (127.0.0.0/8)"


@pytest.fixture
async def strict(db_url: str, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a heartwatch that also denies loopback."""
    settings = settings_for(db_url, probe_deny_networks="127.0.0.0/8, ::1")
    async with Runtime.open(settings, migrate=True) as rt:
        transport = httpx.ASGITransport(app=create_asgi_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
            yield c


@pytest.mark.parametrize(
    ("kind", "endpoint"),
    [
        ("http", "http://169.254.169.254/latest/meta-data/iam/"),
        ("http", "http://2852039166/"),
        ("http", "http://[::ffff:169.254.169.254]/"),
        ("tcp", "0xa9fea9fe:80"),
    ],
)
async def test_a_probe_at_the_metadata_address_is_refused(
    client: httpx.AsyncClient, kind: str, endpoint: str
) -> None:
    r = await client.post("/services", json={"key": "m", "type": kind, "endpoint": endpoint})
    assert r.status_code == 422
    assert r.json()["detail"] == f"endpoint: {METADATA}; heartwatch does not connect there"
    assert (await client.get("/services")).json()["items"] == []


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("webhook", {"url": "http://169.254.169.254/latest"}),
        ("slack", {"webhook_url": "http://2852039166/services/T/B/x"}),
        ("pagerduty", {"routing_key": "R" * 32, "api_url": "http://0251.0376.0251.0376"}),
    ],
)
async def test_a_channel_at_the_metadata_address_is_refused(
    client: httpx.AsyncClient, kind: str, config: dict[str, object]
) -> None:
    r = await client.post("/channels", json={"name": "c", "type": kind, "config": config})
    assert r.status_code == 422
    assert r.json()["detail"].endswith(f": {METADATA}; heartwatch does not send there")


async def test_a_probe_whose_name_leads_to_a_denied_address_fails_saying_why(
    strict: httpx.AsyncClient, http_target: str
) -> None:
    port = http_target.rsplit(":", 1)[1]
    literal = await strict.post(
        "/services", json={"key": "l", "type": "http", "endpoint": f"{http_target}/ok"}
    )
    assert literal.status_code == 422 and LOOPBACK in literal.text
    r = await strict.post(
        "/services", json={"key": "n", "type": "http", "endpoint": f"http://localhost:{port}/ok"}
    )
    assert r.status_code == 201, r.text
    result = (await strict.post("/services/n/check")).json()
    assert (result["status"], result["failed_assertion"]) == ("down", "denied")
    assert result["error"] == f"refused to connect to localhost:{port}: {LOOPBACK}"


async def test_a_channel_whose_name_leads_to_a_denied_address_fails_saying_why(
    strict: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    async with Receiver() as receiver:
        port = receiver.base_url.rsplit(":", 1)[1]
        url = f"http://localhost:{port}/in"
        r = await strict.post(
            "/channels", json={"name": "h", "type": "webhook", "config": {"url": url}}
        )
        assert r.status_code == 201, r.text
        body = (await strict.post("/channels/h/test")).json()
        assert body == {
            "delivered": False,
            "error": f"the webhook: refused to connect to localhost:{port}: {LOOPBACK}",
        }
        assert receiver.received == []
        # the default policy (`client`, on the same database) lets loopback through:
        # one-machine setups, tests
        assert (await client.post("/channels/h/test")).json()["delivered"] is True
        assert len(receiver.received) == 1
