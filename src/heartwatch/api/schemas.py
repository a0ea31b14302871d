"""Request and response bodies. Times are ISO-8601 UTC on the way out; on the way in,
a time without an offset is taken as UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from heartwatch.api import examples
from heartwatch.api.probe_secrets import masked_endpoint, masked_settings
from heartwatch.api.schedule_schemas import ScheduleFields, ScheduleOut, schedule_view
from heartwatch.domain.alerts import Criticality
from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    Signal,
    expected_period,
    hint,
    next_deadline,
)
from heartwatch.domain.keys import KEY_PATTERN, check_key
from heartwatch.domain.ping import PERIOD_MAX_S, PERIOD_MIN_S
from heartwatch.domain.push_tokens import PUSH_TOKEN_PATTERN, check_push_token
from heartwatch.domain.schedule_view import schedule_hint
from heartwatch.domain.service_types import ServiceType, is_probe
from heartwatch.domain.snippets import hide
from heartwatch.domain.status import Health, Status, health_of
from heartwatch.services.errors import Invalid
from heartwatch.services.lifecycle import StatusColumns, as_of
from heartwatch.services.registry import PROBE_FIELDS, heartbeat_stray_fields

if TYPE_CHECKING:  # the rows rendered; the API runs no store code
    from heartwatch.store.models import CheckResult, Heartbeat, StateTransition

# A check timeout under this many milliseconds is a timeout meant in seconds.
MIN_TIMEOUT_MS = 100


def as_utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59-01:00 is past the end of time in UTC
        raise ValueError("time out of range") from exc


UTCTime = Annotated[datetime, AfterValidator(as_utc)]
# The domain's rule is the one check; the pattern only documents it in the OpenAPI schema.
Key = Annotated[
    str,
    Field(json_schema_extra={"pattern": KEY_PATTERN}, examples=["billing"]),
    AfterValidator(check_key),
]
PushToken = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": PUSH_TOKEN_PATTERN},
        min_length=1,
        description="the service's own Uptime Kuma push token (8-100 URL-safe characters): "
        "`/api/push/<push_token>` reports for it, as `/api/push/<id>` does",
        examples=["hU2kRt9xQa"],
    ),
    AfterValidator(check_push_token),
]
Period = Annotated[float, Field(ge=PERIOD_MIN_S, le=PERIOD_MAX_S, description="seconds")]

# A service's UUID is also the secret of its ping URLs (`/ping/<id>`, `/api/push/<id>`):
# shown only to a principal that may configure services (`api.auth.Reveal`); others get
# null and name the service by its `key`.
ServiceId = Annotated[
    uuid.UUID | None,
    Field(description="the service's UUID (its ping URLs' secret); null for read-only keys"),
]


def shown_id(service_id: uuid.UUID, reveal: bool) -> uuid.UUID | None:
    return service_id if reveal else None


class ServiceColumns(StatusColumns, Protocol):
    """What ServiceOut reads of a `services` row (ORM object or plain row)."""

    max_runtime_sec: float | None
    id: uuid.UUID
    key: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    criticality: str
    tags: list[str]
    sla_target: float | None
    push_token: str | None
    endpoint: str | None
    check_interval_sec: float | None
    timeout_ms: int | None
    retry_count: int
    retry_backoff_ms: int
    failure_threshold: int
    success_threshold: int
    check_settings: dict[str, Any]
    last_check_at: datetime | None
    last_latency_ms: float | None
    last_error: str | None
    muted_until: datetime | None


class ServiceOut(ScheduleOut):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SERVICE_OUT]})

    id: ServiceId
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
    hint: str | None = Field(
        description="why the status is what it is and what to do, when that needs saying "
        "(e.g. while the period is being learned); null otherwise"
    )
    created_at: datetime
    updated_at: datetime
    is_active: bool
    resume_on_ping: bool | None = Field(
        description="heartbeat services: a success or fail ping resumes the service when "
        "paused (null for probe services)"
    )
    criticality: str
    tags: list[str]
    sla_target: float | None
    push_token: str | None = Field(
        description="its own Uptime Kuma push token, if it has one (null for read-only keys)"
    )
    # Probe services (null for heartbeat services).
    endpoint: str | None
    check_interval_sec: float | None
    timeout_ms: int | None
    retry_count: int | None
    retry_backoff_ms: int | None
    failure_threshold: int | None
    success_threshold: int | None
    settings: dict[str, Any] = Field(description="the checker type's own settings")
    last_check_at: datetime | None
    last_latency_ms: float | None
    last_error: str | None
    muted_until: datetime | None = Field(
        description="alerts held until then (POST /services/{id}/mute); null: not muted"
    )

    @classmethod
    def of(
        cls, row: ServiceColumns, rules: HeartbeatRules, now: datetime, *, reveal: bool
    ) -> ServiceOut:
        """The service as of `now` (services.lifecycle.as_of), from an ORM row or a
        plain row of store.listing.LISTING_COLUMNS; `reveal`: with its id and its
        probe's credentials (api/probe_secrets.py masks them otherwise)."""
        probe = is_probe(row.type)
        current = as_of(row, rules, now)
        period = None if probe else expected_period(current, rules)
        source: Literal["declared", "learned", "default"] | None = None
        if current.declared_period is not None:
            source = "declared"
        elif period is not None:
            source = "default" if period == rules.fallback_period else "learned"
        if current.cron is not None:
            period, source = None, None
        return cls(
            id=shown_id(row.id, reveal),
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
            hint=None if probe else (schedule_hint(current) or hint(current, rules)),
            **schedule_view(row, current, now),
            created_at=row.created_at,
            updated_at=row.updated_at,
            is_active=current.status is not Status.PAUSED,
            resume_on_ping=None if probe else row.resume_on_ping,
            criticality=row.criticality,
            tags=list(row.tags or ()),
            sla_target=row.sla_target,
            push_token=row.push_token if reveal else None,
            endpoint=row.endpoint if reveal else masked_endpoint(row.endpoint),
            check_interval_sec=row.check_interval_sec,
            timeout_ms=row.timeout_ms,
            retry_count=row.retry_count if probe else None,
            retry_backoff_ms=row.retry_backoff_ms if probe else None,
            failure_threshold=row.failure_threshold if probe else None,
            success_threshold=row.success_threshold if probe else None,
            settings=dict(row.check_settings or {})
            if reveal
            else masked_settings(row.check_settings or {}),
            last_check_at=row.last_check_at,
            last_latency_ms=row.last_latency_ms,
            last_error=row.last_error if reveal else hide(row.last_error),
            muted_until=row.muted_until,
        )


