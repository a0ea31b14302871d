"""Request and response bodies. Times are ISO-8601 UTC on the way out; on the way in,
a time without an offset is taken as UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    Signal,
    advance,
    expected_period,
    next_deadline,
)
from heartwatch.domain.keys import KEY_PATTERN, check_key
from heartwatch.domain.status import Health, Status, health_of
from heartwatch.services.lifecycle import state_of
from heartwatch.store.models import Heartbeat, Service, StateTransition

MAX_PERIOD_S = 366 * 86400


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTCTime = Annotated[datetime, AfterValidator(as_utc)]
# The domain's rule is the one check; the pattern only documents it in the OpenAPI schema.
Key = Annotated[
    str,
    Field(json_schema_extra={"pattern": KEY_PATTERN}, examples=["billing"]),
    AfterValidator(check_key),
]
Period = Annotated[float, Field(gt=0, le=MAX_PERIOD_S, description="seconds")]


class ServiceOut(BaseModel):
    id: uuid.UUID
    key: str
    name: str
    description: str
    type: str
    status: Status
    health: Health
    status_since: datetime
    last_heartbeat_at: datetime | None
    expected_period_sec: float | None = Field(description="declared, else learned (median gap)")
    period_source: Literal["declared", "learned", "default"] | None
    heartbeat_count: int
    next_deadline_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Service, rules: HeartbeatRules, now: datetime) -> ServiceOut:
        """The service as of `now`. The stored status is what the worker has recorded; a
        deadline that passed since (a worker lagging, or dead) is applied here too, so
        no reader ever sees a stale verdict — a dead worker shows up as silent, then down."""
        state: HeartbeatState = state_of(row)
        current, _ = advance(state, now, rules)
        period = expected_period(state, rules)
        source: Literal["declared", "learned", "default"] | None = None
        if state.declared_period is not None:
            source = "declared"
        elif period is not None:
            source = "default" if period == rules.fallback_period else "learned"
        return cls(
            id=row.id,
            key=row.key,
            name=row.name,
            description=row.description,
            type=row.type,
            status=current.status,
            health=health_of(current.status),
            status_since=current.status_since,
            last_heartbeat_at=row.last_heartbeat_at,
            expected_period_sec=period,
            period_source=source,
            heartbeat_count=row.heartbeat_count,
            next_deadline_at=next_deadline(current, rules, now),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Key
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    type: Literal["heartbeat"] = "heartbeat"
    expected_period_sec: Period | None = None


class ServicePatch(BaseModel):
    """Only the fields present are changed; `expected_period_sec: null` goes back to the
    learned period."""

    model_config = ConfigDict(extra="forbid")

    key: Key | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    expected_period_sec: Period | None = None
    paused: bool | None = None


class HeartbeatOut(BaseModel):
    id: uuid.UUID
    received_at: datetime
    kind: Signal
    body: str | None
    source: str | None
    run_id: str | None
    duration_ms: float | None = Field(description="for the end of a run: how long it took")
    latency_ms: float | None = Field(description="as reported by the sender")

    @classmethod
    def of(cls, row: Heartbeat) -> HeartbeatOut:
        return cls(
            id=row.id,
            received_at=row.received_at,
            kind=row.kind,
            body=row.body,
            source=row.source,
            run_id=row.run_id,
            duration_ms=row.duration_ms,
            latency_ms=row.latency_ms,
        )


class HeartbeatPage(BaseModel):
    service_id: uuid.UUID
    service_key: str
    items: list[HeartbeatOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")


class PingAck(BaseModel):
    ok: bool = True
    service_id: uuid.UUID
    service_key: str
    status: Status
    received_at: datetime
    registered: bool = Field(description="true when this ping registered the service")
    duration_ms: float | None = Field(None, description="the run's duration, when this ends one")


class TransitionOut(BaseModel):
    """Seed 000's state transition record."""

    id: uuid.UUID
    service_id: uuid.UUID
    service_key: str
    from_state: Status
    to_state: Status
    timestamp: datetime = Field(description="when the condition became true")
    detected_at: datetime = Field(description="when heartwatch noticed it")
    reason: str
    alert_sent: bool

    @classmethod
    def of(cls, row: StateTransition, key: str) -> TransitionOut:
        return cls(
            id=row.id,
            service_id=row.service_id,
            service_key=key,
            from_state=row.from_status,
            to_state=row.to_status,
            timestamp=row.at,
            detected_at=row.detected_at,
            reason=row.reason,
            alert_sent=row.alert_sent,
        )


class ClockMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    now: UTCTime | None = None
    advance_seconds: float | None = Field(None, ge=-10 * 366 * 86400, le=10 * 366 * 86400)


class ClockOut(BaseModel):
    now: datetime
    real_now: datetime
    offset_seconds: float
