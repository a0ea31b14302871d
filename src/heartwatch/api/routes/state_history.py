"""`/state-history`: every status change, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from heartwatch.api.auth import Reveal
from heartwatch.api.deps import ReadSession
from heartwatch.api.list_schemas import TransitionPage
from heartwatch.api.paging import Cursor, Limit, check_window, decode_cursor, page_cursor
from heartwatch.api.problems import problems
from heartwatch.api.schemas import TransitionOut, UTCTime
from heartwatch.services import registry

router = APIRouter(tags=["history"])


@router.get(
    "/state-history",
    response_model=TransitionPage,
    responses=problems(s404="no service has that `service_key`"),
)
async def state_history(
    session: ReadSession,
    reveal: Reveal,
    service_key: Annotated[str | None, Query(description="of this service only")] = None,
    start: Annotated[UTCTime | None, Query(alias="from")] = None,
    end: Annotated[UTCTime | None, Query(alias="to")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> TransitionPage:
    """Status changes, newest first (of one service with `service_key`), within
    [from, to]."""
    check_window(start, end)
    before = decode_cursor(cursor) if cursor else None
    rows = await registry.state_history(
        session, service_key=service_key, start=start, end=end, before=before, limit=limit
    )
    items = [TransitionOut.of(t, key, reveal=reveal) for t, key in rows]
    last = (items[-1].timestamp, items[-1].id) if items else None
    return TransitionPage(items=items, next_cursor=page_cursor(len(items), limit, last))
