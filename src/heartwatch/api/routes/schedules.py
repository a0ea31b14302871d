"""Schedules explained: a service's next runs, and a draft expression's before saving."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from heartwatch.api import examples
from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.problems import problems
from heartwatch.domain.schedule import CronSchedule
from heartwatch.services import cron_schedules, registry
from heartwatch.services.errors import NotFound

router = APIRouter(tags=["schedules"])

Runs = Annotated[int, Query(ge=1, le=100, description="how many runs to show")]


class RunOut(BaseModel):
    at: datetime = Field(description="UTC")
    local: datetime = Field(description="the same moment in the schedule's zone")


class SchedulePreview(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SCHEDULE_PREVIEW]})

    schedule: str
    timezone: str
    description: str = Field(description="the expression in words")
    grace_sec: float
    early_tolerance_sec: float
    runs: list[RunOut] = Field(description="the next runs after now")


class ScheduleDraft(BaseModel):
    schedule: str = Field(max_length=200, examples=["0 2 * * *"])
    timezone: str | None = Field(None, max_length=64, description="default: TIMEZONE")
    grace_sec: float | None = Field(None, ge=0, le=7 * 86400)
    early_tolerance_sec: float | None = Field(None, ge=0, le=86400)
    runs: int = Field(5, ge=1, le=100)


def _preview(spec: cron_schedules.ScheduleSpec, now: datetime, runs: int) -> SchedulePreview:
    cron, upcoming = cron_schedules.preview(spec, now, runs)
    return SchedulePreview(
        schedule=cron.expression,
        timezone=cron.zone_name,
        description=cron.describe(),
        grace_sec=cron.grace.total_seconds(),
        early_tolerance_sec=cron.early.total_seconds(),
        runs=[_run(cron, at) for at in upcoming],
    )


def _run(cron: CronSchedule, at: datetime) -> RunOut:
    return RunOut(at=at, local=cron.local(at))


@router.get(
    "/services/{id}/schedule",
    response_model=SchedulePreview,
    responses=problems(s404="no such service, or it has no schedule"),
)
async def service_schedule(
    runtime: RuntimeDep, session: ReadSession, id: str, runs: Runs = 5
) -> SchedulePreview:
    """A scheduled service's next runs, in UTC and in its zone, and its schedule in words."""
    row = await registry.get_service(session, id)
    spec = cron_schedules.spec_of(row)
    if spec is None:
        raise NotFound(f"service {id!r} has no schedule (it is expected by its period)")
    return _preview(spec, runtime.clock.now(), runs)


@router.post("/schedule/preview", response_model=SchedulePreview)
async def preview_schedule(
    runtime: RuntimeDep,
    body: Annotated[ScheduleDraft, Body(openapi_examples=examples.SCHEDULE_DRAFT)],
) -> SchedulePreview:
    """Check a draft expression before saving it: a 422 says what is wrong, otherwise its
    next runs and its reading in words."""
    given = body.model_dump(exclude={"runs"}, exclude_none=True)
    spec = cron_schedules.merged_spec(None, given, runtime.settings.timezone)
    assert spec is not None  # `schedule` is required
    return _preview(spec, runtime.clock.now(), body.runs)
