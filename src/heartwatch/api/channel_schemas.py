"""Request and response bodies for notification channels, mutes and the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from heartwatch.api import examples
from heartwatch.api.schemas import UTCTime
from heartwatch.domain.alerts import AlertEvent, Criticality
from heartwatch.domain.snippets import hide
from heartwatch.notifiers.base import masked
from heartwatch.notifiers.registry import NotifierRegistry

if TYPE_CHECKING:  # the rows rendered; the API runs no store code
    from heartwatch.store.models import NotificationChannel, NotificationEvent


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    type: str = Field(min_length=1, max_length=32, examples=["telegram"])
    config: dict[str, Any] = Field(
        default_factory=dict, examples=[{"bot_token": "123:ABC", "chat_id": "-1001"}]
    )
    enabled: StrictBool = True
    events: list[AlertEvent] = Field(default_factory=list, description="empty: every event")
    min_criticality: Criticality | None = None
    tags: list[str] = Field(default_factory=list, description="any of; empty: all services")
    service_keys: list[str] = Field(default_factory=list, description="any of; empty: all")
    reminder_hours: float | None = Field(None, gt=0, le=24 * 30)
    rate_per_minute: float | None = Field(None, gt=0, le=60_000)


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    type: str | None = None
    config: dict[str, Any] | None = Field(
        None, description="secrets shown masked may be sent back masked: they are kept"
    )
    enabled: StrictBool | None = None
    events: list[AlertEvent] | None = None
    min_criticality: Criticality | None = None
    tags: list[str] | None = None
    service_keys: list[str] | None = None
    reminder_hours: float | None = Field(None, gt=0, le=24 * 30)
    rate_per_minute: float | None = Field(None, gt=0, le=60_000)


class ChannelOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHANNEL_OUT]})

    id: uuid.UUID
    name: str
    type: str
    config: dict[str, Any] = Field(description="secrets masked")
    enabled: bool
    events: list[str]
    min_criticality: str | None
    tags: list[str]
    service_keys: list[str]
    reminder_hours: float | None
    rate_per_minute: float | None
    managed_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: NotificationChannel, registry: NotifierRegistry) -> ChannelOut:
        try:
            config = masked(registry.validate(row.type, row.config))
        except (KeyError, ValueError):
            config = {}  # type gone (plugin uninstalled): show nothing rather than secrets
        return cls(
            id=row.id,
            name=row.name,
            type=row.type,
            config=config,
            enabled=row.enabled,
            events=row.events,
            min_criticality=row.min_criticality,
            tags=row.tags,
            service_keys=row.service_keys,
            reminder_hours=row.reminder_hours,
            rate_per_minute=row.rate_per_minute,
            managed_by=row.managed_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TestOut(BaseModel):
    delivered: bool
    error: str | None


class EventOut(BaseModel):
    id: uuid.UUID
    channel_id: uuid.UUID
    kind: str
    status: str
    attempts: int
    title: str
    service_key: str | None
    transition_id: uuid.UUID | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row: NotificationEvent, *, reveal: bool) -> EventOut:
        """`reveal`: with what the far end answered quoted in `last_error` (admins)."""
        return cls(
            id=row.id,
            channel_id=row.channel_id,
            kind=row.kind,
            status=row.status,
            attempts=row.attempts,
            title=str(row.payload.get("title", "")),
            service_key=row.payload.get("service_key"),
            transition_id=row.transition_id,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            sent_at=row.sent_at,
            last_error=row.last_error if reveal else hide(row.last_error),
        )


class MuteIn(BaseModel):
    """A maintenance window: for a while (`minutes`) or until a moment (`until`)."""

    model_config = ConfigDict(extra="forbid")

    minutes: float | None = Field(None, gt=0, le=366 * 24 * 60)
    until: UTCTime | None = None

    @model_validator(mode="after")
    def _one_of(self) -> MuteIn:
        if (self.minutes is None) == (self.until is None):
            raise ValueError("give either `minutes` or `until`")
        return self


class MuteOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.MUTE_OUT]})

    service_id: uuid.UUID
    service_key: str
    muted_until: datetime | None
