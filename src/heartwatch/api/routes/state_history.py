"""`/state-history`: every status change, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from heartwatch.api.auth import Reveal
from heartwatch.api.deps import ReadSession
from heartwatch.api.paging import Limit, check_window
from heartwatch.api.schemas import TransitionOut, UTCTime
from heartwatch.services import registry

router = APIRouter(tags=["history"])


@router.get("/state-history", response_model=list[TransitionOut])
async def state_history(
    session: ReadSession,
    reveal: Reveal,
    service_key: str | None = None,
    start: Annotated[UTCTime | None, Query(alias="from")] = None,
    end: Annotated[UTCTime | None, Query(alias="to")] = None,
    limit: Limit = 100,
) -> list[TransitionOut]:
    check_window(start, end)
    rows = await registry.state_history(
        session, service_key=service_key, start=start, end=end, limit=limit
    )
    return [TransitionOut.of(t, key, reveal=reveal) for t, key in rows]
