"""Public status pages and badges, over the real app and database (both backends): the
admin API that defines them, what a visitor sees (valid HTML and SVG, nothing internal),
and their HTTP caching."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import html5lib
import httpx
import pytest
from fastapi import FastAPI

from heartwatch.api.errors import install_error_handlers
from heartwatch.runtime import Runtime
from heartwatch.services import registry, status_pages
from heartwatch.services.uptime import PERIODS
from heartwatch.statuspages import public_router
from heartwatch.statuspages.cache import PageCache
from tests.api.conftest import Keys, with_key
from tests.conftest import T0

SVG = "{http://www.w3.org/2000/svg}"
ENDPOINT_SECRET = "http://10.9.8.7:9/internal-health-7f3a"
ERROR_TEXT = "stack trace: database password rejected 51c2"


async def _make_services(client: httpx.AsyncClient, http_target: str) -> dict[str, Any]:
    """A heartbeat service that failed with a log, a probe on an internal endpoint, and
    one (tagged) that is fine."""
    billing = await client.post(
        "/services",
        json={"key": "billing", "name": "Billing", "expected_period_sec": 300, "sla_target": 99.9},
    )
    assert billing.status_code == 201, billing.text
    failed = await client.post("/heartbeat/billing/fail", content=ERROR_TEXT.encode())
    assert failed.json()["status"] == "down"
    probe = await client.post(
        "/services",
        json={"key": "shop-api", "name": "Shop API", "type": "http", "endpoint": ENDPOINT_SECRET},
    )
    assert probe.status_code == 201, probe.text
    web = await client.post(
        "/services",
        json={
            "key": "web",
            "name": "Web",
            "type": "http",
            "endpoint": f"{http_target}/ok",
            "tags": ["public"],
            "timeout_ms": 5000,
        },
    )
    assert web.status_code == 201, web.text
    checked = await client.post("/services/web/check")
    assert checked.status_code < 300, checked.text
    return {"billing": billing.json(), "shop-api": probe.json(), "web": web.json()}


def _parse_html(text: str) -> None:
    """Strict HTML5 parsing: any parse error fails; and no id is used twice."""
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(text)
    assert parser.errors == []
    ids = re.findall(r'\sid="([^"]*)"', text)
    assert len(ids) == len(set(ids)), sorted(ids)


def _parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    return root


async def _page(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(
        "/status-pages",
        json={"slug": "acme", "title": "Acme status", "description": "Our services", **body},
    )


async def test_a_status_page_shows_statuses_bars_and_incidents_and_nothing_internal(
    client: httpx.AsyncClient, http_target: str
) -> None:
    services = await _make_services(client, http_target)
    created = await _page(client, service_keys=["billing", "shop-api"], tags=["public"])
    assert created.status_code == 201, created.text
    assert created.json()["url"] == "http://hw/status/acme"

    response = await client.get("/status/acme")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    _parse_html(html)
    for shown in ("Acme status", "Our services", "Billing", "Shop API", "Web", "Down"):
        assert shown in html
    assert "Operational" in html and "Some services are down" in html
    assert "Active incidents" in html and "is down since" in html
    # Nothing internal: endpoints, error texts, ids (the ping URLs' secret), the API.
    for secret in (ENDPOINT_SECRET, "10.9.8.7", ERROR_TEXT, "password", http_target):
        assert secret not in html
    for service in services.values():
        assert service["id"] not in html
        assert service["id"].replace("-", "") not in html
    # One 90-day bar per service, one cell a day, each with its tooltip.
    bars = html.count('<svg class="bar"')
    assert bars == 3
    assert html.count("<rect ") == 3 * 90
    assert "min up, 0 min down" in html or "min down" in html


async def test_the_bar_is_valid_svg_with_a_title_per_day(client: httpx.AsyncClient) -> None:
    await client.post("/services", json={"key": "jobs", "expected_period_sec": 60})
    await client.post("/heartbeat/jobs")
    assert (await _page(client, service_keys=["jobs"])).status_code == 201
    html = (await client.get("/status/acme")).text
    start = html.index('<svg class="bar"')
    svg = html[start : html.index("</svg>", start) + len("</svg>")]
    root = _parse_svg(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    cells = root.findall(f"{SVG}rect")
    assert len(cells) == 90
    assert all(cell.find(f"{SVG}title") is not None for cell in cells)
    assert cells[-1].findtext(f"{SVG}title", "").endswith("0 min down")
    assert "no data" in (cells[0].findtext(f"{SVG}title") or "")


async def test_etag_and_304_follow_the_state(client: httpx.AsyncClient) -> None:
    await client.post("/services", json={"key": "jobs", "expected_period_sec": 600})
    await client.post("/heartbeat/jobs")
    assert (await _page(client, service_keys=["jobs"])).status_code == 201
    first = await client.get("/status/acme")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=5"
    again = await client.get("/status/acme", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    for listed, status in [(f"W/{etag}", 304), (f'"x", {etag}', 304), ("*", 304), ('"x"', 200)]:
        answer = await client.get("/status/acme", headers={"If-None-Match": listed})
        assert answer.status_code == status, listed
    # A status change is a new version: the old ETag gets the new page.
    await client.post("/heartbeat/jobs/fail")
    changed = await client.get("/status/acme", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag and "Down" in changed.text
    # So is a change to the page itself.
    await client.patch("/status-pages/acme", json={"title": "Acme, Inc."})
    renamed = await client.get("/status/acme", headers={"If-None-Match": changed.headers["etag"]})
    assert renamed.status_code == 200 and "Acme, Inc." in renamed.text


async def test_admin_api_validates_and_answers_clear_4xx(client: httpx.AsyncClient) -> None:
    await client.post("/services", json={"key": "jobs", "expected_period_sec": 60})
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"slug": "Bad Slug", "title": "t", "service_keys": ["jobs"]}, 422, "slug"),
        ({"slug": "-x", "title": "t", "service_keys": ["jobs"]}, 422, "slug"),
        ({"slug": "ok", "title": "", "service_keys": ["jobs"]}, 422, "title"),
        ({"slug": "ok", "title": "t"}, 422, "service_keys, tags"),
        ({"slug": "ok", "title": "t", "service_keys": ["nope"]}, 422, "nope"),
        ({"slug": "ok", "title": "t", "tags": ["x"], "colour": "red"}, 422, "colour"),
    ]
    for body, status, mention in cases:
        response = await client.post("/status-pages", json=body)
        assert response.status_code == status, (body, response.text)
        assert mention in response.json()["detail"], response.text
    assert (await _page(client, service_keys=["jobs"])).status_code == 201
    duplicate = await _page(client, tags=["x"])
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    assert (await client.get("/status-pages/none")).status_code == 404
    assert (await client.patch("/status-pages/none", json={"title": "x"})).status_code == 404
    bad_patch = await client.patch("/status-pages/acme", json={"service_keys": [], "tags": []})
    assert bad_patch.status_code == 422
    moved = await client.patch("/status-pages/acme", json={"slug": "acme-2", "tags": ["x"]})
    assert moved.status_code == 200 and moved.json()["tags"] == ["x"]
    assert [p["slug"] for p in (await client.get("/status-pages")).json()["items"]] == ["acme-2"]
    assert (await client.get("/status/acme")).status_code == 404
    assert (await client.get("/status/acme-2")).status_code == 200
    assert (await client.delete("/status-pages/acme-2")).status_code == 204
    gone = await client.get("/status/acme-2")
    assert gone.status_code == 404 and "no status page" in gone.json()["detail"]


async def test_every_badge_is_valid_svg_and_shields_json(
    client: httpx.AsyncClient, http_target: str
) -> None:
    await _make_services(client, http_target)
    info = (await client.get("/services/web/badge")).json()
    token = info["token"]
    assert info["markdown"]["status"] == (f"![status of web](http://hw/badge/{token}/status.svg)")
    urls = [info["urls"]["status"], info["urls"]["latency"], *info["urls"]["uptime"].values()]
    assert set(info["urls"]["uptime"]) == set(PERIODS)
    for url in urls:
        response = await client.get(url.removeprefix("http://hw"))
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.headers["cache-control"] == "public, max-age=60"
        root = _parse_svg(response.text)
        assert root.findtext(f"{SVG}title")
        assert int(root.get("width", "0")) > 40
    status = _parse_svg((await client.get(f"/badge/{token}/status.svg")).text)
    assert status.findtext(f"{SVG}title") == "status: up"
    latency = _parse_svg((await client.get(f"/badge/{token}/latency.svg")).text)
    assert latency.findtext(f"{SVG}title", "").endswith(" ms")
    for name, url in info["urls"]["shields"].items():
        document = (await client.get(url.removeprefix("http://hw"))).json()
        assert document["schemaVersion"] == 1, name
        assert set(document) == {"schemaVersion", "label", "message", "color"}
    uptime = (await client.get(f"/badge/{token}/uptime/30d.json")).json()
    assert uptime == {
        "schemaVersion": 1,
        "label": "uptime 30d",
        "message": "100%",
        "color": "brightgreen",
    }

    down_token = (await client.get("/services/billing/badge")).json()["token"]
    down = (await client.get(f"/badge/{down_token}/status.json")).json()
    assert (down["message"], down["color"]) == ("down", "red")
    billing_svg = (await client.get(f"/badge/{down_token}/uptime/24h.svg")).text
    assert ERROR_TEXT not in billing_svg
    assert "no data" in (await client.get(f"/badge/{down_token}/latency.json")).text

    assert (await client.get(f"/badge/{token}/uptime/2w.svg")).status_code == 404
    assert (await client.get("/badge/not-a-token/status.svg")).status_code == 404


async def test_badges_answer_304_for_their_etag(client: httpx.AsyncClient) -> None:
    await client.post("/services", json={"key": "jobs", "expected_period_sec": 60})
    token = (await client.get("/services/jobs/badge")).json()["token"]
    first = await client.get(f"/badge/{token}/status.svg")
    etag = first.headers["etag"]
    cached = await client.get(f"/badge/{token}/status.svg", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.headers["etag"] == etag
    await client.post("/heartbeat/jobs")
    fresh = await client.get(f"/badge/{token}/status.svg", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and "status: up" in fresh.text


async def test_rotating_the_token_retires_the_old_urls(client: httpx.AsyncClient) -> None:
    await client.post("/services", json={"key": "jobs", "expected_period_sec": 60})
    old = (await client.get("/services/jobs/badge")).json()["token"]
    assert (await client.get("/services/jobs/badge")).json()["token"] == old  # stable
    rotated = await client.post("/services/jobs/badge-token")
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != old and len(new) >= 20
    gone = await client.get(f"/badge/{old}/status.svg")
    assert gone.status_code == 404 and "rotated" in gone.json()["detail"]
    assert (await client.get(f"/badge/{new}/status.svg")).status_code == 200
    assert (await client.post("/services/nope/badge-token")).status_code == 404


async def test_public_routes_need_no_key_and_admin_ones_do(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    admin = with_key(keys.admin)
    await client.post("/services", json={"key": "jobs"}, headers=admin)
    page = await client.post(
        "/status-pages", json={"slug": "s", "title": "S", "service_keys": ["jobs"]}, headers=admin
    )
    assert page.status_code == 201
    token = (await client.get("/services/jobs/badge", headers=admin)).json()["token"]
    assert (await client.get("/status/s")).status_code == 200
    assert (await client.get(f"/badge/{token}/status.svg")).status_code == 200
    assert (await client.get("/status-pages")).status_code == 401
    read = with_key(keys.read)
    assert (await client.get("/status-pages", headers=read)).status_code == 200
    refused = await client.post("/services/jobs/badge-token", headers=read)
    assert refused.status_code == 403


@pytest.mark.parametrize("slug", ["x" * 65, "UPPER", "a_b"])
async def test_a_malformed_slug_is_simply_not_found(client: httpx.AsyncClient, slug: str) -> None:
    response = await client.get(f"/status/{slug}")
    assert response.status_code == 404
    assert json.loads(response.text)["detail"].startswith("no status page")


async def test_a_process_trusts_a_pages_version_for_a_while(runtime: Runtime) -> None:
    """Outside dev mode a process reads a page's version at most once per `fresh_s`: a
    burst is served from memory, without a statement (here: even after the page is gone)."""
    async with runtime.db.writing() as session:
        await registry.create_service(
            session, key="jobs", name=None, description="", expected_period_sec=60, now=T0
        )
        spec = status_pages.PageSpec("acme", "Acme", service_keys=("jobs",))
        await status_pages.create_page(session, spec, T0)

    def app_with(fresh_s: float) -> httpx.AsyncClient:
        app = FastAPI()
        app.state.runtime = runtime
        install_error_handlers(app)
        app.state.status_pages = PageCache(fresh_s)
        app.include_router(public_router())
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hw")

    async with app_with(3600) as trusting, app_with(0) as checking:
        first = await trusting.get("/status/acme")
        assert first.status_code == 200
        async with runtime.db.writing() as session:
            await status_pages.delete_page(session, "acme")
        again = await trusting.get("/status/acme")
        assert again.status_code == 200 and again.headers["etag"] == first.headers["etag"]
        assert (await checking.get("/status/acme")).status_code == 404
