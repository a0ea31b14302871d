"""Apprise with a real Apprise client posting to a local receiver (its json:// service),
and what an installation without the optional extra says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from heartwatch.domain.network import NetworkPolicy
from heartwatch.notifiers.apprise import AppriseNotifier, AppriseSettings
from heartwatch.notifiers.base import DeliveryError, NotifyContext, masked
from heartwatch.notifiers.registry import NotifierRegistry
from tests.fakes.receiver import Receiver, Reply
from tests.notifiers.conftest import SERVICE_URL, down_message


def json_url(receiver: Receiver, path: str = "/apprise") -> str:
    return receiver.url(path).replace("http://", "json://", 1)


def settings(*urls: str) -> AppriseSettings:
    return AppriseSettings.model_validate({"urls": list(urls)})


@pytest.mark.parametrize(
    ("event", "kind"), [("down", "failure"), ("recovered", "success"), ("reminder", "warning")]
)
async def test_the_message_arrives_through_apprise(
    receiver: Receiver, ctx: NotifyContext, event: str, kind: str
) -> None:
    message = down_message(event=event)
    await AppriseNotifier().send(message, settings(json_url(receiver)), ctx)
    [request] = receiver.received
    assert (request.method, request.path) == ("POST", "/apprise")
    body = request.json()
    assert (body["title"], body["message"], body["type"]) == (message.title, message.body, kind)


async def test_every_url_gets_it_and_a_missing_link_is_added(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    message = down_message(body="Status: down")
    both = settings(json_url(receiver, "/one"), json_url(receiver, "/two"))
    await AppriseNotifier().send(message, both, ctx)
    received = await receiver.wait_for(2)
    assert sorted(request.path for request in received) == ["/one", "/two"]
    assert {request.json()["message"] for request in received} == {f"Status: down\n{SERVICE_URL}"}


async def test_a_failing_service_is_retryable_with_apprise_s_reason(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    receiver.reply_next(1, Reply(500, "boom"))
    with pytest.raises(DeliveryError) as raised:
        await AppriseNotifier().send(down_message(), settings(json_url(receiver)), ctx)
    assert raised.value.retryable
    assert raised.value.message.startswith("apprise could not deliver to every URL: ")
    assert "error=500" in raised.value.message


def test_urls_are_secrets() -> None:
    valid = NotifierRegistry(discover=False).validate(
        "apprise", {"urls": ["ntfy://ntfy.example.com/ops-alerts-2f8e", "json://hook.example"]}
    )
    assert masked(valid) == {"urls": ["••••2f8e", "••••mple"]}


@pytest.mark.parametrize(
    ("urls", "problem"),
    [
        ([], "urls: List should have at least 1 item"),
        (["no scheme here"], "urls: URL 1 is not an Apprise URL such as ntfy://topic"),
        (
            ["json://hook.example", "nosuchservice://user:pa55word@host"],
            "urls: URL 2 (nosuchservice://…) is not one Apprise can use",
        ),
    ],
)
def test_invalid_urls_are_refused_without_quoting_them(urls: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        NotifierRegistry(discover=False).validate("apprise", {"urls": urls})
    assert "pa55word" not in str(raised.value)


def test_without_apprise_installed_the_type_is_unavailable_and_says_why() -> None:
    # A fresh interpreter in which `import apprise` fails, as without the extra.
    script = textwrap.dedent(
        """
        import json, sys
        sys.modules["apprise"] = None
        from heartwatch.notifiers.registry import NotifierRegistry
        registry = NotifierRegistry(discover=False)
        try:
            registry.validate("apprise", {"urls": ["json://x"]})
        except ValueError as exc:
            error = str(exc)
        print(json.dumps({
            "types": sorted(registry.types()),
            "unavailable": registry.unavailable,
            "error": error,
        }))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {
        "types": ["email", "pagerduty", "slack", "telegram", "webhook"],
        "unavailable": {
            "apprise": "the apprise package is not installed (pip install 'heartwatch[apprise]')"
        },
        "error": "notifier type 'apprise' is not available: the apprise package is not "
        "installed (pip install 'heartwatch[apprise]')",
    }


async def test_a_webhook_like_url_is_held_to_the_network_policy(
    receiver: Receiver, ctx: NotifyContext
) -> None:
    # Apprise connects by itself: its json:// host is judged before each delivery,
    # by what it resolves to. (Denied here: loopback, where the receiver listens.)
    port = receiver.base_url.rsplit(":", 1)[1]
    strict = NotifyContext(ctx.http, network=NetworkPolicy.of(deny="127.0.0.0/8"))
    for host in ("localhost", "127.0.0.1", "0x7f000001"):
        with pytest.raises(DeliveryError) as raised:
            await AppriseNotifier().send(
                down_message(), settings(f"json://{host}:{port}/hook"), strict
            )
        assert raised.value.message == (
            "apprise URL 1: refused to connect: "
            "address 127.0.0.1 is in a denied network (127.0.0.0/8)"
        )
        assert not raised.value.retryable
    assert receiver.received == []
    await AppriseNotifier().send(down_message(), settings(f"json://localhost:{port}/hook"), ctx)
    assert len(receiver.received) == 1