Tag = Annotated[str, Field(min_length=1, max_length=50)]


def _aliases(name: str, *others: str) -> AliasChoices:
    return AliasChoices(name, *others)


class _ServiceFields(ScheduleFields):
    """Fields shared by create, replace and patch. Snake_case is canonical; the camelCase
    of older clients (`checkInterval`, `timeout`, ...) is accepted too. Any other field is
    a setting of the service's checker type (e.g. `expect_keyword` for http), validated by
    that checker's own model, so a typo still gets a clear 422."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    expected_period_sec: Period | None = Field(
        None, validation_alias=_aliases("expected_period_sec", "expectedPeriodSec")
    )
    endpoint: str | None = Field(None, min_length=1, max_length=2000)
    check_interval_sec: float | None = Field(
        None,
        ge=1,
        le=86400,
        description="1 s to 1 day",
        validation_alias=_aliases("check_interval_sec", "checkInterval", "checkIntervalSec"),
    )
    timeout_ms: int | None = Field(
        None,
        le=3_600_000,
        description=f"milliseconds, at least {MIN_TIMEOUT_MS}",
        validation_alias=_aliases("timeout_ms", "timeoutMs"),
    )
    # The camelCase `timeout` is in seconds, as its `checkInterval` is: taken as
    # milliseconds, `"timeout": 3` made a 3 ms timeout that failed every check.
    timeout_s: float | None = Field(
        None,
        ge=MIN_TIMEOUT_MS / 1000,
        le=3600,
        description="camelCase `timeout`: seconds (stored as timeout_ms)",
        validation_alias=_aliases("timeout"),
        exclude=True,
    )
    retry_count: int | None = Field(
        None, ge=0, le=10, validation_alias=_aliases("retry_count", "retryCount")
    )
    retry_backoff_ms: int | None = Field(
        None, ge=0, le=60_000, validation_alias=_aliases("retry_backoff_ms", "retryBackoffMs")
    )
    failure_threshold: int | None = Field(
        None, ge=1, le=100, validation_alias=_aliases("failure_threshold", "failureThreshold")
    )
    success_threshold: int | None = Field(
        None, ge=1, le=100, validation_alias=_aliases("success_threshold", "successThreshold")
    )
    criticality: Criticality | None = None
    tags: list[Tag] | None = Field(None, max_length=20)
    sla_target: float | None = Field(
        None, gt=0, le=100, validation_alias=_aliases("sla_target", "slaTarget")
    )
    is_active: StrictBool | None = Field(None, validation_alias=_aliases("is_active", "isActive"))
    resume_on_ping: StrictBool | None = Field(
        None,
        description="heartbeat services: resume when paused on a success or fail ping "
        "(default true); false keeps the service paused until it is resumed",
        validation_alias=_aliases("resume_on_ping", "resumeOnPing"),
    )

    push_token: PushToken | None = Field(None, validation_alias=_aliases("push_token", "pushToken"))

    @field_validator("timeout_ms")
    @classmethod
    def _milliseconds(cls, value: int | None) -> int | None:
        if value is not None and value < MIN_TIMEOUT_MS:
            raise PydanticCustomError(
                "timeout_in_seconds",
                "timeout_ms is in milliseconds, and {value} ms is under the minimum of "
                "{minimum} ms: did you mean seconds? ({value} s is timeout_ms {ms}, or "
                '"timeout": {value})',
                {"value": value, "minimum": MIN_TIMEOUT_MS, "ms": value * 1000},
            )
        return value

    @model_validator(mode="after")
    def _timeout_from_seconds(self) -> Self:
        if self.timeout_s is None:
            return self
        if "timeout_ms" in self.model_fields_set:
            raise PydanticCustomError(
                "timeout_twice", "give timeout (seconds) or timeout_ms (milliseconds), not both"
            )
        self.timeout_ms = round(self.timeout_s * 1000)
        self.model_fields_set.add("timeout_ms")
        return self

    def checker_settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def probe_fields(self) -> dict[str, Any]:
        given = self.model_fields_set
        return {
            f: getattr(self, f) for f in PROBE_FIELDS if f in given and getattr(self, f) is not None
        }

    def labels(self) -> dict[str, Any]:
        given = self.model_fields_set
        if "criticality" in given and self.criticality is None:
            raise Invalid("criticality cannot be null: one of low, medium, high, critical")
        out: dict[str, Any] = {}
        for f in ("criticality", "tags", "sla_target"):
            if f in given:
                out[f] = tuple(self.tags or ()) if f == "tags" else getattr(self, f)
        return out


class ServiceCreate(_ServiceFields):
    key: Key
    type: str = Field(
        ServiceType.HEARTBEAT, description="heartbeat, http, tcp, script, or a plugin's"
    )

    def heartbeat_only_problem(self) -> str | None:
        """Probe fields on a heartbeat service are a mistake worth naming."""
        if is_probe(self.type) or not (self.probe_fields() or self.checker_settings()):
            return None
        return heartbeat_stray_fields(self.probe_fields(), self.checker_settings())


class ServiceReplace(ServiceCreate):
    """`PUT /services/{id}`: the URL names the service; a key in the body is optional
    (and must be the URL's when the URL names it by its key)."""

    key: Key | None = None  # type: ignore[assignment]


class ServicePatch(_ServiceFields):
    """Only the fields present are changed; `expected_period_sec: null` goes back to the
    learned period; checker settings given are merged into the current ones."""

    key: Key | None = None
    paused: StrictBool | None = None


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


class _ServicePage(BaseModel):
    """One page of a service's history, newest first."""

    service_id: ServiceId
    service_key: str
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")


class HeartbeatPage(_ServicePage):
    items: list[HeartbeatOut]


class CheckResultOut(BaseModel):
    id: uuid.UUID
    status: Literal["up", "down"]
    latency_ms: float | None
    http_status: int | None
    error: str | None
    failed_assertion: str | None
    detail: str | None
    attempts: int
    scheduled_at: datetime | None
    started_at: datetime
    checked_at: datetime

    @classmethod
    def of(cls, row: CheckResult, *, reveal: bool) -> CheckResultOut:
        """`reveal`: with `detail`, what the check read from its target (a response
        body's start, a script's output), which only who may configure the service sees."""
        return cls(
            id=row.id,
            status="up" if row.up else "down",
            latency_ms=row.latency_ms,
            http_status=row.http_status,
            error=row.error if reveal else hide(row.error),
            failed_assertion=row.failed_assertion,
            detail=row.detail if reveal else None,
            attempts=row.attempts,
            scheduled_at=row.scheduled_at,
            started_at=row.started_at,
            checked_at=row.checked_at,
        )


class CheckResultPage(_ServicePage):
    items: list[CheckResultOut]


class HealthOut(BaseModel):
    """`GET /services/{id}/health`: the status, its coarse health view, the last result."""

    service_id: ServiceId
    service_key: str
    type: str
    status: Status
    health: Health
    status_since: datetime
    last_check_at: datetime | None
    last_latency_ms: float | None
    last_error: str | None
    last_result: CheckResultOut | None
    last_heartbeat_at: datetime | None


class PingAck(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PING_ACK]})

    ok: bool = True
    service_id: uuid.UUID
    service_key: str
    status: Status
    received_at: datetime
    registered: bool = Field(description="true when this ping registered the service")
    duration_ms: float | None = Field(None, description="the run's duration, when this ends one")
    hint: str | None = Field(
        None,
        description="why the status is what it is and what to do, when that needs saying "
        "(e.g. while the period is being learned)",
    )


class TransitionOut(BaseModel):
    """A state transition record."""

    id: uuid.UUID
    service_id: ServiceId
    service_key: str
    from_state: Status
    to_state: Status
    timestamp: datetime = Field(description="when the condition became true")
    detected_at: datetime = Field(description="when heartwatch noticed it")
    reason: str
    alert_sent: bool

    @classmethod
    def of(cls, row: StateTransition, key: str, *, reveal: bool) -> TransitionOut:
        return cls(
            id=row.id,
            service_id=shown_id(row.service_id, reveal),
            service_key=key,
            from_state=row.from_status,
            to_state=row.to_status,
            timestamp=row.at,
            detected_at=row.detected_at,
            reason=row.reason if reveal else hide(row.reason),
            alert_sent=row.alert_sent,
        )
