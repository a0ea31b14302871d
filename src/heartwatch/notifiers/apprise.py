"""Any of the hundred services Apprise speaks (Discord, Teams, Matrix, ntfy, Pushover, ...)
through Apprise URLs such as `discord://webhook_id/webhook_token`.

Apprise is an optional extra (`pip install 'heartwatch[apprise]'`): without it this
module still imports, and the registry lists the type as unavailable with the reason.

Apprise does not say why a service failed in a way we can act on (a wrong token and an
outage look alike), so every failure is retryable. All URLs of one channel are sent
together: when one of them fails, a retry sends to all again; give a URL that must not
get repeats a channel of its own.
"""

from __future__ import annotations

import asyncio
import importlib.util
from functools import cache
from types import ModuleType
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from heartwatch import netguard
from heartwatch.domain.snippets import quote
from heartwatch.notifiers.base import (
    DeliveryError,
    Destination,
    Message,
    Notifier,
    NotifierSettings,
    NotifyContext,
)


def installed() -> bool:
    """Whether the optional extra is there, known without importing it."""
    try:
        return importlib.util.find_spec("apprise") is not None
    except ValueError:  # a module stood in for it without a spec
        return False


@cache
def _apprise() -> ModuleType | None:
    """The apprise package, imported when first used: a process that sends nothing
    through it (the API, most workers) does not pay for the import of its hundred
    services."""
    if not installed():
        return None
    try:
        import apprise
    except ImportError:  # the optional extra is not installed
        return None
    return apprise


INSTALL_HINT: Final = "pip install 'heartwatch[apprise]'"
# Apprise's notification types, which services show as colours or icons.
NOTIFY_TYPES: Final = {
    "silent": "failure",
    "down": "failure",
    "dead": "failure",
    "recovered": "success",
    "reminder": "warning",
    "flapping": "warning",
    "summary": "info",
    "test": "info",
}
_MAX_PROBLEMS: Final = 5
# The Apprise schemes that POST to a host of the user's choosing, as a webhook does: the
# network policy applies to their host. (Apprise connects by itself, so this is checked
# before each delivery rather than at connect time.)
WEBHOOK_SCHEMES: Final = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})


class AppriseSettings(NotifierSettings):
    # Apprise URLs carry their service's credentials: secrets, every one.
    urls: Annotated[list[SecretStr], Destination(schemes=WEBHOOK_SCHEMES)] = Field(min_length=1)

    @field_validator("urls")
    @classmethod
    def _valid_urls(cls, value: list[SecretStr]) -> list[SecretStr]:
        cleaned = []
        for number, url in enumerate(value, start=1):
            text = url.get_secret_value().strip()
            # Only the scheme is named: the rest of the URL is the credential.
            scheme = text.partition("://")[0] if "://" in text else ""
            if not scheme:
                raise ValueError(f"URL {number} is not an Apprise URL such as ntfy://topic")
            apprise = _apprise()
            if apprise is not None and apprise.Apprise.instantiate(text) is None:
                raise ValueError(
                    f"URL {number} ({scheme}://…) is not one Apprise can use: "
                    "check it against the service's page in the Apprise wiki"
                )
            cleaned.append(SecretStr(text))
        return cleaned


class AppriseNotifier(Notifier[AppriseSettings]):
    type = "apprise"
    # A cautious pace: behind one URL may be a service with a strict limit.
    rate_per_minute = 30.0

    @classmethod
    def missing_requirement(cls) -> str | None:
        if not installed():
            return f"the apprise package is not installed ({INSTALL_HINT})"
        return None

    async def send(self, message: Message, settings: AppriseSettings, ctx: NotifyContext) -> None:
        apprise = _apprise()
        if apprise is None:
            raise DeliveryError(f"apprise is not installed ({INSTALL_HINT})", retryable=False)
        client = apprise.Apprise()
        for number, url in enumerate(settings.urls, start=1):
            denied = await _denial(url.get_secret_value(), ctx)
            if denied is not None:
                raise DeliveryError(
                    f"apprise URL {number}: refused to connect: {denied}", retryable=False
                )
            if not client.add(url.get_secret_value()):
                raise DeliveryError(f"apprise cannot use URL {number}", retryable=False)
        body = message.body or message.title
        if message.url and message.url not in body:
            body += f"\n{message.url}"
        try:
            async with asyncio.timeout(ctx.timeout_s):
                result = await client.async_notify(
                    body=body,
                    title=message.title,
                    notify_type=NOTIFY_TYPES.get(message.event, "info"),
                    body_format="text",
                )
        except TimeoutError:
            raise DeliveryError(
                f"apprise did not finish within {ctx.timeout_s:g} s", retryable=True
            ) from None
        if not result:
            raise DeliveryError(
                f"apprise could not deliver to every URL: {quote(_problems(result))}",
                retryable=True,
            )


async def _denial(url: str, ctx: NotifyContext) -> str | None:
    """Why the network policy refuses a webhook-like Apprise URL's host, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in WEBHOOK_SCHEMES or not parts.hostname:
        return None
    return await netguard.host_denial(parts.hostname, ctx.network)


def _problems(result: Any) -> str:
    """What apprise logged about the failure (apprise 2 keeps each call's log entries
    with its result; apprise 1 returns a bare False)."""
    logs = getattr(result, "logs", None)
    if not callable(logs):
        return "see the apprise log"
    problems = [
        " ".join(str(entry.message).split())
        for entry in logs()
        if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL")
    ]
    if not problems:
        return "no reason given"
    shown = problems[-_MAX_PROBLEMS:]
    return "; ".join(shown)
