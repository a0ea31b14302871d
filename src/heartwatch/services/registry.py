"""The service registry: register, read, edit and remove services; read their history."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.checkers.script import SCRIPTS_DISABLED, ScriptChecker
from heartwatch.domain.heartbeat import HeartbeatRules, Transition, redeclare_period, set_paused
from heartwatch.domain.keys import check_key
from heartwatch.domain.names import did_you_mean
from heartwatch.domain.probe import set_paused as probe_set_paused
from heartwatch.domain.service_types import ServiceType, is_probe
from heartwatch.domain.status import Status
from heartwatch.services import cron_schedules
from heartwatch.services.cron_schedules import PERIOD_OR_SCHEDULE, SCHEDULE_IS_FOR_HEARTBEATS
from heartwatch.services.errors import Conflict, Invalid, NotFound
from heartwatch.services.heartbeats import new_service_row
from heartwatch.services.lifecycle import stage, state_of, transition_values
from heartwatch.services.probes import probe_state_of, schedule_row, write_probe_state
from heartwatch.services.transitions import record_transitions
from heartwatch.store import history_pages
from heartwatch.store import services as service_store
from heartwatch.store.database import Database
from heartwatch.store.models import CheckResult, Heartbeat, Service, StateTransition

PROBE_FIELDS = (
    "endpoint",
    "check_interval_sec",
    "timeout_ms",
    "retry_count",
    "retry_backoff_ms",
    "failure_threshold",
    "success_threshold",
)
RESUME_ON_PING_IS_FOR_HEARTBEATS = (
    "resume_on_ping is for heartbeat services (a ping to a probe service is only recorded)"
)
DEFAULT_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """How heartwatch checks a pull service; `settings` are the checker type's own."""

    type: str
    endpoint: str
    check_interval_sec: float = DEFAULT_INTERVAL_S
    timeout_ms: int | None = None  # default: 10 s, or less for short intervals
    retry_count: int = 0
    retry_backoff_ms: int = 0
    failure_threshold: int = 1
    success_threshold: int = 1
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Labels:
    criticality: str = "medium"
    tags: tuple[str, ...] = ()
    sla_target: float | None = None


@dataclass(frozen=True, slots=True)
class ServiceChanges:
    """A partial update: only the fields that were given are applied."""

    key: str | None = None
    name: str | None = None
    description: str | None = None
    # PUT names the type; it must be the service's own (delete and register again).
    type: str | None = None
    paused: bool | None = None
    # With set_period: a number declares the period, None forgets the declared one and
    # goes back to the learned one.
    set_period: bool = False
    expected_period_sec: float | None = None
    # Heartbeat services: does a ping resume it when paused (domain.heartbeat.receive)?
    resume_on_ping: bool | None = None
    # With set_push_token: the service's own Uptime Kuma push token, None to remove it.
    set_push_token: bool = False
    push_token: str | None = None
    # Probe fields given (PROBE_FIELDS), and checker settings given (merged into the
    # current ones).
    probe: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    replace_settings: bool = False  # PUT: the settings given are all the settings
    labels: Mapping[str, Any] = field(default_factory=dict)
    # Schedule fields given (cron_schedules.SCHEDULE_FIELDS; `schedule: None` clears it),
    # merged over the current schedule; a new zone defaults to `default_zone`.
    schedule: Mapping[str, Any] = field(default_factory=dict)
    default_zone: str = "UTC"


def check_type(service_type: str, checkers: CheckerRegistry) -> None:
    if is_probe(service_type) and service_type not in checkers.types():
        known = ", ".join([ServiceType.HEARTBEAT, *sorted(checkers.types())])
        raise Invalid(f"unknown type {service_type!r}: known types are {known}")


