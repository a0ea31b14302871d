"""Tables (docs/architecture.md). History tables are indexed by (service_id, time)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from heartwatch.domain.auth import Role
from heartwatch.domain.heartbeat import Signal
from heartwatch.domain.service_types import ServiceType
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.store.types import JSONType, OutsideString, OutsideText, UTCDateTime

# Stable constraint names, so migrations can refer to them on both backends.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(enum_cls: type[Status] | type[Signal] | type[Role], name: str) -> Enum:
    # VARCHAR + values (not names) on every backend: no PostgreSQL enum type to migrate.
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Service(Base):
    __tablename__ = "services"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(32), default=ServiceType.HEARTBEAT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Aggregated current state.
    status: Mapped[Status] = mapped_column(_enum(Status, "service_status"))
    status_since: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the status would change on its own if nothing arrives; the worker selects
    # only rows past it, so a tick costs O(services that change), not O(services).
    next_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    # Heartbeat state (see domain.heartbeat.HeartbeatState).
    expected_period_sec: Mapped[float | None] = mapped_column(Float)  # declared
    recent_gaps: Mapped[list[float]] = mapped_column(JSONType, default=list)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_count: Mapped[int] = mapped_column(Integer, default=0)
    # The latest start signal; lets ingest skip the run-duration lookup for the many
    # services that never send one.
    last_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A success or fail ping to a paused service resumes it (HeartbeatState.resume_on_ping).
    resume_on_ping: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # A cron schedule instead of a period (domain.schedule.CronSchedule): the expression,
    # its IANA zone, how late (grace) and how early a run may report, and how long a
    # started run may take. NULL schedule: the period rules.
    schedule: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    grace_sec: Mapped[float | None] = mapped_column(Float)
    early_tolerance_sec: Mapped[float | None] = mapped_column(Float)
    max_runtime_sec: Mapped[float | None] = mapped_column(Float)
    # An alert held by a maintenance window since then: when no window covers the
    # service any more, it is sent if the service is still down (notify_jobs).
    maintenance_held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A token of its own for Uptime Kuma push URLs (`/api/push/<token>`), so a monitor
    # moved from Kuma keeps its URL; NULL: only the id works there.
    push_token: Mapped[str | None] = mapped_column(String(100), unique=True)

    # What people filter and route alerts by.
    criticality: Mapped[str] = mapped_column(String(16), default="medium")
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    sla_target: Mapped[float | None] = mapped_column(Float)

    # Probe (pull) configuration; NULL for heartbeat services.
    endpoint: Mapped[str | None] = mapped_column(Text)
    check_interval_sec: Mapped[float | None] = mapped_column(Float)
    timeout_ms: Mapped[int | None] = mapped_column(Integer)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    retry_backoff_ms: Mapped[int] = mapped_column(Integer, default=0)
    failure_threshold: Mapped[int] = mapped_column(Integer, default=1)
    success_threshold: Mapped[int] = mapped_column(Integer, default=1)
    # The checker type's own settings, validated by its pydantic model on the way in.
    check_settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    # Probe state (see domain.probe.ProbeState) and the latest result, for listings.
    streak_up: Mapped[bool | None] = mapped_column(Boolean)
    streak_count: Mapped[int] = mapped_column(Integer, default=0)
    streak_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_latency_ms: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(OutsideText)

    # The earliest transition stamped in an hour that may already be rolled up (a probe
    # outage is stamped at its first failed check, which can be hours back): the rollup
    # job recomputes from there, and uptime reads raw history from there until it has.
    rollup_dirty_from: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Notifications: muted until (a maintenance window); flapping since (alerts held).
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flapping_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Heartbeat(Base):
    __tablename__ = "heartbeats"
    __table_args__ = (Index("ix_heartbeats_service_received", "service_id", "received_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[Signal] = mapped_column(_enum(Signal, "heartbeat_kind"))
    body: Mapped[str | None] = mapped_column(OutsideText)
    source: Mapped[str | None] = mapped_column(OutsideString(64))
    # Healthchecks' `?rid=`: pairs a start with its success or failure.
    run_id: Mapped[str | None] = mapped_column(OutsideString(64))
    # For a success or fail that closes a start: how long the run took.
    duration_ms: Mapped[float | None] = mapped_column(Float)
    # Reported by the sender (Uptime Kuma's `ping=`).
    latency_ms: Mapped[float | None] = mapped_column(Float)


class StateTransition(Base):
    """Every status change; the single source of truth for history, incidents, uptime."""

    __tablename__ = "state_transitions"
    __table_args__ = (Index("ix_state_transitions_service_at", "service_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    from_status: Mapped[Status] = mapped_column(_enum(Status, "transition_from"))
    to_status: Mapped[Status] = mapped_column(_enum(Status, "transition_to"))
    # When the condition became true (e.g. last heartbeat + 2P), not when it was noticed.
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(OutsideText, default="")
    alert_sent: Mapped[bool] = mapped_column(Boolean, default=False)


class CheckResult(Base):
    """One check of a probe service (after its retries)."""

    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_service_checked", "service_id", "checked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    up: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(OutsideText)
    # Which assertion failed (status, keyword, json_path, timeout, ...), Gatus-style.
    failed_assertion: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(OutsideText)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # Drift = started_at - scheduled_at; a manual check has no scheduled time.
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SchedulerState(Base):
    """When each probe service runs next, and which worker holds it (a lease)."""

    __tablename__ = "scheduler_state"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppState(Base):
    """Small process-wide values shared by every process (e.g. the dev clock's offset)."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MaintenanceWindowRow(Base):
    """A maintenance window (domain.maintenance): one-off (starts_at, ends_at) or
    recurring (schedule, timezone, duration_sec); for one service, a tag, or everything."""

    __tablename__ = "maintenance_windows"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    tag: Mapped[str | None] = mapped_column(String(50))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    schedule: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    duration_sec: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    """An outage: opens with a transition into down, closes with the next one to alive.

    At most one open incident per service: the service layer checks under the service's
    row lock, and the partial unique index below makes a second open one impossible even
    for a writer that got that wrong."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_service_started", "service_id", "started_at"),
        Index(
            "uq_incidents_one_open_per_service",
            "service_id",
            unique=True,
            sqlite_where=text("resolved = 0"),
            postgresql_where=text("resolved = false"),
        ),
        # /incidents/active and the daily summary read only the open ones.
        Index(
            "ix_incidents_open_started",
            "started_at",
            sqlite_where=text("resolved = 0"),
            postgresql_where=text("resolved = false"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    # The opening transition's stamp: when the service turned down, not when it was seen.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    # Failed checks (probe services) or missed heartbeat periods and fail signals.
    checks_failed_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(OutsideText)
    opened_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the transition's id
    closed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class UptimeRollup(Base):
    """Per service and hour: seconds spent in each status and what the checks saw, so
    long windows (90d, 365d) are answered from a few thousand rows, and raw results can
    be pruned without changing any uptime answer."""

    __tablename__ = "uptime_rollups"
    __table_args__ = (
        # Covering: window sums read these from index pages in (service, hour) order;
        # the table has a service's hours spread over as many pages (written hour by hour).
        Index(
            "ix_uptime_rollups_service_hour_seconds",
            "service_id",
            "hour",
            "alive_s",
            "silent_s",
            "down_s",
            "dead_s",
            "unknown_s",
            "paused_s",
        ),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    alive_s: Mapped[float] = mapped_column(Float, default=0.0)
    silent_s: Mapped[float] = mapped_column(Float, default=0.0)
    down_s: Mapped[float] = mapped_column(Float, default=0.0)
    dead_s: Mapped[float] = mapped_column(Float, default=0.0)
    unknown_s: Mapped[float] = mapped_column(Float, default=0.0)
    paused_s: Mapped[float] = mapped_column(Float, default=0.0)
    # Check results (probe services) or heartbeats (push services) in the hour.
    checks: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float)
    latency_p99_ms: Mapped[float | None] = mapped_column(Float)
    # Log-bucketed latency counts {bucket: count}; mergeable, so a window's percentiles
    # come from summed histograms, not from averaging hourly percentiles.
    latency_histogram: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)


class LatencyDay(Base):
    """Per service and UTC day: the sum of its hours' latency histograms. A 90-day latency
    percentile then adds up about 90 of these and at most two days of hourly ones instead
    of 2,160 hourly ones. Written once a day is fully rolled up (the hours' histograms
    never change after that: a late transition redoes only their seconds)."""

    __tablename__ = "latency_days"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    # The summed histogram as JSON text, not a JSON column: it is only ever read as text
    # (its pairs joined by the database, `store.history.latency_counts`), and turning
    # jsonb back into text costs PostgreSQL time on every row (bench/api_latency.py).
    latency_histogram: Mapped[str] = mapped_column(Text)


class NotificationChannel(Base):
    """Where alerts go: a notifier type, its validated settings, and what it wants."""

    __tablename__ = "notification_channels"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    # The notifier's settings (secrets included: the API only ever shows them masked).
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Which events (silent, down, recovered, dead, reminder, flapping, summary) and which
    # services (criticality at least, any of the tags, any of the keys; empty: all).
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    min_criticality: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    service_keys: Mapped[list[str]] = mapped_column(JSONType, default=list)
    reminder_hours: Mapped[float | None] = mapped_column(Float)
    rate_per_minute: Mapped[float | None] = mapped_column(Float)
    # "env": made from TELEGRAM_BOT_TOKEN/TELEGRAM_CHAT_ID and kept in sync with them.
    managed_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationEvent(Base):
    """The outbox: one row per message to one channel, written in the transaction of
    what caused it; the worker's dispatcher delivers it. `dedup_key` is unique per
    (cause, channel), so a cause can never queue the same message twice."""

    __tablename__ = "notification_events"
    __table_args__ = (
        # The dispatcher's hot query: undelivered events of a channel, oldest due first.
        Index(
            "ix_notification_events_pending",
            "channel_id",
            "next_attempt_at",
            sqlite_where=text("status IN ('queued', 'sending')"),
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index("ix_notification_events_transition", "transition_id"),
        Index("ix_notification_events_created", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    transition_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("state_transitions.id", ondelete="CASCADE")
    )
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    # queued -> sending (leased) -> sent | failed; a lapsed lease is sending again.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(OutsideText)
    # The message as composed when it was queued (what was true then).
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """A program's credential (`domain.auth`: `hwk_<id>_<secret>`). Revoked keys are kept
    (revoked_at set), so a listing still says what a leaked key was and when it stopped
    working."""

    __tablename__ = "api_keys"

    # The key's public id, the middle part of the key.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(_enum(Role, "api_key_role"))
    # SHA-256 of the secret part, in hex; the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written at most once a minute per key (services.auth), not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    """A person's credential (the dashboard logs in with it)."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # As it was given (for listings) ...
    name: Mapped[str] = mapped_column(String(100))
    # ... and the form names are compared in (domain.auth.fold_name): unique, so `Alice`
    # and `alice` cannot be two users, alike on both backends.
    name_folded: Mapped[str] = mapped_column(String(100), unique=True)
    # argon2id, in argon2's own encoding (parameters and salt included).
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A logged-in browser: the cookie holds a random token, this row only its hash."""

    __tablename__ = "web_sessions"

    # domain.auth.hash_secret of the cookie's token.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Expired sessions are pruned by this.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusPage(Base):
    """A public status page an admin defined: which services it shows (by key or tag)."""

    __tablename__ = "status_pages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The services it shows: any whose key is listed, and any with one of the tags.
    service_keys: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BadgeToken(Base):
    """A service's badge token: the random, rotatable secret in its public badge URLs
    (never its id, which is its ping URLs' secret)."""

    __tablename__ = "badge_tokens"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
