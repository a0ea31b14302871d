"""Dev mode's clock (only mounted when DEBUG_MODE is on): see the README."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException

from heartwatch.api import examples
from heartwatch.api.clock_schemas import ClockMove, ClockOut
from heartwatch.api.deps import RuntimeDep

router = APIRouter(prefix="/dev", tags=["dev"])


def _clock_out(runtime: RuntimeDep) -> ClockOut:
    clock = runtime.dev_clock
    assert clock is not None  # the router is only mounted in dev mode
    return ClockOut(
        now=clock.now(), real_now=datetime.now(UTC), offset_seconds=clock.offset_seconds
    )


@router.get("/clock", response_model=ClockOut)
async def get_clock(runtime: RuntimeDep) -> ClockOut:
    """Dev mode's time: `now` as heartwatch sees it, the real time, and the offset."""
    await runtime.sync_clock(force=True)
    return _clock_out(runtime)


@router.post("/clock", response_model=ClockOut)
async def move_clock(
    runtime: RuntimeDep, body: Annotated[ClockMove, Body(openapi_examples=examples.CLOCK_MOVE)]
) -> ClockOut:
    """`{"now": "2026-01-01T09:00:00Z"}` sets the time; `{"advance_seconds": 3600}` moves it."""
    if (body.now is None) == (body.advance_seconds is None):
        raise HTTPException(422, "give exactly one of `now` or `advance_seconds`")
    clock = runtime.dev_clock
    assert clock is not None
    await runtime.sync_clock(force=True)
    if body.now is not None:
        offset = (body.now - datetime.now(UTC)).total_seconds()
    else:
        assert body.advance_seconds is not None
        offset = clock.offset_seconds + body.advance_seconds
    await runtime.move_clock(offset)
    return _clock_out(runtime)
