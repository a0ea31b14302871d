"""The one small interface every notification channel (built-in or plugin) implements.

A notifier delivers ONE message to ONE channel, once, and says whether it worked. What
to send, to whom, when to retry and how fast are decided once for all channels by the
dispatcher, not in each notifier: a notifier only reports a failure as a
`DeliveryError` that says whether trying again can help (`retryable`) and how long the
channel asked us to wait (`retry_after`).

A notifier declares its settings as a pydantic model, its type argument
(`Notifier[TelegramSettings]`): the API validates a channel's config against it, so a
typo gets a clear 422, and the notifier's `send` receives that model, typed. Credentials
are `SecretStr` (or `SecretUrl`) fields, so that `masked()` can echo a channel's config
back without them and they never reach a log line or repr; the fields saying where they
are sent are marked `Destination()` (see `notifiers.masking` for the rule that follows).
"""

from __future__ import annotations

import asyncio
import builtins
import email.utils
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Generic, TypeVar, get_args, get_origin

import aiohttp
from pydantic import BaseModel, ConfigDict

from heartwatch.domain.alerts import EVENTS as ALERT_EVENTS
from heartwatch.domain.network import DEFAULT_POLICY, NetworkPolicy
from heartwatch.notifiers.masking import (  # re-exported: part of the notifier interface
    MASK,
    Destination,
    ResendSecrets,
    SecretUrl,
    is_masked,
    keep_secrets,
    mask_secret,
    masked,
    redact,
    secrets_of,
)

# What a message can be about: the alert events, plus a channel's test message.
EVENTS: Final = (*ALERT_EVENTS, "test")

# What `deliver` allows a notifier beyond `NotifyContext.timeout_s` to close up.
_GRACE_S: Final = 5.0


class NotifierSettings(BaseModel):
    """Base for a channel's type-specific settings; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


SettingsT = TypeVar("SettingsT", bound=NotifierSettings)

__all__ = [
    "EVENTS",
    "MASK",
    "DeliveryError",
    "Destination",
    "Message",
    "Notifier",
    "NotifierSettings",
    "NotifyContext",
    "ResendSecrets",
    "SecretUrl",
    "deliver",
    "is_masked",
    "keep_secrets",
    "mask_secret",
    "masked",
    "parse_retry_after",
    "redact",
    "retryable_status",
    "secrets_of",
]


@dataclass(frozen=True, kw_only=True)
class Message:
    """One notification, composed once and rendered by each channel its own way.

    `title` is the first line ("payments is DOWN"); `body` the rest, complete for people
    (status, since when, last error, incident, link). `fields` are the same facts as
    key/value data for machines (webhook JSON, PagerDuty custom details): chat channels
    show `title` and `body` only, so nothing is said twice.
    """

    event: str
    title: str
    body: str
    at: datetime
    service_key: str | None = None
    service_name: str | None = None
    status: str | None = None
    url: str | None = None
    # The open incident; PagerDuty's dedup key, so the recovery resolves what the
    # outage triggered.
    incident_id: str | None = None
    criticality: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown event {self.event!r}: one of {', '.join(EVENTS)}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("Message.at must be timezone-aware")
        # Every channel renders UTC; normalise once here rather than in each of them.
        object.__setattr__(self, "at", self.at.astimezone(UTC))

    def text(self) -> str:
        return f"{self.title}\n{self.body}" if self.body else self.title


class DeliveryError(Exception):
    """A message was not delivered. `retryable` is False when trying again cannot help
    until someone fixes the channel's config (a wrong token, an unknown chat, a refused
    address); `retry_after` is how long the channel asked us to wait, in seconds."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"DeliveryError({self.message!r}, retryable={self.retryable}, "
            f"retry_after={self.retry_after})"
        )


def retryable_status(status: int) -> bool:
    """HTTP statuses worth retrying: timeouts, rate limits and server errors. Any other
    4xx means the request (the channel's config) is wrong and will stay wrong."""
    return status in (408, 425, 429) or status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """An HTTP `Retry-After` header in seconds (delta-seconds or an HTTP date); None if
    absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


@dataclass(slots=True)
class NotifyContext:
    """Resources shared by every delivery of one process, whatever the channel type.
    What only one type needs (where its API is) is that notifier's own: see
    `notifiers.registry.builtin_notifiers`."""

    http: aiohttp.ClientSession
    # One delivery attempt, connection included.
    timeout_s: float = 10.0
    # Where a notifier may connect: `http` applies it when its connector is
    # `netguard.guarded_connector` (the runtime's is); a notifier that connects by other
    # means checks its destination with it (see the apprise notifier).
    network: NetworkPolicy = DEFAULT_POLICY
    extras: dict[str, object] = field(default_factory=dict)


class Notifier(ABC, Generic[SettingsT]):
    """Subclass `Notifier[YourSettings]`, set `type` and `rate_per_minute`, implement
    `send`: it receives `YourSettings`, checked once for all notifiers by `deliver`.

    `Settings` is taken from the type argument, so the model the registry validates
    against and the one `send` is typed for cannot differ. A subclass without a type
    argument sets `Settings` itself."""

    # (The builtin is spelled out: inside this class body `type` is the attribute.)
    type: ClassVar[str]
    Settings: ClassVar[builtins.type[NotifierSettings]] = NotifierSettings
    # How many messages a minute one channel of this type takes by default.
    rate_per_minute: ClassVar[float] = 60.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Settings" not in cls.__dict__:
            for base in cls.__dict__.get("__orig_bases__", ()):
                if get_origin(base) is Notifier:
                    (argument,) = get_args(base)
                    if isinstance(argument, builtins.type):
                        cls.Settings = argument

    @classmethod
    def missing_requirement(cls) -> str | None:
        """Why this notifier cannot work in this installation (an optional package is
        missing), or None. The registry lists such a type as unavailable."""
        return None

    @abstractmethod
    async def send(self, message: Message, settings: SettingsT, ctx: NotifyContext) -> None:
        """Deliver `message` once, within `ctx.timeout_s`; raise `DeliveryError` when it
        was not delivered (and nothing else)."""


async def deliver(
    notifier: Notifier[Any], message: Message, settings: NotifierSettings, ctx: NotifyContext
) -> None:
    """`notifier.send` with the guarantees the dispatcher relies on, whoever wrote the
    notifier: it returns within the timeout (plus a grace for the notifier's own
    cleanup), every failure is a `DeliveryError` (a crash or a hang is a retryable one
    carrying the error text), and no error text holds one of the channel's secrets.
    It is also the one place that checks the settings are the notifier's own."""
    if not isinstance(settings, notifier.Settings):
        raise DeliveryError(
            f"{notifier.type} notifier needs {notifier.Settings.__name__}, "
            f"got {type(settings).__name__}",
            retryable=False,
        )
    limit = ctx.timeout_s + _GRACE_S
    try:
        async with asyncio.timeout(limit):
            await notifier.send(message, settings, ctx)
    except DeliveryError as exc:
        error = exc
    except TimeoutError:
        error = DeliveryError(
            f"{notifier.type} notifier did not finish within {limit:g} s", retryable=True
        )
    except Exception as exc:
        error = DeliveryError(
            f"{notifier.type} notifier crashed: {type(exc).__name__}: {exc}", retryable=True
        )
        error.__cause__ = exc
    else:
        return
    text = redact(error.message, *secrets_of(settings))
    if text != error.message:
        # A plugin may well quote its URL, token included; the error is stored and shown.
        # The original exception is dropped too: a logged traceback would quote it.
        raise DeliveryError(
            text, retryable=error.retryable, retry_after=error.retry_after
        ) from None
    raise error
