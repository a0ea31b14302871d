"""The incidents page: the open ones, then the past ones of a chosen period, optionally
of one service (query parameters, so it works without JavaScript)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.metrics_schemas import IncidentOut
from heartwatch.services import incidents
from heartwatch.web.access import ViewerDep
from heartwatch.web.templating import render

router = APIRouter(include_in_schema=False)

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90), "365d": timedelta(days=365)}  # fmt: skip
LIMIT = 200


@router.get("/ui/incidents")
async def incidents_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    service: str = "",
    period: str = "7d",
) -> Response:
    period = period if period in PERIODS else "7d"
    service = service.strip()[:100]
    now = runtime.clock.now()
    async with runtime.db.reading() as session:
        open_rows = await incidents.open_now(session)
        past_rows = await incidents.page(
            session, service_key=service or None, start=now - PERIODS[period], limit=LIMIT
        )
    reveal = viewer.reveal
    shown_open = [IncidentOut.of(r, reveal=reveal) for r in open_rows]
    if service:
        shown_open = [i for i in shown_open if i.service_key == service]
    past = [IncidentOut.of(r, reveal=reveal) for r in past_rows if r.recovered_at is not None]
    return render(
        request,
        viewer,
        "incidents.html",
        open_incidents=shown_open,
        past=past,
        periods=list(PERIODS),
        period=period,
        service=service,
        now=now,
    )