def validate_probe(config: ProbeConfig, checkers: CheckerRegistry) -> ProbeConfig:
    """Check a probe configuration as a whole; returns it normalised (endpoint, timeout
    default, settings as the checker's model dumps them). Raises Invalid, saying why."""
    check_type(config.type, checkers)
    interval_ms = config.check_interval_sec * 1000
    timeout_ms = config.timeout_ms
    if timeout_ms is None:
        timeout_ms = min(DEFAULT_TIMEOUT_MS, max(1, int(interval_ms * 0.8)))
    if timeout_ms >= interval_ms:
        raise Invalid(
            f"timeout_ms ({timeout_ms}) must be below the check interval "
            f"({config.check_interval_sec:g} s = {interval_ms:g} ms)"
        )
    try:
        endpoint, settings = checkers.validate_settings(
            config.type, config.endpoint, dict(config.settings)
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    return replace(
        config,
        endpoint=endpoint,
        timeout_ms=timeout_ms,
        settings=settings.model_dump(mode="json", exclude_defaults=True),
    )


def probe_config_of(row: Service) -> ProbeConfig:
    assert row.endpoint is not None and row.check_interval_sec is not None
    return ProbeConfig(
        type=row.type,
        endpoint=row.endpoint,
        check_interval_sec=row.check_interval_sec,
        timeout_ms=row.timeout_ms,
        retry_count=row.retry_count,
        retry_backoff_ms=row.retry_backoff_ms,
        failure_threshold=row.failure_threshold,
        success_threshold=row.success_threshold,
        settings=row.check_settings or {},
    )


def _apply_probe(row: Service, config: ProbeConfig) -> None:
    row.type = config.type
    row.endpoint = config.endpoint
    row.check_interval_sec = config.check_interval_sec
    row.timeout_ms = config.timeout_ms
    row.retry_count = config.retry_count
    row.retry_backoff_ms = config.retry_backoff_ms
    row.failure_threshold = config.failure_threshold
    row.success_threshold = config.success_threshold
    row.check_settings = dict(config.settings)


def _apply_labels(row: Service, labels: Labels) -> None:
    row.criticality = labels.criticality
    row.tags = list(labels.tags)
    row.sla_target = labels.sla_target


async def get_service(session: AsyncSession, ident: str, *, for_update: bool = False) -> Service:
    row = await service_store.find_service(session, ident, for_update=for_update)
    if row is None:
        raise NotFound(f"service {ident!r} not found")
    return row


async def list_services(session: AsyncSession) -> list[Service]:
    return await service_store.list_services(session)


async def create_service(
    session: AsyncSession,
    *,
    key: str,
    name: str | None,
    description: str,
    expected_period_sec: float | None,
    now: datetime,
    probe: ProbeConfig | None = None,
    labels: Labels = Labels(),
    active: bool = True,
    resume_on_ping: bool | None = None,
    checkers: CheckerRegistry | None = None,
    allow_scripts: bool = False,
    schedule: cron_schedules.ScheduleSpec | None = None,
    push_token: str | None = None,
) -> Service:
    """Register a heartbeat service (no `probe`) or a probe service (validated with the
    checker registry, and scheduled: its first run lands somewhere in its first interval).
    A script service is refused unless script checks are allowed (`allow_scripts`, the
    operator's HEARTWATCH_ALLOW_SCRIPT_CHECKS): it could never run."""
    check_key(key)
    if probe is not None:
        if probe.type == ScriptChecker.type and not allow_scripts:
            raise Invalid(SCRIPTS_DISABLED)
        if expected_period_sec is not None:
            raise Invalid("expected_period_sec is for heartbeat services; probes have an interval")
        if schedule is not None:
            raise Invalid(SCHEDULE_IS_FOR_HEARTBEATS)
        if resume_on_ping is not None:
            raise Invalid(RESUME_ON_PING_IS_FOR_HEARTBEATS)
        assert checkers is not None
        probe = validate_probe(probe, checkers)
    if schedule is not None:
        if expected_period_sec is not None:
            raise Invalid(PERIOD_OR_SCHEDULE)
        schedule = replace(schedule, schedule=schedule.cron().expression)
    if await service_store.key_exists(session, key):
        raise Conflict(f"a service with key {key!r} already exists")
    await _check_push_token_free(session, push_token, None)
    row = Service(**new_service_row(key, now, name=name))
    row.push_token = push_token
    row.description = description
    row.expected_period_sec = expected_period_sec
    row.resume_on_ping = resume_on_ping is not False
    cron_schedules.write_spec(row, schedule)
    _apply_labels(row, labels)
    if probe is not None:
        _apply_probe(row, probe)
    session.add(row)
    await session.flush()
    if not active:
        # Every history starts unknown at creation; a service created paused says so in
        # its history like any later pause, so uptime and the timeline need no special case.
        row.status = Status.PAUSED
        paused = Transition(Status.UNKNOWN, Status.PAUSED, now, "created paused")
        await record_transitions(session, transition_values(row.id, [paused], now))
    if probe is not None:
        session.add(schedule_row(row.id, probe.check_interval_sec, now))
    return row


# What a heartbeat service's body may carry (the API's names), for a mistyped one's hint.
HEARTBEAT_FIELDS = (
    "key",
    "name",
    "description",
    "expected_period_sec",
    "criticality",
    "tags",
    "sla_target",
    "is_active",
    "paused",
    "resume_on_ping",
    "type",
)


def heartbeat_stray_fields(probe_fields: Iterable[str], others: Iterable[str]) -> str:
    """Why a heartbeat service refuses these fields: probe fields are for probe services;
    any other is unknown, most likely a typo (`period` for `expected_period_sec`)."""
    problems = [f"unknown field {name!r}{did_you_mean(name, HEARTBEAT_FIELDS)}" for name in others]
    if probe := list(probe_fields):
        problems.append(
            f"{', '.join(probe)}: not a field of heartbeat services (only probes have these)"
        )
    return "; ".join(problems)


async def change_service(
    db: Database,
    ident: str,
    changes: ServiceChanges,
    *,
    rules: HeartbeatRules,
    now: datetime,
    checkers: CheckerRegistry | None = None,
) -> Service:
    """`update_service` in a write transaction of its own (the API's and the
    dashboard's edits)."""
    async with db.writing() as session:
        return await update_service(
            session, ident, changes, rules=rules, now=now, checkers=checkers
        )


async def update_service(
    session: AsyncSession,
    ident: str,
    changes: ServiceChanges,
    *,
    rules: HeartbeatRules,
    now: datetime,
    checkers: CheckerRegistry | None = None,
) -> Service:
    row = await get_service(session, ident, for_update=True)
    if changes.type is not None and changes.type != row.type:
        raise Invalid(f"type cannot change from {row.type!r} to {changes.type!r}")
    probe_change = bool(changes.probe or changes.settings or changes.replace_settings)
    if probe_change and not is_probe(row.type) and (changes.probe or changes.settings):
        raise Invalid(heartbeat_stray_fields(changes.probe, changes.settings))
    if changes.set_period and is_probe(row.type):
        raise Invalid("expected_period_sec is for heartbeat services; probes have an interval")
    if changes.resume_on_ping is not None and is_probe(row.type):
        raise Invalid(RESUME_ON_PING_IS_FOR_HEARTBEATS)
    if changes.schedule and is_probe(row.type):
        if any(v is not None for v in changes.schedule.values()):
            raise Invalid(SCHEDULE_IS_FOR_HEARTBEATS)
        changes = replace(changes, schedule={})  # PUT of a probe: nothing to clear
    if probe_change and is_probe(row.type):
        assert checkers is not None
        current = probe_config_of(row)
        merged = replace(
            current,
            **dict(changes.probe),
            settings=changes.settings
            if changes.replace_settings
            else {**current.settings, **changes.settings},
        )
        if "check_interval_sec" in changes.probe and "timeout_ms" not in changes.probe:
            merged = replace(merged, timeout_ms=None)  # re-derive the default for the new interval
        _apply_probe(row, validate_probe(merged, checkers))
    if changes.labels:
        current_labels = Labels(row.criticality, tuple(row.tags or ()), row.sla_target)
        _apply_labels(row, replace(current_labels, **dict(changes.labels)))
    if changes.key is not None and changes.key != row.key:
        check_key(changes.key)
        if await service_store.key_exists(session, changes.key):
            raise Conflict(f"a service with key {changes.key!r} already exists")
        row.key = changes.key
    if changes.set_push_token and changes.push_token != row.push_token:
        await _check_push_token_free(session, changes.push_token, row.id)
        row.push_token = changes.push_token
    if changes.name is not None:
        row.name = changes.name
    if changes.description is not None:
        row.description = changes.description
    if changes.resume_on_ping is not None:
        row.resume_on_ping = changes.resume_on_ping
    if changes.schedule or (changes.set_period and row.schedule):
        await _reschedule(session, row, changes, rules=rules, now=now)
    elif changes.set_period:
        period = changes.expected_period_sec
        await stage(session, row, redeclare_period(state_of(row), period, now, rules), rules, now)
    if changes.paused is not None:
        if is_probe(row.type):
            state, transitions = probe_set_paused(probe_state_of(row), changes.paused, now)
            write_probe_state(row, state)
            await record_transitions(session, transition_values(row.id, transitions, now))
        else:
            await stage(
                session, row, set_paused(state_of(row), changes.paused, now, rules), rules, now
            )
    row.updated_at = now
    return row


async def _reschedule(
    session: AsyncSession,
    row: Service,
    changes: ServiceChanges,
    *,
    rules: HeartbeatRules,
    now: datetime,
) -> None:
    """A change of a heartbeat service's schedule, or of the period of a scheduled one:
    a new period replaces the schedule, a new schedule the period; both at once is a
    mistake worth naming."""
    current = cron_schedules.spec_of(row)
    spec = current
    if changes.schedule:
        spec = cron_schedules.merged_spec(current, changes.schedule, changes.default_zone)
    period = changes.expected_period_sec if changes.set_period else row.expected_period_sec
    if changes.set_period and period is not None and spec is not None:
        if changes.schedule.get("schedule") is not None:
            raise Invalid(PERIOD_OR_SCHEDULE)
        spec = None  # the period given replaces the schedule
    await cron_schedules.set_schedule(
        session, row, spec, period=None if spec else period, rules=rules, now=now
    )


async def _check_push_token_free(
    session: AsyncSession, token: str | None, own: uuid.UUID | None
) -> None:
    if token is None:
        return
    owner = await service_store.service_id_by_push_token(session, token)
    if owner is not None and owner != own:
        raise Conflict("that push_token is another service's: push tokens are unique")


async def service_id_by_push_token(session: AsyncSession, token: str) -> uuid.UUID | None:
    """The service an Uptime Kuma push URL's token names, when it is not an id."""
    return await service_store.service_id_by_push_token(session, token)


async def delete_service(session: AsyncSession, ident: str) -> None:
    row = await get_service(session, ident, for_update=True)
    await session.delete(row)


async def mute(session: AsyncSession, ident: str, *, until: datetime, now: datetime) -> Service:
    """Mute a service until `until` (a maintenance window): its transitions are still
    recorded, and count in its uptime, but nobody is told."""
    if until <= now:
        raise Invalid("`until` must be in the future")
    row = await get_service(session, ident, for_update=True)
    row.muted_until = until
    return row


async def unmute(session: AsyncSession, ident: str) -> Service:
    row = await get_service(session, ident, for_update=True)
    row.muted_until = None
    return row


async def heartbeats(
    session: AsyncSession,
    service: Service,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[Heartbeat]:
    """A heartbeat service's history: its heartbeats, newest first, within [start, end]."""
    return await history_pages.history_page(
        session, Heartbeat, service.id, start=start, end=end, before=before, limit=limit
    )


async def check_results(
    session: AsyncSession,
    service: Service,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[CheckResult]:
    """A probe service's history: its check results, newest first, within [start, end]."""
    return await history_pages.history_page(
        session, CheckResult, service.id, start=start, end=end, before=before, limit=limit
    )


async def state_history(
    session: AsyncSession,
    *,
    service_key: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[tuple[StateTransition, str]]:
    service_id = None
    if service_key is not None:
        service_id = (await get_service(session, service_key)).id
    return await history_pages.transitions(
        session, service_id=service_id, start=start, end=end, before=before, limit=limit
    )
