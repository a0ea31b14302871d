"""Incidents: per service, the open ones, and a searchable log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from heartwatch.api.auth import Reveal
from heartwatch.api.deps import ReadSession
from heartwatch.api.metrics_schemas import IncidentColumns, IncidentOut, IncidentPage
from heartwatch.api.paging import Cursor, Limit, check_window, decode_cursor, next_cursor
from heartwatch.api.problems import problems
from heartwatch.api.schemas import UTCTime
from heartwatch.services import incidents as incident_service
from heartwatch.services import registry

router = APIRouter(tags=["incidents"])


def _out(rows: Sequence[IncidentColumns], reveal: bool) -> list[IncidentOut]:
    return [IncidentOut.of(row, reveal=reveal) for row in rows]


def _page(rows: Sequence[IncidentColumns], limit: int, reveal: bool) -> IncidentPage:
    items = _out(rows, reveal)
    cursor = None
    if len(items) == limit:
        cursor = next_cursor(items[-1].started_at, items[-1].id)
    return IncidentPage(items=items, next_cursor=cursor)


@router.get("/services/{id}/incidents", response_model=IncidentPage, responses=problems(404))
async def service_incidents(
    session: ReadSession, reveal: Reveal, id: str, limit: Limit = 100, cursor: Cursor = None
) -> IncidentPage:
    """A service's incidents, newest first."""
    before = decode_cursor(cursor) if cursor else None
    service = await registry.get_service(session, id)
    rows = await incident_service.page(session, service_id=service.id, before=before, limit=limit)
    return _page(rows, limit, reveal)


@router.get("/incidents/active", response_model=IncidentPage)
async def active_incidents(session: ReadSession, reveal: Reveal) -> IncidentPage:
    """Every open incident, newest first, in one page (`next_cursor` is null)."""
    return IncidentPage(
        items=_out(await incident_service.open_now(session), reveal), next_cursor=None
    )


@router.get("/incidents", response_model=IncidentPage)
async def incidents(
    session: ReadSession,
    reveal: Reveal,
    start: Annotated[UTCTime | None, Query(alias="from")] = None,
    end: Annotated[UTCTime | None, Query(alias="to")] = None,
    service_key: Annotated[str | None, Query(description="of this service only")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> IncidentPage:
    """Incidents that overlap [from, to] (an outage still going, or one that began
    before `from` and ended after it, is included), newest first."""
    check_window(start, end)
    before = decode_cursor(cursor) if cursor else None
    rows = await incident_service.page(
        session, service_key=service_key, start=start, end=end, before=before, limit=limit
    )
    return _page(rows, limit, reveal)
