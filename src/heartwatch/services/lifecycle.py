"""The bridge between a `services` row and the pure heartbeat rules: read the row as a
`HeartbeatState`, run a rule, write the state back with its transitions — in the caller's
transaction, so the new status and its history rows commit together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    Transition,
    next_deadline,
)
from heartwatch.domain.status import Status
from heartwatch.store.models import Service, StateTransition


def state_of(row: Service) -> HeartbeatState:
    return HeartbeatState(
        status=Status(row.status),
        status_since=row.status_since,
        last_heartbeat_at=row.last_heartbeat_at,
        failed_at=row.failed_at,
        declared_period=row.expected_period_sec,
        recent_gaps=tuple(row.recent_gaps or ()),
        heartbeat_count=row.heartbeat_count,
    )


def write_state(row: Service, state: HeartbeatState, rules: HeartbeatRules, now: datetime) -> None:
    row.status = state.status
    row.status_since = state.status_since
    row.last_heartbeat_at = state.last_heartbeat_at
    row.failed_at = state.failed_at
    row.expected_period_sec = state.declared_period
    if list(state.recent_gaps) != row.recent_gaps:
        row.recent_gaps = list(state.recent_gaps)
    row.heartbeat_count = state.heartbeat_count
    row.next_deadline_at = next_deadline(state, rules, now)


def transition_rows(
    service: Service, transitions: list[Transition], detected_at: datetime
) -> list[StateTransition]:
    return [
        StateTransition(
            service_id=service.id,
            from_status=t.from_status,
            to_status=t.to_status,
            at=t.at,
            detected_at=detected_at,
            reason=t.reason,
            alert_sent=False,
        )
        for t in transitions
    ]


def stage(
    session: AsyncSession,
    row: Service,
    outcome: tuple[HeartbeatState, list[Transition]],
    rules: HeartbeatRules,
    now: datetime,
) -> list[Transition]:
    """Write a rule's outcome (new state, transitions) for a locked row into the session.

    Usage: `stage(session, row, advance(state_of(row), now, rules), rules, now)`.
    """
    state, transitions = outcome
    write_state(row, state, rules, now)
    session.add_all(transition_rows(row, transitions, now))
    return transitions
