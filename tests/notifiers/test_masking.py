"""What a channel's config shows of its secrets, and when a masked secret is kept."""

from __future__ import annotations

import re
from typing import Any

import pytest

from heartwatch.notifiers.masking import (
    ResendSecrets,
    SecretUrl,
    destination_hosts,
    destinations,
    keep_secrets,
    mask_url,
    masked,
    redact,
)
from heartwatch.notifiers.registry import NotifierRegistry
from heartwatch.notifiers.webhook import WebhookSettings

REGISTRY = NotifierRegistry(discover=False)
HMAC = "hmac-0123456789-abcdef"
BEARER = "Bearer tok-0123456789-7890"
ROUTING_KEY = "R0123456789abcdefghijklmnopq7890"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/in/abc", "https://hooks.example.com/in/abc"),
        (
            "https://hooks.example.com/in?token=0123456789abcdefWXYZ&team=ops",
            "https://hooks.example.com/in?token=••••WXYZ&team=••••",
        ),
        ("https://bot:hunter2@hooks.example.com:8443/in", "https://••••@hooks.example.com:8443/in"),
        ("https://hooks.example.com/in?sig", "https://hooks.example.com/in?••••"),
        ("https://hooks.example.com/in#frag", "https://hooks.example.com/in#••••"),
    ],
)
def test_a_url_shows_where_it_goes_but_not_its_credentials(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert masked(WebhookSettings(url=SecretUrl(url))) == {
        "url": shown,
        "method": "POST",
        "headers": {},
        "secret": None,
    }


def test_secret_urls_are_redacted_from_error_texts() -> None:
    url = SecretUrl("https://u:pw-0123456789@hooks.example.com/in?token=abcdefghijkl")
    text = f"cannot reach {url.get_secret_value()}; token abcdefghijkl; password pw-0123456789"
    assert redact(text, url) == (
        "cannot reach https://••••@hooks.example.com/in?token=••••; token ••••; password ••••"
    )


def webhook(url: str = "https://hooks.example.com/in?token=0123456789abcdefWXYZ") -> Any:
    return REGISTRY.validate(
        "webhook", {"url": url, "secret": HMAC, "headers": {"Authorization": BEARER}}
    )


def test_a_config_sent_back_as_shown_keeps_every_secret() -> None:
    stored = webhook()
    kept = keep_secrets(stored, {**masked(stored), "method": "PUT"})
    assert kept == {
        "url": "https://hooks.example.com/in?token=0123456789abcdefWXYZ",
        "method": "PUT",
        "headers": {"Authorization": BEARER},
        "secret": HMAC,
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://attacker.example/",
        "https://hooks.example.com/other",  # another path of the same host
        "https://hooks.example.com/in?token=guessed",
    ],
)
def test_a_new_destination_needs_every_secret_again(url: str) -> None:
    stored = webhook()
    with pytest.raises(ResendSecrets) as raised:
        keep_secrets(stored, {**masked(stored), "url": url})
    assert raised.value.changed == ["url"]
    assert raised.value.resend == ["headers.Authorization", "secret"]
    assert str(raised.value) == (
        "url changed: a masked secret is kept only while the channel's destination stays "
        "the same; send these again in full: headers.Authorization, secret"
    )
    # sent in full, they are taken
    fresh = {"url": url, "secret": "new-hmac", "headers": {"Authorization": "Bearer new"}}
    assert keep_secrets(stored, fresh) == fresh


def test_a_masked_url_cannot_be_moved() -> None:
    stored = webhook()
    moved = masked(stored)["url"].replace("hooks.example.com", "attacker.example")
    with pytest.raises(ValueError, match=r"url: .* is a masked secret that does not match"):
        keep_secrets(stored, {**masked(stored), "url": moved})


@pytest.mark.parametrize(
    ("notifier", "config", "change", "resend"),
    [
        (
            "pagerduty",
            {"routing_key": ROUTING_KEY},
            {"api_url": "http://attacker.example"},
            ["routing_key"],
        ),
        (
            "pagerduty",
            {"routing_key": ROUTING_KEY, "api_url": "https://events.eu.pagerduty.com"},
            {"api_url": None},  # back to the notifier's own: a change too
            ["routing_key"],
        ),
        (
            "telegram",
            {"bot_token": "123456:AAHtokenForTests-0123456789", "chat_id": "-1001"},
            {"chat_id": "-1002"},
            ["bot_token"],
        ),
        *(
            (
                "email",
                {
                    "host": "smtp.example.com",
                    "username": "alerts",
                    "password": "pw-0123456789-abcdef",
                    "from_address": "alerts@example.com",
                    "to": ["ops@example.com"],
                },
                change,
                ["password"],
            )
            for change in (
                {"host": "smtp.attacker.example"},
                {"port": 2525},
                {"security": "tls"},
                {"validate_certs": False},
            )
        ),
    ],
)
def test_each_notifier_declares_its_destinations(
    notifier: str, config: dict[str, Any], change: dict[str, Any], resend: list[str]
) -> None:
    stored = REGISTRY.validate(notifier, config)
    shown = masked(stored)
    assert keep_secrets(stored, shown) == {
        **config,
        **{k: shown[k] for k in shown if k not in config},
    }
    with pytest.raises(ResendSecrets) as raised:
        keep_secrets(stored, {**shown, **change})
    assert (raised.value.changed, raised.value.resend) == (list(change), resend)


def test_the_declared_destinations() -> None:
    declared = {
        notifier: sorted(destinations(REGISTRY.get(notifier).Settings))
        for notifier in sorted(REGISTRY.types())
    }
    assert declared == {
        "apprise": ["urls"],
        "email": ["host", "port", "security", "validate_certs"],
        "pagerduty": ["api_url"],
        "slack": ["webhook_url"],
        "telegram": ["chat_id"],
        "webhook": ["url"],
    }


def test_destination_hosts_are_what_the_network_policy_judges() -> None:
    assert destination_hosts(webhook("http://[fe80::1]:8080/in")) == [("url", "fe80::1")]
    email = REGISTRY.validate(
        "email", {"host": "10.0.0.5", "from_address": "a@example.com", "to": ["b@example.com"]}
    )
    assert destination_hosts(email) == [("host", "10.0.0.5")]
    apprise = REGISTRY.validate(
        "apprise", {"urls": ["json://169.254.169.254/hook", "tgram://2852039166:AAH/123"]}
    )
    # only Apprise's webhook-like schemes name a host (a Telegram token is no address)
    assert destination_hosts(apprise) == [("urls", "169.254.169.254")]


def test_a_channel_at_a_denied_address_is_refused_when_configured() -> None:
    for notifier, config in (
        ("webhook", {"url": "http://169.254.169.254/latest"}),
        ("slack", {"webhook_url": "http://2852039166/services/x"}),
        ("pagerduty", {"routing_key": ROUTING_KEY, "api_url": "http://[fe80::1]"}),
        ("apprise", {"urls": ["json://0xa9fea9fe/hook"]}),
    ):
        settings = REGISTRY.validate(notifier, config)
        with pytest.raises(ValueError, match=r"is in a denied network \((169\.254|fe80)"):
            REGISTRY.check_destinations(settings)
    REGISTRY.check_destinations(webhook("http://127.0.0.1:9/in"))  # loopback is fine


def test_secret_urls_are_never_quoted_in_validation_errors() -> None:
    with pytest.raises(ValueError, match=re.escape("URL 'ftp://hooks.example.com/?k=••••'")):
        REGISTRY.validate("webhook", {"url": "ftp://hooks.example.com/?k=supersecret"})
