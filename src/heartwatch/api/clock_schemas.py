"""The dev clock's request and answer (dev mode only: api/routes/dev.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from heartwatch.api import examples
from heartwatch.api.schemas import UTCTime


def _sane_clock(value: datetime) -> datetime:
    if not 2000 <= value.year <= 2200:
        raise ValueError("the dev clock goes from the year 2000 to 2200")
    return value


class ClockMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    now: Annotated[UTCTime, AfterValidator(_sane_clock)] | None = None
    advance_seconds: float | None = Field(None, ge=-10 * 366 * 86400, le=10 * 366 * 86400)


class ClockOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CLOCK_OUT]})

    now: datetime
    real_now: datetime
    offset_seconds: float
