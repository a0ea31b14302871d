"""Cron schedules of heartbeat services as the registry applies them: validating what a
request gives (a partial change merged over the row's current schedule), writing the
columns, moving the status to the new rule, and previewing runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.schedule import (
    DEFAULT_GRACE,
    CronSchedule,
    InvalidSchedule,
    parse_schedule,
)
from heartwatch.domain.schedule_rules import redeclare_schedule
from heartwatch.services.errors import Invalid
from heartwatch.services.lifecycle import stage, state_of
from heartwatch.store.models import Service

# The request fields that make up a schedule.
SCHEDULE_FIELDS = ("schedule", "timezone", "grace_sec", "early_tolerance_sec", "max_runtime_sec")
PERIOD_OR_SCHEDULE = (
    "give expected_period_sec or schedule, not both: a heartbeat service is expected "
    "either every so often (a period) or at set times (a cron schedule)"
)
SCHEDULE_IS_FOR_HEARTBEATS = "schedule is for heartbeat services; probes have an interval"


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A schedule as stored: the cron text and its zone, grace, early tolerance and the
    longest a started run may take."""

    schedule: str
    timezone: str
    grace_sec: float = DEFAULT_GRACE.total_seconds()
    early_tolerance_sec: float = 0.0
    max_runtime_sec: float | None = None

    def cron(self) -> CronSchedule:
        try:
            return parse_schedule(
                self.schedule,
                self.timezone,
                grace=timedelta(seconds=self.grace_sec),
                early=timedelta(seconds=self.early_tolerance_sec),
            )
        except InvalidSchedule as exc:
            raise Invalid(str(exc)) from exc


def spec_of(row: Service) -> ScheduleSpec | None:
    if not row.schedule:
        return None
    return ScheduleSpec(
        row.schedule,
        row.timezone or "UTC",
        DEFAULT_GRACE.total_seconds() if row.grace_sec is None else row.grace_sec,
        row.early_tolerance_sec or 0.0,
        row.max_runtime_sec,
    )


def merged_spec(
    current: ScheduleSpec | None, given: Mapping[str, Any], default_zone: str
) -> ScheduleSpec | None:
    """The schedule after a change that gives some of SCHEDULE_FIELDS: `schedule: null`
    clears it; fields left out keep their current values (or the defaults). Raises
    Invalid for zone or tolerance fields without any schedule to apply them to."""
    if "schedule" in given and given["schedule"] is None:
        return None
    expression = given.get("schedule") or (current.schedule if current else None)
    if expression is None:
        names = ", ".join(f for f in SCHEDULE_FIELDS if f in given)
        raise Invalid(f"{names}: only a service with a schedule has these; give schedule too")
    base = current or ScheduleSpec(expression, default_zone)
    values = {f: getattr(base, f) for f in SCHEDULE_FIELDS}
    values.update({f: v for f, v in given.items() if f in SCHEDULE_FIELDS})
    values["schedule"] = expression
    for name, default in (("timezone", default_zone), ("grace_sec", DEFAULT_GRACE.total_seconds())):
        if values[name] is None:
            values[name] = default
    values["early_tolerance_sec"] = values["early_tolerance_sec"] or 0.0
    return ScheduleSpec(**values)


def write_spec(row: Service, spec: ScheduleSpec | None) -> None:
    row.schedule = spec.schedule if spec else None
    row.timezone = spec.timezone if spec else None
    row.grace_sec = spec.grace_sec if spec else None
    row.early_tolerance_sec = spec.early_tolerance_sec if spec else None
    row.max_runtime_sec = spec.max_runtime_sec if spec else None


async def set_schedule(
    session: AsyncSession,
    row: Service,
    spec: ScheduleSpec | None,
    *,
    period: float | None,
    rules: HeartbeatRules,
    now: datetime,
) -> None:
    """Give a locked heartbeat service its new schedule (None: none, `period` then being
    its declared period or None), validated, and move its status to the new rule: what
    happened under the old one is recorded first."""
    cron = None
    if spec is not None:
        cron = spec.cron()
        spec = replace(spec, schedule=cron.expression)  # whitespace normalised
    outcome = redeclare_schedule(state_of(row), cron, now, rules, period=period)
    write_spec(row, spec)
    await stage(session, row, outcome, rules, now)


def preview(spec: ScheduleSpec, now: datetime, runs: int) -> tuple[CronSchedule, list[datetime]]:
    """A (draft) schedule's next `runs` runs after `now`, validated."""
    cron = spec.cron()
    return cron, cron.runs_after(now, runs)
