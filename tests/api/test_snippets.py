"""What the far ends answered, in check results and channel errors, is for admins only:
`redact_for(view, include_snippets=False)` on the views the API really serves."""

from __future__ import annotations

import httpx

from heartwatch.api.channel_schemas import EventOut
from heartwatch.api.channel_schemas import TestOut as ChannelTestOut
from heartwatch.api.schemas import CheckResultOut, CheckResultPage, HealthOut, ServiceOut
from heartwatch.api.snippets import redact_for
from heartwatch.domain.snippets import hide, quote
from tests.fakes.receiver import Receiver, Reply

BODY = "internal: db-7.corp password reset page"


def test_quote_and_hide() -> None:
    assert quote("a «b» c") == "«a \u2039b\u203a c»"
    assert hide("the webhook answered 500: «<html>…»") == "the webhook answered 500: «…»"
    assert hide("exit status 3: «disk» and «more»") == "exit status 3: «…» and «…»"
    assert hide("status 503 not in 200-399") == "status 503 not in 200-399"
    assert hide(None) is None


async def test_check_results_show_what_came_back_to_admins_only(
    client: httpx.AsyncClient, http_target: str
) -> None:
    r = await client.post(
        "/services",
        json={"key": "shop", "type": "http", "endpoint": f"{http_target}/ok", "json_path": "x"},
    )
    assert r.status_code == 201, r.text
    admin = CheckResultOut.model_validate((await client.post("/services/shop/check")).json())
    assert (admin.detail, admin.error) == ("ok", "json_path x: response is not JSON: «ok»")
    assert redact_for(admin, include_snippets=True) is admin

    seen = redact_for(admin, include_snippets=False)
    assert (seen.detail, seen.error) == (None, "json_path x: response is not JSON: «…»")
    assert (seen.status, seen.failed_assertion, seen.http_status) == ("down", "json_path", 200)

    page = CheckResultPage.model_validate((await client.get("/services/shop/history")).json())
    health = HealthOut.model_validate((await client.get("/services/shop/health")).json())
    service = ServiceOut.model_validate((await client.get("/services/shop")).json())
    listed = (await client.get("/services")).json()["items"]
    listing = [ServiceOut.model_validate(s) for s in listed]
    for view in (page, health, service, listing):
        assert "«ok»" in str(view)
        shown = str(redact_for(view, include_snippets=False))
        assert "«ok»" not in shown and "detail='ok'" not in shown and "«…»" in shown
    assert redact_for(page, False).items[0].detail is None
    assert redact_for(health, False).last_result.detail is None  # type: ignore[union-attr]


async def test_channel_errors_show_what_the_far_end_said_to_admins_only(
    client: httpx.AsyncClient,
) -> None:
    async with Receiver(Reply(500, BODY)) as receiver:
        r = await client.post(
            "/channels",
            json={"name": "hook", "type": "webhook", "config": {"url": receiver.url("/in")}},
        )
        assert r.status_code == 201, r.text
        admin = ChannelTestOut.model_validate((await client.post("/channels/hook/test")).json())
    assert admin.error == f"the webhook answered 500: «{BODY}»"
    assert redact_for(admin, False) == ChannelTestOut(
        delivered=False, error="the webhook answered 500: «…»"
    )
    # an alert's last error in the outbox, as it is stored
    event = EventOut.model_validate(
        {
            "id": "01a2364a-7c8d-7dc9-9f44-d077af8f8306",
            "channel_id": "01a2364a-7c8d-7dc9-9f44-d077af8f8307",
            "kind": "down",
            "status": "queued",
            "attempts": 1,
            "title": "shop is DOWN",
            "service_key": "shop",
            "transition_id": None,
            "created_at": "2026-01-05T12:00:00Z",
            "next_attempt_at": "2026-01-05T12:01:00Z",
            "sent_at": None,
            "last_error": admin.error,
        }
    )
    assert [e.last_error for e in redact_for([event], False)] == ["the webhook answered 500: «…»"]
