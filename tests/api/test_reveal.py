"""What a read-only key does not see: a service's id (the secret of its ping URLs,
`/ping/<id>` and `/api/push/<id>`) and what its checks read from their target. Every
read route is walked (generated from the route table), so a new one that shows them
fails here."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI

from heartwatch.api.app import create_app
from heartwatch.runtime import Runtime
from tests.api.conftest import Keys, with_key
from tests.api.test_access import endpoints, is_protected

BODY_SNIPPET = "overloaded"  # what http_target's /fail answers


@pytest.fixture
async def services(client: httpx.AsyncClient, keys: Keys, http_target: str) -> list[uuid.UUID]:
    """A heartbeat service and a probe service that failed a check (so there are
    heartbeats, check results, transitions and an incident); their ids."""
    admin = with_key(keys.admin)
    probe = await client.post(
        "/services",
        json={
            "key": "web",
            "type": "http",
            "endpoint": f"{http_target}/fail",
            "failure_threshold": 1,
        },
        headers=admin,
    )
    assert probe.status_code == 201, probe.text
    checked = await client.post("/services/web/check", headers=admin)
    assert checked.json()["detail"] == BODY_SNIPPET
    beat = await client.post("/heartbeat/beats")
    assert beat.status_code == 200
    return [uuid.UUID(probe.json()["id"]), uuid.UUID(beat.json()["service_id"])]


def _urls(app: FastAPI) -> list[str]:
    urls = []
    for endpoint in endpoints(app):
        if endpoint.method != "GET" or not is_protected(endpoint):
            continue
        for key in ("web", "beats"):
            urls.append(re.sub(r"\{[^}]+\}", key, endpoint.path))
    return sorted(set(urls))


def _secrets(ids: list[uuid.UUID]) -> list[str]:
    return [form for i in ids for form in (str(i), i.hex)] + [BODY_SNIPPET]


async def test_a_read_key_sees_no_ping_id_nor_check_output(
    runtime: Runtime, client: httpx.AsyncClient, keys: Keys, services: list[uuid.UUID]
) -> None:
    shown: list[str] = []
    read = with_key(keys.read)
    urls = _urls(create_app(runtime))
    assert "/services/web/history" in urls and "/metrics/summary" in urls
    answered = 0
    for url in urls:
        response = await client.get(url, headers=read)
        assert response.status_code < 500, url
        if response.status_code == 403:  # admin-only reads
            continue
        answered += response.status_code == 200
        shown += [f"{url}: {s}" for s in _secrets(services) if s in response.text]
    assert answered > 10
    assert shown == []


async def test_the_views_keep_their_shape_for_a_read_key(
    client: httpx.AsyncClient, keys: Keys, services: list[uuid.UUID]
) -> None:
    read, admin = with_key(keys.read), with_key(keys.admin)
    probe_id = str(services[0])
    # The listing keeps views per audience: each sees its own, in any order.
    for _ in range(2):
        as_admin = (await client.get("/services", headers=admin)).json()["items"]
        as_read = (await client.get("/services", headers=read)).json()["items"]
        assert [s["id"] for s in as_read] == [None, None]
        assert {s["id"] for s in as_admin} == {str(i) for i in services}
        assert [{**s, "id": None} for s in as_admin] == as_read

    service = (await client.get("/services/web", headers=read)).json()
    assert service["id"] is None and service["key"] == "web"
    # The UUID still finds the service (it is a secret to those who do not know it).
    by_id = await client.get(f"/services/{probe_id}", headers=read)
    assert by_id.json()["key"] == "web" and by_id.json()["id"] is None

    history = (await client.get("/services/web/history", headers=read)).json()
    assert history["service_id"] is None and history["service_key"] == "web"
    assert history["items"][0]["detail"] is None
    assert history["items"][0]["error"] is not None  # why it failed is still told
    admin_history = (await client.get("/services/web/history", headers=admin)).json()
    assert admin_history["service_id"] == probe_id
    assert admin_history["items"][0]["detail"] == BODY_SNIPPET

    health = (await client.get("/services/web/health", headers=read)).json()
    assert health["service_id"] is None and health["last_result"]["detail"] is None
    [incident] = (await client.get("/incidents/active", headers=read)).json()["items"]
    assert incident["service_id"] is None and incident["service_key"] == "web"
    uptime = (await client.get("/metrics/uptime/web", headers=read)).json()
    assert uptime["service_id"] is None and uptime["service_key"] == "web"


async def test_open_access_shows_everything_as_before(
    client: httpx.AsyncClient, http_target: str
) -> None:
    created = await client.post(
        "/services", json={"key": "web", "type": "http", "endpoint": f"{http_target}/fail"}
    )
    assert (await client.post("/services/web/check")).json()["detail"] == BODY_SNIPPET
    listed = (await client.get("/services")).json()["items"]
    assert listed[0]["id"] == created.json()["id"] is not None
    history = (await client.get("/services/web/history")).json()
    assert history["items"][0]["detail"] == BODY_SNIPPET
