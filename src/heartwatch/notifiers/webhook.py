"""A generic webhook: the message as JSON, POSTed (or PUT) to any URL.

With a `secret`, every request is signed so the receiver can tell it came from us:

    X-Heartwatch-Timestamp: 1767614400
    X-Heartwatch-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed by the secret>

The body carries the same `timestamp`, so the signature covers it: a receiver verifies
the HMAC over the raw body (before parsing it) and refuses a timestamp more than a few
minutes old, which stops a captured request from being replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from heartwatch.notifiers import _http
from heartwatch.notifiers._checks import HEADER_NAME, check_web_url
from heartwatch.notifiers.base import (
    Destination,
    Message,
    Notifier,
    NotifierSettings,
    NotifyContext,
    SecretUrl,
)
from heartwatch.notifiers.masking import mask_url

SIGNATURE_HEADER: Final = "X-Heartwatch-Signature"
TIMESTAMP_HEADER: Final = "X-Heartwatch-Timestamp"
# Set by heartwatch (or by HTTP itself): a configured value would be overwritten or
# would corrupt the request.
_RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (SIGNATURE_HEADER, TIMESTAMP_HEADER, "Content-Length", "Host", "Transfer-Encoding")
)


class WebhookSettings(NotifierSettings):
    # Its credentials and query are secrets (`?token=...`), its host and path are not.
    url: Annotated[SecretUrl, Destination()]
    method: Literal["POST", "PUT"] = "POST"
    # Values are secrets: they are usually credentials ("Authorization: Bearer ...").
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    # The HMAC key of the signature header.
    secret: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: SecretUrl) -> SecretUrl:
        return SecretUrl(check_web_url(value.get_secret_value(), shown_as=mask_url))

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, text in value.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by heartwatch and cannot be configured")
            if any(char in text.get_secret_value() for char in "\r\n\0"):
                raise ValueError(f"header {name!r} has a line break in its value")
        return value

    @model_validator(mode="after")
    def _one_authorization(self) -> WebhookSettings:
        in_url = urlsplit(self.url.get_secret_value()).username is not None
        if in_url and any(name.lower() == "authorization" for name in self.headers):
            raise ValueError(
                "url has credentials (user:password@) and headers has an Authorization: "
                "give one of them"
            )
        return self

    @field_validator("secret")
    @classmethod
    def _non_empty_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("must not be empty (leave it out to send unsigned requests)")
        return value


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(message: Message, timestamp: int) -> dict[str, Any]:
    return {
        "event": message.event,
        "title": message.title,
        "body": message.body,
        "text": message.text(),
        "service_key": message.service_key,
        "service_name": message.service_name,
        "status": message.status,
        "criticality": message.criticality,
        "url": message.url,
        "incident_id": message.incident_id,
        "at": message.at.isoformat().replace("+00:00", "Z"),
        "fields": dict(message.fields),
        "timestamp": timestamp,
    }


class WebhookNotifier(Notifier[WebhookSettings]):
    type = "webhook"
    rate_per_minute = 600.0

    async def send(self, message: Message, settings: WebhookSettings, ctx: NotifyContext) -> None:
        # The real time, not the (dev) clock: the receiver compares it with its own.
        timestamp = int(time.time())
        body = json.dumps(payload(message, timestamp), ensure_ascii=False).encode()
        headers = {name: value.get_secret_value() for name, value in settings.headers.items()}
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        if settings.secret is not None:
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(settings.secret.get_secret_value(), body)
        answer = await _http.request(
            ctx,
            settings.method,
            settings.url.get_secret_value(),
            body=body,
            headers=headers,
            what="the webhook",
            secrets=(settings.url,),
        )
        if not 200 <= answer.status < 300:
            raise _http.status_error("the webhook", answer.status, answer.excerpt(), answer.headers)
