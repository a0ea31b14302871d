"""PagerDuty, through the Events API v2 (`POST /v2/enqueue`).

What each event does:

- `silent`, `down`, `dead` trigger an alert (by default; `trigger_on` changes the set);
  the dedup key is the incident id, so they all land on one PagerDuty incident.
- `recovered` resolves it: same dedup key.
- `reminder` and `flapping` are not sent by default: PagerDuty re-notifies on its own
  escalation rules, and a flapping service is already on an open incident.
- `summary` is never sent: a daily digest is not something to page anyone about.
- `test` triggers an info-severity alert under a one-off dedup key and resolves it at
  once, which proves the routing key works without leaving an incident open.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any, Final

from pydantic import Field, SecretStr, field_validator

from heartwatch.notifiers import _http
from heartwatch.notifiers._checks import check_web_url
from heartwatch.notifiers.base import (
    Destination,
    Message,
    Notifier,
    NotifierSettings,
    NotifyContext,
)

EVENTS_API_URL: Final = "https://events.pagerduty.com"
TRIGGERABLE: Final = frozenset({"silent", "down", "dead", "reminder", "flapping"})
RESOLVING: Final = frozenset({"recovered"})
SEVERITY: Final = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
# A service without a criticality is still down: page as an error.
DEFAULT_SEVERITY: Final = "error"
# The API's limits: longer values make it refuse the event.
MAX_SUMMARY: Final = 1024
MAX_SOURCE: Final = 255
MAX_DEDUP_KEY: Final = 255
# An integration key: 32 characters, letters and digits.
_ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")


class PagerDutySettings(NotifierSettings):
    routing_key: SecretStr
    trigger_on: list[str] = Field(default_factory=lambda: ["dead", "down", "silent"])
    # Another Events API base (PagerDuty's EU service region, https://events.eu.pagerduty.com);
    # left out, the notifier's own (`HEARTWATCH_PAGERDUTY_URL`).
    api_url: Annotated[str | None, Destination()] = None

    @field_validator("routing_key")
    @classmethod
    def _valid_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value().strip()
        if not _ROUTING_KEY.fullmatch(key):
            raise ValueError(
                "must be the 32-character integration key of an Events API v2 integration"
            )
        return SecretStr(key)

    @field_validator("trigger_on")
    @classmethod
    def _valid_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - TRIGGERABLE)
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} cannot trigger an alert "
                f"(one of {', '.join(sorted(TRIGGERABLE))})"
            )
        return sorted(set(value))

    @field_validator("api_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        return None if value is None else check_web_url(value)


def action_for(event: str, settings: PagerDutySettings) -> str | None:
    """ "trigger", "resolve", or None when this event is not for PagerDuty."""
    if event in settings.trigger_on:
        return "trigger"
    if event in RESOLVING:
        return "resolve"
    return None


def dedup_key(message: Message) -> str | None:
    key = message.incident_id or message.service_key
    return key[:MAX_DEDUP_KEY] if key else None


def event(message: Message, routing_key: str, action: str, key: str) -> dict[str, Any]:
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": key}
    if action != "trigger":
        return body  # resolve and acknowledge take nothing more
    details: dict[str, Any] = dict(message.fields)
    details.update(
        event=message.event,
        status=message.status,
        service=message.service_name or message.service_key,
        details=message.body,
    )
    body["payload"] = {
        "summary": _cut(message.title, MAX_SUMMARY),
        "source": _cut(message.service_key or "heartwatch", MAX_SOURCE),
        "severity": (
            "info"
            if message.event == "test"
            else SEVERITY.get((message.criticality or "").lower(), DEFAULT_SEVERITY)
        ),
        "timestamp": message.at.isoformat(),
        "component": message.service_name or message.service_key,
        "class": message.event,
        "custom_details": {k: v for k, v in details.items() if v is not None},
    }
    body["client"] = "heartwatch"
    if message.url:
        body["client_url"] = message.url
        body["links"] = [{"href": message.url, "text": "Service in heartwatch"}]
    return body


class PagerDutyNotifier(Notifier[PagerDutySettings]):
    type = "pagerduty"
    # The Events API takes 120 events a minute per integration key.
    rate_per_minute = 120.0

    def __init__(self, api_url: str = EVENTS_API_URL) -> None:
        self.api_url = api_url

    async def send(self, message: Message, settings: PagerDutySettings, ctx: NotifyContext) -> None:
        if message.event == "test":
            test_key = f"heartwatch-test-{uuid.uuid4().hex}"
            for step in ("trigger", "resolve"):
                await self._enqueue(ctx, settings, event(message, _key(settings), step, test_key))
            return
        action = action_for(message.event, settings)
        key = dedup_key(message)
        if action is None or key is None:
            # Not an event this channel pages for (or nothing to tie it to): delivered
            # as far as this channel is concerned.
            return
        await self._enqueue(ctx, settings, event(message, _key(settings), action, key))

    async def _enqueue(
        self, ctx: NotifyContext, settings: PagerDutySettings, body: dict[str, Any]
    ) -> None:
        base = settings.api_url or self.api_url
        answer = await _http.post_json(
            ctx,
            f"{base.rstrip('/')}/v2/enqueue",
            body,
            what="PagerDuty",
            secrets=(settings.routing_key,),
        )
        if not 200 <= answer.status < 300:
            raise _http.status_error(
                "PagerDuty", answer.status, _problem(answer.text), answer.headers
            )


def _key(settings: PagerDutySettings) -> str:
    return settings.routing_key.get_secret_value()


def _problem(text: str) -> str:
    """PagerDuty's `{"status": "invalid event", "message": ..., "errors": [...]}` as one
    line; any other body as an excerpt."""
    try:
        data = json.loads(text)
    except ValueError:
        return _http.excerpt(text)
    if not isinstance(data, dict):
        return _http.excerpt(text)
    parts = [str(data.get("message") or data.get("status") or "")]
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        parts.append("; ".join(str(item) for item in errors))
    return _http.excerpt(": ".join(part for part in parts if part))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
