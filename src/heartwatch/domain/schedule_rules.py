"""Changing a heartbeat service's rule between a cron schedule and a period: what
happened under the old rule is recorded first, and the new rule's verdict starts now (as
`domain.heartbeat.redeclare_period` does for a period alone)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from heartwatch.domain.heartbeat import (
    HeartbeatRules,
    HeartbeatState,
    Transition,
    _human,
    _settle,
    advance,
)
from heartwatch.domain.schedule import CronSchedule
from heartwatch.domain.status import Status


def redeclare_schedule(
    state: HeartbeatState,
    cron: CronSchedule | None,
    now: datetime,
    rules: HeartbeatRules,
    *,
    period: float | None = None,
) -> tuple[HeartbeatState, list[Transition]]:
    """Set, change (a new expression, zone, grace) or clear the cron schedule, with the
    declared period that goes with it (None when there is a schedule: a service has one
    or the other), and re-evaluate now, as `redeclare_period` does: what happened under
    the old rule is recorded first, and the new rule's verdict starts now."""
    if cron is not None:
        period = None
    if state.status is Status.PAUSED:
        return replace(state, cron=cron, declared_period=period), []
    state, transitions = advance(state, now, rules)
    if cron is not None:
        what = f"schedule set to {cron.expression} ({cron.zone_name})"
    elif period is not None:
        what = f"period set to {_human(period)}"
    else:
        what = "schedule cleared"
    new = replace(state, cron=cron, declared_period=period)
    state, more = _settle(new, now, rules, what)
    return state, transitions + more
