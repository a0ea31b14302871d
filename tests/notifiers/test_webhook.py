"""The generic webhook against a local receiver: the JSON, custom headers, the HMAC
signature a receiver can verify, and HTTP statuses sorted into retry or not."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from heartwatch.notifiers.base import DeliveryError, NotifyContext, masked
from heartwatch.notifiers.registry import NotifierRegistry
from heartwatch.notifiers.webhook import WebhookNotifier, WebhookSettings
from tests.fakes.receiver import Received, Receiver, Reply
from tests.notifiers.conftest import SERVICE_URL, down_message

SECRET = "whsec_0123456789abcdef"


def settings(receiver: Receiver, **fields: object) -> WebhookSettings:
    return WebhookSettings.model_validate({"url": receiver.url("/hooks/heartwatch"), **fields})


def verify(request: Received, secret: str, *, max_age_s: float = 300) -> bool:
    """What a receiver does: the HMAC of the raw body, then the signed timestamp's age."""
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers["X-Heartwatch-Signature"]):
        return False
    signed_at = request.json()["timestamp"]
    return str(signed_at) == request.headers["X-Heartwatch-Timestamp"] and (
        abs(time.time() - signed_at) <= max_age_s
    )


async def send_failing(receiver: Receiver, ctx: NotifyContext) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await WebhookNotifier().send(down_message(), settings(receiver), ctx)
    return raised.value


async def test_the_message_arrives_as_json(receiver: Receiver, ctx: NotifyContext) -> None:
    before = int(time.time())
    await WebhookNotifier().send(down_message(), settings(receiver), ctx)

    [request] = receiver.received
    assert (request.method, request.path) == ("POST", "/hooks/heartwatch")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("heartwatch/")
    assert "X-Heartwatch-Signature" not in request.headers  # no secret, no signature
    body = request.json()
    assert before <= body.pop("timestamp") <= time.time()
    assert body == {
        "event": "down",
        "title": "payments is DOWN",
        "body": down_message().body,
        "text": down_message().text(),
        "service_key": "payments",
        "service_name": "Payments API",
        "status": "down",
        "criticality": "high",
        "url": SERVICE_URL,
        "incident_id": "inc_01",
        "at": "2026-01-05T12:00:00Z",
        "fields": {"Since": "2026-01-05 11:58 UTC", "Last error": "status 503 not in 200-399"},
    }


async def test_put_with_custom_headers(receiver: Receiver, ctx: NotifyContext) -> None:
    custom = settings(
        receiver,
        method="put",
        headers={"Authorization": "Bearer t0ken", "user-agent": "ops-bridge", "X-Team": "pay"},
    )
    await WebhookNotifier().send(down_message(), custom, ctx)
    [request] = receiver.received
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["X-Team"] == "pay"
    # A configured header replaces ours, whatever its case: never two of them.
    assert request.headers.getall("User-Agent") == ["ops-bridge"]


