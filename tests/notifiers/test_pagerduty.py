"""PagerDuty Events API v2 against a local receiver answering as PagerDuty does:
trigger and resolve on one dedup key, severities, the events it stays quiet about."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from heartwatch.notifiers.base import DeliveryError, NotifyContext, masked
from heartwatch.notifiers.pagerduty import PagerDutyNotifier, PagerDutySettings
from heartwatch.notifiers.registry import NotifierRegistry
from tests.fakes.receiver import Receiver, Reply
from tests.notifiers.conftest import SERVICE_URL, down_message

ROUTING_KEY = "R0123456789abcdef0123456789abcdE"
ACCEPTED = Reply.json(
    202, {"status": "success", "message": "Event processed", "dedup_key": "inc_01"}
)


@pytest.fixture
def pagerduty(receiver: Receiver) -> Receiver:
    receiver.default = ACCEPTED
    return receiver


@pytest.fixture
def notifier(pagerduty: Receiver) -> PagerDutyNotifier:
    return PagerDutyNotifier(pagerduty.url("/"))


def settings(**fields: object) -> PagerDutySettings:
    return PagerDutySettings.model_validate({"routing_key": ROUTING_KEY, **fields})


def events(receiver: Receiver) -> list[dict[str, Any]]:
    assert {request.path for request in receiver.received} <= {"/v2/enqueue"}
    return [request.json() for request in receiver.received]


async def test_down_triggers_and_recovered_resolves_the_same_alert(
    pagerduty: Receiver, notifier: PagerDutyNotifier, ctx: NotifyContext
) -> None:
    await notifier.send(down_message(), settings(), ctx)
    recovered = down_message(event="recovered", title="payments RECOVERED after 12 min")
    await notifier.send(recovered, settings(), ctx)

    trigger, resolve = events(pagerduty)
    assert trigger == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "inc_01",
        "payload": {
            "summary": "payments is DOWN",
            "source": "payments",
            "severity": "error",
            "timestamp": "2026-01-05T12:00:00+00:00",
            "component": "Payments API",
            "class": "down",
            "custom_details": {
                "Since": "2026-01-05 11:58 UTC",
                "Last error": "status 503 not in 200-399",
                "event": "down",
                "status": "down",
                "service": "Payments API",
                "details": down_message().body,
            },
        },
        "client": "heartwatch",
        "client_url": SERVICE_URL,
        "links": [{"href": SERVICE_URL, "text": "Service in heartwatch"}],
    }
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "inc_01"}


@pytest.mark.parametrize(
    ("criticality", "severity"),
    [
        ("critical", "critical"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "info"),
        ("HIGH", "error"),
        (None, "error"),
    ],
)
async def test_criticality_sets_the_severity(
    pagerduty: Receiver,
    notifier: PagerDutyNotifier,
    ctx: NotifyContext,
    criticality: str | None,
    severity: str,
) -> None:
    await notifier.send(down_message(criticality=criticality), settings(), ctx)
    assert events(pagerduty)[0]["payload"]["severity"] == severity


async def test_without_an_incident_the_service_key_ties_trigger_and_resolve(
    pagerduty: Receiver, notifier: PagerDutyNotifier, ctx: NotifyContext
) -> None:
    await notifier.send(down_message(event="dead", incident_id=None), settings(), ctx)
    await notifier.send(down_message(event="recovered", incident_id=None), settings(), ctx)
    assert [(e["event_action"], e["dedup_key"]) for e in events(pagerduty)] == [
        ("trigger", "payments"),
        ("resolve", "payments"),
    ]


@pytest.mark.parametrize("event", ["reminder", "flapping", "summary"])
async def test_events_it_does_not_page_for_send_nothing(
    pagerduty: Receiver, notifier: PagerDutyNotifier, ctx: NotifyContext, event: str
) -> None:
    await notifier.send(down_message(event=event), settings(), ctx)
    assert pagerduty.received == []


async def test_which_events_trigger_is_configurable(
    pagerduty: Receiver, notifier: PagerDutyNotifier, ctx: NotifyContext
) -> None:
    only_dead = settings(trigger_on=["dead", "reminder"])
    for event in ("silent", "down", "reminder", "dead"):
        await notifier.send(down_message(event=event), only_dead, ctx)
    assert [e["payload"]["class"] for e in events(pagerduty)] == ["reminder", "dead"]


async def test_a_test_message_triggers_and_resolves_at_once(
    pagerduty: Receiver, notifier: PagerDutyNotifier, ctx: NotifyContext
) -> None:
    test = down_message(event="test", title="heartwatch test message", incident_id=None)
    await notifier.send(test, settings(), ctx)
    trigger, resolve = events(pagerduty)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"]
    assert re.fullmatch(r"heartwatch-test-[0-9a-f]{32}", trigger["dedup_key"])
    assert trigger["payload"]["severity"] == "info"


async def test_an_invalid_event_is_not_retryable_and_says_why(
    pagerduty: Receiver, notifier: PagerDutyNotifier, ctx: NotifyContext
) -> None:
    pagerduty.reply_next(
        1,
        Reply.json(
            400,
            {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)"],
            },
        ),
    )
    with pytest.raises(DeliveryError) as raised:
        await notifier.send(down_message(), settings(), ctx)
    assert not raised.value.retryable
    assert raised.value.message == (
        "PagerDuty answered 400: «Event object is invalid: Length of 'routing_key' is "
        "incorrect (should be 32 characters)»"
    )


@pytest.mark.parametrize(
    ("reply", "retry_after"),
    [
        (Reply.json(429, {"status": "throttle exceeded"}, headers={"Retry-After": "3"}), 3.0),
        (Reply(500, "<html>Internal Server Error</html>", content_type="text/html"), None),
    ],
)
async def test_throttling_and_server_errors_are_retryable(
    pagerduty: Receiver,
    notifier: PagerDutyNotifier,
    ctx: NotifyContext,
    reply: Reply,
    retry_after: float | None,
) -> None:
    pagerduty.reply_next(1, reply)
    with pytest.raises(DeliveryError) as raised:
        await notifier.send(down_message(), settings(), ctx)
    assert (raised.value.retryable, raised.value.retry_after) == (True, retry_after)
    assert ROUTING_KEY not in raised.value.message


async def test_a_channel_can_use_another_region(
    pagerduty: Receiver, http_session: aiohttp.ClientSession
) -> None:
    ctx = NotifyContext(http_session)
    eu = settings(api_url=pagerduty.url("/"))
    await PagerDutyNotifier("http://127.0.0.1:9/unused").send(down_message(), eu, ctx)
    assert len(events(pagerduty)) == 1


def test_the_routing_key_is_masked() -> None:
    valid = NotifierRegistry(discover=False).validate("pagerduty", {"routing_key": ROUTING_KEY})
    assert masked(valid) == {
        "routing_key": "••••bcdE",
        "trigger_on": ["dead", "down", "silent"],
        "api_url": None,
    }


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            {"routing_key": "too-short-key"},
            "routing_key: must be the 32-character integration key of an Events API v2 integration",
        ),
        (
            {"routing_key": ROUTING_KEY, "trigger_on": ["down", "recovered", "test"]},
            "trigger_on: recovered, test cannot trigger an alert (one of dead, down, "
            "flapping, reminder, silent)",
        ),
        ({"routing_key": ROUTING_KEY, "api_url": "events.eu.pagerduty.com"}, "api_url: URL"),
    ],
)
def test_invalid_settings_are_refused_clearly(config: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        NotifierRegistry(discover=False).validate("pagerduty", config)
    assert "too-short-key" not in str(raised.value)
