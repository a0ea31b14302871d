"""The overview and the service page: what they show, their filters, the actions, and
that every page is valid HTML5 (parsed strictly). Open mode (no credential, loopback),
on both backends."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import httpx

from heartwatch.notifiers.webhook import SIGNATURE_HEADER, sign
from heartwatch.runtime import Runtime
from tests.fakes.receiver import Receiver, receiver  # noqa: F401 (a fixture)
from tests.web.conftest import assert_valid_html, csrf_of


async def _services(client: httpx.AsyncClient, target: str) -> None:
    for key, period in (("billing", 60), ("backup", 3600), ("mailer", 60)):
        assert (await client.post(f"/heartbeat/{key}?period={period}")).status_code == 200
    created = await client.post(
        "/services",
        json={"key": "shop-api", "name": "Shop API", "type": "http", "endpoint": target,
              "tags": ["shop"], "check_interval_sec": 30},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    await client.post("/heartbeat/mailer/fail", content=b"smtp refused: 550\n")


def _order(html: str) -> list[str]:
    return re.findall(r'data-key="([^"]+)"', html)


async def test_the_overview(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await _services(client, "http://127.0.0.1:9/health")
    await runtime.move_clock(5 * 60)  # billing: 5 min silent > 4 periods: down
    page = await client.get("/")
    assert page.status_code == 200
    assert_valid_html(page.text)
    assert "<title>(2 down) Overview · heartwatch</title>" in page.text
    # Problems first: down ones (longest first), then unknown, then alive.
    assert _order(page.text) == ["mailer", "billing", "shop-api", "backup"]
    assert re.search(r"down <strong>2</strong>", page.text)
    assert re.search(r"alive <strong>1</strong>", page.text)
    assert "last heartbeat 5 min ago" in page.text
    # Status as colour, icon and word.
    assert '<span class="status s-down"><span class="icon" aria-hidden="true">✖</span> down' in (
        page.text
    )
    assert "every 30 s" in page.text  # a probe's interval
    assert "1 h" in page.text  # backup's period

    by_status = await client.get("/?status=down")
    assert _order(by_status.text) == ["mailer", "billing"]
    by_tag = await client.get("/?tag=shop")
    assert _order(by_tag.text) == ["shop-api"]
    by_text = await client.get("/?q=SHOP+api")
    assert _order(by_text.text) == ["shop-api"]
    none = await client.get("/?q=nothing-like-it")
    assert "No service matches" in none.text
    assert_valid_html(none.text)
    assert (await client.get("/?status=bogus")).status_code == 422


async def test_the_live_state_version(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/billing?period=60")
    first = (await client.get("/ui/events")).json()
    assert first["counts"]["alive"] == 1
    assert first["down"] == 0
    # The same state, the same version (the cache keeps it a second: let it expire).
    client_app_state = await client.get("/", params={"q": ""})
    assert f'data-version="{first["version"]}"' in client_app_state.text
    await client.post("/heartbeat/billing?period=60")  # a heartbeat changes no status
    await runtime.move_clock(5 * 60)
    page = await client.get("/")
    version = re.search(r'data-version="([^"]+)"', page.text)
    assert version is not None and version[1] != first["version"]


async def test_the_service_pages(
    runtime: Runtime,
    client: httpx.AsyncClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    await _services(client, receiver.url("/health"))
    await runtime.move_clock(5 * 60)
    mailer = await client.get("/ui/services/mailer")
    assert mailer.status_code == 200
    assert_valid_html(mailer.text)
    assert "smtp refused: 550" in mailer.text  # the /fail body
    assert "Status changes" in mailer.text
    assert "Check now" not in mailer.text  # heartbeats are not checked
    svg = re.search(r"<svg .*?</svg>", mailer.text, re.DOTALL)
    assert svg is not None
    cells = ET.fromstring(svg[0]).findall("{http://www.w3.org/2000/svg}rect")
    assert len(cells) == 90
    today = cells[-1].findtext("{http://www.w3.org/2000/svg}title")
    assert today is not None and "% up" in today  # down since its /fail, minutes ago
    assert "Pause" in mailer.text

    shop = await client.get("/ui/services/shop-api")
    assert_valid_html(shop.text)
    assert "Check now" in shop.text
    csrf = csrf_of(shop.text)
    checked = await client.post("/ui/services/shop-api/check", data={"csrf": csrf})
    assert checked.status_code == 303
    after = await client.get(checked.headers["location"])
    assert "Checked now: up" in after.text
    assert_valid_html(after.text)
    assert "✔ up" in after.text  # the check result is listed
    assert re.search(r"<td>\d+ ms / \d+ ms</td>", after.text)  # its latency, p50 / p95

    muted = await client.post("/ui/services/shop-api/mute", data={"csrf": csrf, "minutes": "60"})
    assert "Muted until" in (await client.get(muted.headers["location"])).text
    bad = await client.post("/ui/services/shop-api/mute", data={"csrf": csrf, "minutes": "x"})
    assert bad.status_code == 422
    assert_valid_html(bad.text)
    await client.post("/ui/services/shop-api/unmute", data={"csrf": csrf})
    paused = await client.post("/ui/services/shop-api/pause", data={"csrf": csrf})
    page = await client.get(paused.headers["location"])
    assert "Resume" in page.text
    await client.post("/ui/services/shop-api/resume", data={"csrf": csrf})

    confirm = await client.get("/ui/services/shop-api/delete")
    assert_valid_html(confirm.text)
    assert "cannot be undone" in confirm.text
    deleted = await client.post("/ui/services/shop-api/delete", data={"csrf": csrf})
    assert deleted.headers["location"] == "/"
    gone = await client.get("/ui/services/shop-api")
    assert gone.status_code == 404
    assert_valid_html(gone.text)


async def test_other_pages_are_valid_html(client: httpx.AsyncClient) -> None:
    empty = await client.get("/")
    assert "No services yet" in empty.text
    assert_valid_html(empty.text)
    login = await client.get("/login")  # open mode: nothing to log in to
    assert login.status_code == 303
    css = await client.get("/ui/static/web.css")
    assert css.headers["content-type"].startswith("text/css")
    assert (await client.get("/ui/static/../config.py")).status_code == 404


def _field_error(html: str, field: str) -> str:
    match = re.search(rf'<span class="error" id="e-{field}">([^<]*)</span>', html)
    assert match is not None, f"no error next to {field}"
    return match[1]


async def test_the_create_service_forms(client: httpx.AsyncClient) -> None:
    for kind in ("heartbeat", "http", "tcp"):
        page = await client.get(f"/ui/new?type={kind}")
        assert page.status_code == 200
        assert_valid_html(page.text)
    csrf = csrf_of((await client.get("/ui/new")).text)

    bad_key = await client.post(
        "/ui/new", data={"csrf": csrf, "type": "heartbeat", "key": "no spaces"}
    )
    assert bad_key.status_code == 422
    assert_valid_html(bad_key.text)
    assert "key" in _field_error(bad_key.text, "key").lower()
    assert 'value="no spaces"' in bad_key.text  # what was typed is kept

    no_endpoint = await client.post("/ui/new", data={"csrf": csrf, "type": "http", "key": "x"})
    assert _field_error(no_endpoint.text, "endpoint")
    seconds = await client.post(
        "/ui/new",
        data={
            "csrf": csrf,
            "type": "http",
            "key": "x",
            "endpoint": "http://a.b/",
            "timeout_ms": "5",
        },
    )
    assert "did you mean seconds" in _field_error(seconds.text, "timeout_ms")
    metadata = await client.post(
        "/ui/new",
        data={"csrf": csrf, "type": "http", "key": "x", "endpoint": "http://169.254.169.254/"},
    )
    assert "denied" in _field_error(metadata.text, "endpoint")

    made = await client.post(
        "/ui/new",
        data={"csrf": csrf, "type": "heartbeat", "key": "nightly", "name": "Nightly job",
              "expected_period_sec": "86400", "tags": "ops, db", "criticality": "high"},
    )  # fmt: skip
    assert made.status_code == 303
    page = await client.get(made.headers["location"])
    assert "Created" in page.text
    assert "curl -fsS -m 10 --retry 5 -o /dev/null -X POST http://hw/heartbeat/nightly" in page.text
    assert "1 d" in page.text and "ops" in page.text
    again = await client.post("/ui/new", data={"csrf": csrf, "type": "heartbeat", "key": "nightly"})
    assert "already" in _field_error(again.text, "key")


async def test_the_incidents_page(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await client.post("/heartbeat/flaky?period=60")
    await client.post("/heartbeat/flaky/fail", content=b"disk full")
    await client.post("/heartbeat/broken?period=60")
    await client.post("/heartbeat/broken/fail")
    await runtime.move_clock(60)
    await client.post("/heartbeat/flaky")  # recovered
    page = await client.get("/ui/incidents")
    assert page.status_code == 200
    assert_valid_html(page.text)
    open_part, past_part = page.text.split('id="h-past"')
    assert "broken" in open_part and "flaky" not in open_part
    assert "flaky" in past_part and "1 min" in past_part
    only = await client.get("/ui/incidents?service=broken&period=24h")
    assert "flaky" not in only.text
    assert_valid_html(only.text)


async def test_the_channels_pages(
    client: httpx.AsyncClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    empty = await client.get("/ui/channels")
    assert "No channels yet" in empty.text
    form = await client.get("/ui/channels/new?type=webhook")
    assert_valid_html(form.text)
    csrf = csrf_of(form.text)
    base = {"csrf": csrf, "type": "webhook", "name": "hook", "enabled": "on"}
    bad = await client.post("/ui/channels/new", data={**base, "config.url": "not a url"})
    assert bad.status_code == 422
    assert_valid_html(bad.text)
    assert re.search(r'id="c-config-url-e">[^<]+<', bad.text)
    made = await client.post(
        "/ui/channels/new",
        data={**base, "config.url": receiver.url("/hook"), "config.secret": "s3cret-value-123"},
    )
    assert made.status_code == 303, made.text[:300]
    listed = await client.get(made.headers["location"])
    assert_valid_html(listed.text)
    assert "s3cret-value-123" not in listed.text
    assert "••••" in listed.text
    channel_id = re.search(r"/ui/channels/([0-9a-f-]{36})/test", listed.text)
    assert channel_id is not None

    tested = await client.post(f"/ui/channels/{channel_id[1]}/test", data={"csrf": csrf})
    assert "Test sent to hook" in (await client.get(tested.headers["location"])).text
    [request] = receiver.received
    assert request.headers[SIGNATURE_HEADER] == sign("s3cret-value-123", request.body)

    edit = await client.get(f"/ui/channels/{channel_id[1]}/edit")
    assert_valid_html(edit.text)
    assert "s3cret-value-123" not in edit.text
    masked = re.search(r'name="config.secret" type="text" value="([^"]+)"', edit.text)
    assert masked is not None and "••••" in masked[1]
    saved = await client.post(
        f"/ui/channels/{channel_id[1]}/edit",
        data={**base, "name": "hook2", "config.url": receiver.url("/hook"),
              "config.secret": masked[1]},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text[:500]
    # The masked secret sent back was kept: the test still signs with it.
    await client.post(f"/ui/channels/{channel_id[1]}/test", data={"csrf": csrf})
    second = receiver.received[1]
    assert second.headers[SIGNATURE_HEADER] == sign("s3cret-value-123", second.body)

    await client.post("/heartbeat/job?period=60")
    await client.post("/heartbeat/job/fail")
    outbox = await client.get("/ui/channels")
    assert_valid_html(outbox.text)
    assert "queued" in outbox.text and "hook2" in outbox.text
    deleted = await client.post(f"/ui/channels/{channel_id[1]}/delete", data={"csrf": csrf})
    assert "Deleted" in (await client.get(deleted.headers["location"])).text


async def test_the_edit_form(client: httpx.AsyncClient) -> None:
    await client.post(
        "/services",
        json={"key": "api", "type": "http", "endpoint": "http://127.0.0.1:9/x",
              "check_interval_sec": 30, "tags": ["a"], "expect_keyword": "ok"},
    )  # fmt: skip
    form = await client.get("/ui/services/api/edit")
    assert form.status_code == 200
    assert_valid_html(form.text)
    assert 'value="http://127.0.0.1:9/x"' in form.text
    assert 'name="expect_keyword" type="text" value="ok"' in form.text
    csrf = csrf_of(form.text)
    fields = {"csrf": csrf, "key": "api", "endpoint": "http://127.0.0.1:9/y",
              "check_interval_sec": "60", "tags": "b, c", "criticality": "high"}  # fmt: skip
    bad = await client.post("/ui/services/api/edit", data={**fields, "check_interval_sec": "0"})
    assert bad.status_code == 422
    assert_valid_html(bad.text)
    assert _field_error(bad.text, "check_interval_sec")
    saved = await client.post("/ui/services/api/edit", data=fields)
    assert saved.status_code == 303, saved.text[:300]
    page = await client.get(saved.headers["location"])
    assert "Saved" in page.text
    service = (await client.get("/services/api")).json()
    assert service["endpoint"] == "http://127.0.0.1:9/y"
    assert service["check_interval_sec"] == 60
    assert service["tags"] == ["b", "c"]
    assert service["criticality"] == "high"
    assert "expect_keyword" not in service["settings"]  # left empty: gone, as with PUT
