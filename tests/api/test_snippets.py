"""What the far ends answered, in check results and delivery errors, is for admins only:
the views the API serves hide it from a read key (`.of(..., reveal=)`)."""

from __future__ import annotations

import httpx

from heartwatch.api.schemas import CheckResultPage, HealthOut
from heartwatch.domain.snippets import hide, quote
from heartwatch.runtime import Runtime
from heartwatch.services.dispatch import Dispatcher
from tests.api.conftest import Keys, with_key
from tests.fakes.receiver import Receiver, Reply

BODY = "internal: db-7.corp password reset page"


def test_quote_and_hide() -> None:
    assert quote("a «b» c") == "«a \u2039b\u203a c»"
    assert hide("the webhook answered 500: «<html>…»") == "the webhook answered 500: «…»"
    assert hide("exit status 3: «disk» and «more»") == "exit status 3: «…» and «…»"
    assert hide("status 503 not in 200-399") == "status 503 not in 200-399"
    assert hide(None) is None


async def test_check_results_show_what_came_back_to_admins_only(
    client: httpx.AsyncClient, keys: Keys, http_target: str
) -> None:
    admin, read = with_key(keys.admin), with_key(keys.read)
    r = await client.post(
        "/services",
        json={"key": "shop", "type": "http", "endpoint": f"{http_target}/ok", "json_path": "x"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    checked = (await client.post("/services/shop/check", headers=admin)).json()
    assert checked["detail"] == "ok"
    assert checked["error"] == "json_path x: response is not JSON: «ok»"

    for url in ("/services/shop/history", "/services/shop/health", "/services/shop", "/services"):
        as_admin = await client.get(url, headers=admin)
        as_read = await client.get(url, headers=read)
        assert (as_admin.status_code, as_read.status_code) == (200, 200), url
        assert "«ok»" in as_admin.text, url
        assert "«ok»" not in as_read.text and "«…»" in as_read.text, url
        assert '"detail":"ok"' not in as_read.text, url

    page = (await client.get("/services/shop/history", headers=read)).json()
    [seen] = CheckResultPage.model_validate(page).items
    assert (seen.detail, seen.error) == (None, "json_path x: response is not JSON: «…»")
    assert (seen.status, seen.failed_assertion, seen.http_status) == ("down", "json_path", 200)
    health = HealthOut.model_validate(
        (await client.get("/services/shop/health", headers=read)).json()
    )
    assert health.last_result is not None and health.last_result.detail is None


async def test_delivery_errors_in_the_outbox_show_what_the_far_end_said_to_admins_only(
    runtime: Runtime, client: httpx.AsyncClient, keys: Keys, http_target: str
) -> None:
    admin, read = with_key(keys.admin), with_key(keys.read)
    async with Receiver(Reply(500, BODY)) as receiver:
        r = await client.post(
            "/channels",
            json={"name": "hook", "type": "webhook", "config": {"url": receiver.url("/in")}},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        test = (await client.post("/channels/hook/test", headers=admin)).json()
        assert test == {"delivered": False, "error": f"the webhook answered 500: «{BODY}»"}
        # A service goes down; its alert meets the same answer, kept as its last error.
        r = await client.post(
            "/services",
            json={
                "key": "web",
                "type": "http",
                "endpoint": f"{http_target}/fail",
                "failure_threshold": 1,
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        assert (await client.post("/services/web/check", headers=admin)).status_code == 200
        rt = runtime
        dispatcher = Dispatcher(rt.db, rt.clock, rt.notifiers, rt.notify_context)
        assert await dispatcher.run_once() == 1
        assert len(receiver.received) == 2

    [as_admin] = (await client.get("/notifications", headers=admin)).json()["items"]
    [as_read] = (await client.get("/notifications", headers=read)).json()["items"]
    assert as_admin["last_error"] == f"the webhook answered 500: «{BODY}»"
    assert as_read["last_error"] == "the webhook answered 500: «…»"
    assert {**as_read, "last_error": None} == {**as_admin, "last_error": None}
