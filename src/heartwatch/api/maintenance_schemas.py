"""Maintenance windows' request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from heartwatch.api import examples
from heartwatch.api.paging import OnePage
from heartwatch.api.schemas import UTCTime
from heartwatch.services.maintenance_windows import window_of

if TYPE_CHECKING:  # the rows rendered; the API runs no store code
    from heartwatch.store.models import MaintenanceWindowRow


class WindowIn(BaseModel):
    """One-off: `from` and `until`. Recurring: `schedule` (cron), `duration_sec` and
    `timezone` (default TIMEZONE). For `service` (id or key), a `tag`, or everything."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    starts_at: UTCTime | None = Field(None, alias="from")
    ends_at: UTCTime | None = Field(None, alias="until")
    schedule: str | None = Field(None, max_length=200, examples=["0 3 * * SUN"])
    timezone: str | None = Field(None, max_length=64)
    duration_sec: float | None = Field(None, gt=0, le=7 * 86400)
    service: str | None = Field(None, max_length=100)
    tag: str | None = Field(None, min_length=1, max_length=50)
    reason: str = Field("", max_length=500)


class WindowOut(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [examples.WINDOW_OUT]}
    )

    id: uuid.UUID
    service_id: uuid.UUID | None
    tag: str | None
    starts_at: datetime | None = Field(serialization_alias="from")
    ends_at: datetime | None = Field(serialization_alias="until")
    schedule: str | None
    timezone: str | None
    duration_sec: float | None
    reason: str
    active_until: datetime | None = Field(description="set while the window is open now")

    @classmethod
    def of(cls, row: MaintenanceWindowRow, now: datetime) -> WindowOut:
        span = window_of(row).span_at(now)
        return cls(
            id=row.id,
            service_id=row.service_id,
            tag=row.tag,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            schedule=row.schedule,
            timezone=row.timezone,
            duration_sec=row.duration_sec,
            reason=row.reason,
            active_until=span[1] if span else None,
        )


class WindowList(BaseModel):
    """Every maintenance window, oldest first (api/list_schemas.py's envelope)."""

    items: list[WindowOut]
    next_cursor: OnePage = None
