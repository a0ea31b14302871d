"""Which notifier handles which channel type: the built-ins plus third-party notifiers
installed as packages that declare a `heartwatch.notifiers` entry point:

    [project.entry-points."heartwatch.notifiers"]
    signal = "heartwatch_signal:SignalNotifier"

Discovery and its rules are `heartwatch.plugins`'. What is a notifier's own: a notifier
whose optional dependency is missing (apprise without its extra) is listed as unavailable
with the reason, so the API can say "install X" instead of "unknown type"; such a type
stays taken, since a plugin taking it over would silently change where existing
channels' alerts go; and every notifier declares a positive `rate_per_minute`.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from typing import Any

from heartwatch.domain.network import DEFAULT_POLICY, NetworkPolicy
from heartwatch.notifiers.apprise import AppriseNotifier
from heartwatch.notifiers.base import Notifier, NotifierSettings
from heartwatch.notifiers.email import EmailNotifier
from heartwatch.notifiers.masking import destination_hosts
from heartwatch.notifiers.pagerduty import EVENTS_API_URL, PagerDutyNotifier
from heartwatch.notifiers.slack import SlackNotifier
from heartwatch.notifiers.telegram import BOT_API_URL, TelegramNotifier
from heartwatch.notifiers.webhook import WebhookNotifier
from heartwatch.plugins import PluginKind, PluginRegistry, UnknownPluginType, qualname


class UnknownNotifierType(UnknownPluginType):
    """No notifier for this type. A KeyError for lookups, a ValueError for validation."""


class NotifierUnavailable(UnknownNotifierType):
    """The type is known but cannot work in this installation (a missing package)."""


def builtin_notifiers(
    *,
    telegram_api_url: str = BOT_API_URL,
    pagerduty_url: str = EVENTS_API_URL,
    smtp_tls_context: ssl.SSLContext | None = None,
) -> tuple[Notifier[Any], ...]:
    """The built-in notifiers, each with where its service is (a Bot API server of
    one's own, a test's fake) and, for email, the CAs SMTP servers are verified against
    (None: the system's)."""
    return (
        TelegramNotifier(telegram_api_url),
        SlackNotifier(),
        WebhookNotifier(),
        EmailNotifier(smtp_tls_context),
        PagerDutyNotifier(pagerduty_url),
        AppriseNotifier(),
    )


NOTIFIERS: PluginKind[Notifier[Any]] = PluginKind(
    noun="notifier",
    configures="channels",
    group="heartwatch.notifiers",
    base=Notifier,
    settings_base=NotifierSettings,
    unknown=UnknownNotifierType,
    make_builtins=builtin_notifiers,
)


class NotifierRegistry(PluginRegistry[Notifier[Any]]):
    """Notifier instances by channel type, and the types unavailable here."""

    kind = NOTIFIERS

    def __init__(
        self,
        builtin_plugins: Iterable[Notifier[Any]] | None = None,
        *,
        discover: bool = True,
        network: NetworkPolicy = DEFAULT_POLICY,
    ) -> None:
        # Types that exist but cannot work here, and why.
        self.unavailable: dict[str, str] = {}
        # Where channels may send: a destination written as a denied address is refused
        # when the channel is configured (`check_destinations`).
        self.network = network
        super().__init__(builtin_plugins, discover=discover)

    def validate(self, notifier_type: str, config: Mapping[str, Any]) -> NotifierSettings:
        """The typed settings of a channel of that type; ValueError with one readable
        message naming what is wrong (and never quoting a secret)."""
        return self.settings_of(notifier_type, self.get(notifier_type).Settings, config)

    def check_destinations(self, settings: NotifierSettings) -> None:
        """ValueError when a destination (a URL's host, an SMTP host) is written as an
        address the network policy denies. A name is judged when it is resolved, at
        delivery."""
        for name, host in destination_hosts(settings):
            denied = self.network.host_denial(host)
            if denied is not None:
                raise ValueError(f"{name}: {denied}; heartwatch does not send there")

    def _add(self, plugin: Notifier[Any]) -> None:
        missing = plugin.missing_requirement()
        if missing is None:
            super()._add(plugin)
        else:
            self.unavailable[plugin.type] = missing
            self._log.info("notifier unavailable", type=plugin.type, reason=missing)

    def _taken(self, plugin_type: str) -> str | None:
        if plugin_type in self.unavailable:
            return f"type {plugin_type!r} is already taken (by a notifier unavailable here)"
        return super()._taken(plugin_type)

    def _unknown(self, plugin_type: str) -> UnknownPluginType:
        if plugin_type in self.unavailable:
            return NotifierUnavailable(
                f"notifier type {plugin_type!r} is not available: {self.unavailable[plugin_type]}"
            )
        return super()._unknown(plugin_type)

    def _class_problem(self, cls: type) -> str | None:
        rate = getattr(cls, "rate_per_minute", None)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            return f"{qualname(cls)}.rate_per_minute must be a positive number"
        return None
