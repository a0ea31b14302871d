"""Uptime, MTTR, MTBF and SLA over a period ending now."""

from __future__ import annotations

from fastapi import APIRouter

from heartwatch.api.auth import Reveal
from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.metrics_schemas import Period, SummaryOut, SummaryTotals, UptimeOut
from heartwatch.api.problems import problems
from heartwatch.domain.status import Status
from heartwatch.services import registry, uptime

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get(
    "/uptime/{id}", response_model=UptimeOut, response_model_by_alias=True, responses=problems(404)
)
async def service_uptime(
    runtime: RuntimeDep,
    session: ReadSession,
    reveal: Reveal,
    id: str,
    period: Period = "24h",
    exclude_maintenance: bool = False,
) -> UptimeOut:
    """Time-weighted uptime of one service over the last `period`, with its incidents,
    MTTR, MTBF, SLA verdict and (probe services) check latency percentiles."""
    row = await registry.get_service(session, id)
    end = runtime.clock.now()
    [report] = await uptime.reports(
        session,
        [row],
        end - uptime.PERIODS[period],
        end,
        with_latency=True,
        exclude_maintenance=exclude_maintenance,
    )
    return UptimeOut.of(row, period, report, reveal=reveal)


@router.get("/summary", response_model=SummaryOut, response_model_by_alias=True)
async def summary(
    runtime: RuntimeDep,
    session: ReadSession,
    reveal: Reveal,
    period: Period = "24h",
    exclude_maintenance: bool = False,
) -> SummaryOut:
    """The same figures for every service, and the totals across them."""
    rows = await registry.list_services(session)
    end = runtime.clock.now()
    start = end - uptime.PERIODS[period]
    figures = await uptime.summary(
        session, rows, runtime.rules, start, end, exclude_maintenance=exclude_maintenance
    )
    services = [
        UptimeOut.of(r, period, rep, reveal=reveal)
        for r, rep in zip(rows, figures.reports, strict=True)
    ]
    return SummaryOut(
        period=period,
        start=start,
        end=end,
        services=services,
        exclude_maintenance=exclude_maintenance,
        totals=SummaryTotals(
            services=len(rows),
            by_status={s: figures.by_status.get(s, 0) for s in Status},
            active_incidents=figures.open_incidents,
            uptime_percent=figures.times.uptime_percent,
            up_seconds=figures.times.up_s,
            down_seconds=figures.times.down_s,
            incident_count=figures.incident_count,
            mttr=figures.mttr_s,
            sla_breaches=[s.service_key for s in services if s.sla_met is False],
        ),
    )