async def test_the_signature_verifies_and_covers_body_and_timestamp(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    await WebhookNotifier().send(down_message(), settings(receiver, secret=SECRET), ctx)
    [request] = receiver.received
    assert request.headers["X-Heartwatch-Signature"].startswith("sha256=")
    assert verify(request, SECRET)
    assert not verify(request, "another secret")
    tampered = request.body.replace(b"payments is DOWN", b"payments is UP!!")
    assert not verify(Received(**{**request.__dict__, "body": tampered}), SECRET)
    # An old request replayed: the signature holds, the signed timestamp gives it away.
    assert not verify(request, SECRET, max_age_s=-1)


async def test_non_ascii_text_is_signed_as_sent(receiver: Receiver, ctx: NotifyContext) -> None:
    message = down_message(title="café ☕ is DOWN 🔥")
    await WebhookNotifier().send(message, settings(receiver, secret=SECRET), ctx)
    [request] = receiver.received
    assert verify(request, SECRET)
    assert request.json()["title"] == "café ☕ is DOWN 🔥"


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_is_delivered(receiver: Receiver, ctx: NotifyContext, status: int) -> None:
    receiver.default = Reply(status, "")
    await WebhookNotifier().send(down_message(), settings(receiver), ctx)
    assert len(receiver.received) == 1


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
async def test_retryable_statuses(receiver: Receiver, ctx: NotifyContext, status: int) -> None:
    receiver.reply_next(1, Reply(status, "busy"))
    error = await send_failing(receiver, ctx)
    assert error.retryable
    assert error.message == f"the webhook answered {status}: «busy»"


@pytest.mark.parametrize("status", [302, 400, 401, 403, 404, 405, 410, 413, 422])
async def test_statuses_that_need_a_config_change(
    receiver: Receiver, ctx: NotifyContext, status: int
) -> None:
    receiver.reply_next(1, Reply(status, '{"error": "nope"}'))
    error = await send_failing(receiver, ctx)
    assert not error.retryable
    assert error.message == f'the webhook answered {status}: «{{"error": "nope"}}»'


async def test_retry_after_in_seconds_or_as_a_date(receiver: Receiver, ctx: NotifyContext) -> None:
    receiver.reply_next(1, Reply(503, "", headers={"Retry-After": "120"}))
    assert (await send_failing(receiver, ctx)).retry_after == 120.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    receiver.reply_next(1, Reply(429, "", headers={"Retry-After": later}))
    retry_after = (await send_failing(receiver, ctx)).retry_after
    assert retry_after is not None and 85 <= retry_after <= 90


async def test_a_long_error_page_is_shortened(receiver: Receiver, ctx: NotifyContext) -> None:
    receiver.reply_next(1, Reply(500, "<html>\n" + "oops " * 1000 + "</html>"))
    error = await send_failing(receiver, ctx)
    assert len(error.message) < 250
    assert error.message.startswith("the webhook answered 500: «<html> oops oops")
    assert error.message.endswith("…»")


async def test_a_hanging_receiver_is_a_retryable_timeout(
    receiver: Receiver, http_session: aiohttp.ClientSession
) -> None:
    receiver.reply_next(1, Reply(delay=5))
    error = await send_failing(receiver, NotifyContext(http_session, timeout_s=0.2))
    assert error.retryable
    assert error.message == "the webhook did not answer within 0.2 s"


def test_header_values_and_the_secret_are_masked() -> None:
    valid = NotifierRegistry(discover=False).validate(
        "webhook",
        {
            "url": "https://ops.example.com/hook",
            "headers": {"Authorization": "Bearer 0123456789abcdefXYZW", "X-Team": "pay"},
            "secret": SECRET,
        },
    )
    assert masked(valid) == {
        "url": "https://ops.example.com/hook",
        "method": "POST",
        "headers": {"Authorization": "••••XYZW", "X-Team": "••••"},
        "secret": "••••cdef",
    }


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"url": "ftp://ops.example.com/"}, "url: URL 'ftp://ops.example.com/' must start with"),
        ({"url": "https://x/", "method": "GET"}, "method: Input should be 'POST' or 'PUT'"),
        ({"url": "https://x/", "headers": {"Bad Name": "x"}}, "'Bad Name' is not a valid header"),
        ({"url": "https://x/", "headers": {"X-A": "a\r\nX-B: b"}}, "header 'X-A' has a line break"),
        (
            {"url": "https://x/", "headers": {"x-heartwatch-signature": "sha256=forged"}},
            "header 'x-heartwatch-signature' is set by heartwatch and cannot be configured",
        ),
        ({"url": "https://x/", "secret": ""}, "secret: must not be empty"),
        ({"url": "https://x/", "signing_secret": "s"}, "signing_secret: unknown setting"),
    ],
)
def test_invalid_settings_are_refused_clearly(config: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        NotifierRegistry(discover=False).validate("webhook", config)


def test_credentials_in_the_url_and_an_authorization_header_are_refused() -> None:
    # (aiohttp would refuse to send it, at every delivery)
    with pytest.raises(ValueError, match=r"url has credentials .* and headers has an Auth"):
        NotifierRegistry(discover=False).validate(
            "webhook",
            {"url": "https://u:p@ops.example.com/", "headers": {"authorization": "Bearer x"}},
        )
