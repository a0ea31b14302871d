"""Notification channels: create, change, delete, test — and the default Telegram channel
made from the seed's `.env` (TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.alerts import CRITICALITY, EVENTS
from heartwatch.ids import new_id
from heartwatch.notifiers.base import DeliveryError, Message, NotifyContext, deliver, keep_secrets
from heartwatch.notifiers.registry import NotifierRegistry
from heartwatch.services.errors import Conflict, Invalid, NotFound
from heartwatch.store import notifications as store
from heartwatch.store.models import NotificationChannel, NotificationEvent

ENV_CHANNEL = "telegram"  # the name of the channel made from the environment


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel as the API gives it; None: not given (keep, or default)."""

    name: str | None = None
    type: str | None = None
    config: Mapping[str, Any] | None = None
    enabled: bool | None = None
    events: list[str] | None = None
    min_criticality: str | None = None
    tags: list[str] | None = None
    service_keys: list[str] | None = None
    reminder_hours: float | None = None
    rate_per_minute: float | None = None


_FILTERS = (
    "events",
    "min_criticality",
    "tags",
    "service_keys",
    "reminder_hours",
    "rate_per_minute",
)


def _check_filters(spec: ChannelSpec) -> None:
    unknown = sorted(set(spec.events or ()) - set(EVENTS))
    if unknown:
        raise Invalid(f"unknown events {unknown}: choose from {', '.join(EVENTS)}")
    if spec.min_criticality is not None and spec.min_criticality not in CRITICALITY:
        raise Invalid(f"min_criticality must be one of {', '.join(CRITICALITY)}")


def _validated_config(
    registry: NotifierRegistry, type_: str, config: Mapping[str, Any]
) -> dict[str, Any]:
    try:
        registry.check_destinations(registry.validate(type_, config))
    except (KeyError, ValueError) as exc:
        raise Invalid(str(exc).strip("'\"")) from None
    return dict(config)


async def get_channel(session: AsyncSession, ident: str) -> NotificationChannel:
    row = await store.find_channel(session, ident)
    if row is None:
        raise NotFound(f"channel {ident!r} not found")
    return row


async def list_channels(session: AsyncSession) -> list[NotificationChannel]:
    """Every channel, by name."""
    return await store.all_channels(session)


async def outbox(
    session: AsyncSession,
    channel: str | None,
    status: str | None,
    limit: int,
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[NotificationEvent]:
    """The outbox, newest first: of one channel (its id or name) or all, of one status
    (queued, sending, sent, failed) or all; `before` a keyset cursor (created_at, id)."""
    channel_id = (await get_channel(session, channel)).id if channel else None
    return await store.events_page(session, channel_id, status, limit, before=before)


async def create_channel(
    session: AsyncSession, spec: ChannelSpec, registry: NotifierRegistry, now: datetime
) -> NotificationChannel:
    if not spec.name or not spec.type:
        raise Invalid("a channel needs a name and a type")
    _check_filters(spec)
    if await store.channel_name_taken(session, spec.name):
        raise Conflict(f"a channel named {spec.name!r} already exists")
    row = NotificationChannel(
        id=new_id(),
        name=spec.name,
        type=spec.type,
        config=_validated_config(registry, spec.type, spec.config or {}),
        enabled=spec.enabled is not False,
        events=list(spec.events or []),
        min_criticality=spec.min_criticality,
        tags=list(spec.tags or []),
        service_keys=list(spec.service_keys or []),
        reminder_hours=spec.reminder_hours,
        rate_per_minute=spec.rate_per_minute,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def update_channel(
    session: AsyncSession,
    ident: str,
    spec: ChannelSpec,
    given: set[str],
    registry: NotifierRegistry,
    now: datetime,
) -> NotificationChannel:
    """Change the fields in `given`. A config sent back with its secrets masked keeps
    the stored secrets, as long as its destination (URL, host, chat) is unchanged:
    otherwise every secret must be sent again (`notifiers.masking`)."""
    row = await get_channel(session, ident)
    _check_filters(spec)
    if spec.type is not None and spec.type != row.type:
        raise Invalid(f"type cannot change from {row.type!r}: create a new channel")
    if spec.name is not None and spec.name != row.name:
        if await store.channel_name_taken(session, spec.name):
            raise Conflict(f"a channel named {spec.name!r} already exists")
        row.name = spec.name
    if spec.config is not None:
        try:
            previous = registry.validate(row.type, row.config)
            config = keep_secrets(previous, spec.config)
        except (KeyError, ValueError) as exc:
            raise Invalid(str(exc).strip("'\"")) from None
        row.config = _validated_config(registry, row.type, config)
    if spec.enabled is not None:
        row.enabled = spec.enabled
    for name in _FILTERS:
        if name in given:
            value = getattr(spec, name)
            setattr(
                row,
                name,
                list(value or []) if name in ("events", "tags", "service_keys") else value,
            )
    row.updated_at = now
    return row


async def delete_channel(session: AsyncSession, ident: str) -> None:
    await session.delete(await get_channel(session, ident))


async def send_test(
    row: NotificationChannel, registry: NotifierRegistry, ctx: NotifyContext, now: datetime
) -> str | None:
    """Send a test message now; None when delivered, else why not."""
    message = Message(
        event="test",
        title=f"heartwatch test message for channel {row.name!r}",
        body="If you can read this, alerts will reach you here.",
        at=now.astimezone(UTC),
    )
    try:
        settings = registry.validate(row.type, row.config)
        await deliver(registry.get(row.type), message, settings, ctx)
    except DeliveryError as exc:
        return exc.message
    except (KeyError, ValueError) as exc:
        return str(exc)
    return None


async def sync_env_channel(
    session: AsyncSession, token: str | None, chat_id: str | None, now: datetime
) -> None:
    """TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID alone make the default channel (the seed's
    `.env` keeps working); a change of either is applied at the next start. A channel of
    that name made through the API is left alone."""
    row = await store.find_channel(session, ENV_CHANNEL)
    if row is not None and row.managed_by != "env":
        return
    if not token or not chat_id:
        if row is not None:
            row.enabled = False  # kept (its history stays), but silent
        return
    # The bot of `heartwatch up` polls with this token: it answers the alerts' buttons.
    config = {"bot_token": token, "chat_id": chat_id, "buttons": True}
    if row is None:
        session.add(
            NotificationChannel(
                id=new_id(),
                name=ENV_CHANNEL,
                type="telegram",
                config=config,
                enabled=True,
                events=[],
                tags=[],
                service_keys=[],
                managed_by="env",
                created_at=now,
                updated_at=now,
            )
        )
    elif row.config != config or not row.enabled:
        row.config, row.enabled, row.updated_at = config, True, now
