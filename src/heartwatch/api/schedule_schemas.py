"""The schedule fields of a heartbeat service: what POST/PATCH/PUT /services take and
what the service view shows (`api.schemas` builds on these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from heartwatch.domain.heartbeat import HeartbeatState
from heartwatch.domain.schedule_view import expected_run
from heartwatch.services.cron_schedules import SCHEDULE_FIELDS


class ScheduleFields(BaseModel):
    """The request fields of a schedule (services.cron_schedules.SCHEDULE_FIELDS)."""

    schedule: str | None = Field(
        None,
        max_length=200,
        description="heartbeat services: a cron expression (5 fields, or 6 with seconds "
        "first; L, LW, #n, names), instead of expected_period_sec",
        examples=["0 2 * * *"],
    )
    timezone: str | None = Field(
        None, max_length=64, description="the schedule's IANA zone (default: TIMEZONE)"
    )
    grace_sec: float | None = Field(
        None, ge=0, le=7 * 86400, description="how late a run may report (default 300)"
    )
    early_tolerance_sec: float | None = Field(
        None, ge=0, le=86400, description="how early a run may report (default 0)"
    )
    max_runtime_sec: float | None = Field(
        None, gt=0, le=7 * 86400, description="the longest a started run may take"
    )

    def schedule_fields(self) -> dict[str, Any]:
        """The schedule fields given (services.cron_schedules.SCHEDULE_FIELDS)."""
        given = self.model_fields_set
        return {f: getattr(self, f) for f in SCHEDULE_FIELDS if f in given}


class ScheduleOut(BaseModel):
    """What the service view shows of a schedule (null for a service without one)."""

    schedule: str | None = Field(description="cron expression (heartbeat services with one)")
    timezone: str | None = Field(description="the schedule's IANA time zone")
    grace_sec: float | None = Field(description="how late a scheduled run may report")
    early_tolerance_sec: float | None = Field(description="how early a run may report")
    max_runtime_sec: float | None
    schedule_description: str | None = Field(description="the schedule in words")
    next_expected_at: datetime | None = Field(
        description="scheduled services: the run waited for (UTC)"
    )
    next_expected_at_local: datetime | None = Field(description="the same, in the zone")
    deadline_at: datetime | None = Field(
        description="when that run turns the service down if no heartbeat comes (UTC)"
    )
    deadline_at_local: datetime | None = Field(description="the same, in the zone")


class ScheduleColumns(Protocol):
    schedule: str | None
    timezone: str | None
    grace_sec: float | None
    early_tolerance_sec: float | None
    max_runtime_sec: float | None


def schedule_view(row: ScheduleColumns, current: HeartbeatState, now: datetime) -> dict[str, Any]:
    """ScheduleOut's fields for a service as of `now` (`current`: its state then)."""
    cron = current.cron
    run = expected_run(current, now)
    return {
        "schedule": row.schedule,
        "timezone": row.timezone,
        "grace_sec": row.grace_sec,
        "early_tolerance_sec": row.early_tolerance_sec,
        "max_runtime_sec": row.max_runtime_sec,
        "schedule_description": cron.describe() if cron is not None else None,
        "next_expected_at": run.at if run else None,
        "next_expected_at_local": cron.local(run.at) if cron and run else None,
        "deadline_at": run.deadline if run else None,
        "deadline_at_local": cron.local(run.deadline) if cron and run else None,
    }
