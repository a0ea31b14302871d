"""The bridge between a `services` row and the pure heartbeat rules: read the row as a
`HeartbeatState`, run a rule, write the state back with its transitions — in the caller's
transaction, so the new status and its history rows commit together."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    Step,
    Transition,
    advance,
    deadline_in,
    next_deadline,
)
from heartwatch.domain.schedule import DEFAULT_GRACE, CronSchedule, InvalidSchedule, cached_schedule
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.transitions import record_transitions
from heartwatch.store.models import Service


class HeartbeatColumns(Protocol):
    """A `services` row as the ORM or a Core select gives it."""

    status: Status
    status_since: datetime
    last_heartbeat_at: datetime | None
    failed_at: datetime | None
    expected_period_sec: float | None
    recent_gaps: list[float]
    heartbeat_count: int
    resume_on_ping: bool
    schedule: str | None
    timezone: str | None
    grace_sec: float | None
    early_tolerance_sec: float | None
    max_runtime_sec: float | None
    last_start_at: datetime | None


class StatusColumns(HeartbeatColumns, Protocol):
    """What `as_of` reads: the heartbeat columns, and whose rules move the status."""

    type: str


def state_of(row: HeartbeatColumns) -> HeartbeatState:
    return HeartbeatState(
        status=Status(row.status),
        status_since=row.status_since,
        last_heartbeat_at=row.last_heartbeat_at,
        failed_at=row.failed_at,
        declared_period=row.expected_period_sec,
        recent_gaps=tuple(row.recent_gaps or ()),
        heartbeat_count=row.heartbeat_count,
        resume_on_ping=row.resume_on_ping,
        cron=cron_of(row),
        started_at=_unfinished_start(row) if row.max_runtime_sec is not None else None,
        max_runtime=(
            timedelta(seconds=row.max_runtime_sec) if row.max_runtime_sec is not None else None
        ),
    )


def _unfinished_start(row: HeartbeatColumns) -> datetime | None:
    """The last /start, when no success or fail came after it."""
    start = row.last_start_at
    if start is None:
        return None
    for verdict in (row.last_heartbeat_at, row.failed_at):
        if verdict is not None and verdict >= start:
            return None
    return start


def cron_of(row: HeartbeatColumns) -> CronSchedule | None:
    """The row's cron schedule, if it has one (validated when it was stored)."""
    if not row.schedule:
        return None
    grace = DEFAULT_GRACE.total_seconds() if row.grace_sec is None else row.grace_sec
    early = row.early_tolerance_sec or 0.0
    try:
        return cached_schedule(row.schedule, row.timezone or "UTC", grace, early)
    except InvalidSchedule:
        # A zone the installed tz data no longer knows: UTC rather than no verdict at all.
        return cached_schedule(row.schedule, "UTC", grace, early)


def state_columns(
    state: HeartbeatState, rules: HeartbeatRules, now: datetime, steps: list[Step] | None = None
) -> dict[str, Any]:
    """The `services` columns that hold a heartbeat state (and its next deadline; from
    `steps`, the state's schedule, when the caller has it already)."""
    return {
        "status": state.status,
        "status_since": state.status_since,
        "last_heartbeat_at": state.last_heartbeat_at,
        "failed_at": state.failed_at,
        "expected_period_sec": state.declared_period,
        "recent_gaps": list(state.recent_gaps),
        "heartbeat_count": state.heartbeat_count,
        "next_deadline_at": (
            next_deadline(state, rules, now) if steps is None else deadline_in(steps, now)
        ),
    }


def write_state(row: Service, state: HeartbeatState, rules: HeartbeatRules, now: datetime) -> None:
    for column, value in state_columns(state, rules, now).items():
        setattr(row, column, value)


def transition_values(
    service_id: uuid.UUID, transitions: list[Transition], detected_at: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id(),
            "service_id": service_id,
            "from_status": t.from_status,
            "to_status": t.to_status,
            "at": t.at,
            "detected_at": detected_at,
            "reason": t.reason,
            "alert_sent": False,
        }
        for t in transitions
    ]


async def stage(
    session: AsyncSession,
    row: Service,
    outcome: tuple[HeartbeatState, list[Transition]],
    rules: HeartbeatRules,
    now: datetime,
) -> list[Transition]:
    """Write a rule's outcome (new state, transitions) for a locked row into the session.

    Usage: `await stage(session, row, advance(state_of(row), now, rules), rules, now)`.
    """
    state, transitions = outcome
    write_state(row, state, rules, now)
    await record_transitions(session, transition_values(row.id, transitions, now))
    return transitions


def as_of(row: StatusColumns, rules: HeartbeatRules, now: datetime) -> HeartbeatState:
    """The service's state as of `now`. The stored status is what the worker has
    recorded; a heartbeat deadline that passed since (a worker lagging, or dead) is
    applied here too, so no reader sees a stale verdict: a dead worker shows up as
    silent, then down. Probe statuses move with check results only: stored is current."""
    state = state_of(row)
    return state if is_probe(row.type) else advance(state, now, rules)[0]
