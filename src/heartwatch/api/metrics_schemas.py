"""Response bodies for incidents and uptime metrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

from heartwatch.api.paging import NextCursor
from heartwatch.api.schemas import ServiceId, shown_id
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.snippets import hide
from heartwatch.domain.status import Status
from heartwatch.services.uptime import Report

if TYPE_CHECKING:  # the rows rendered; the API runs no store code
    from heartwatch.store.models import Service

Period = Literal["24h", "7d", "30d", "90d", "365d"]


class IncidentColumns(Protocol):
    """What IncidentOut reads of an incident (a row of store.incidents.PAGE_COLUMNS)."""

    id: uuid.UUID
    service_id: uuid.UUID
    service_key: str
    started_at: datetime
    recovered_at: datetime | None
    service_type: str
    checks_failed_count: int
    last_error: str | None
    resolved: bool


class IncidentOut(BaseModel):
    id: uuid.UUID
    service_id: ServiceId
    service_key: str
    started_at: datetime = Field(description="when the service turned down")
    recovered_at: datetime | None
    duration: float | None = Field(description="seconds; null while open")
    checks_failed_count: int | None = Field(
        description="probe services: failed checks (null for heartbeat services, which "
        "have no checks)"
    )
    last_error: str | None
    resolved: bool

    @classmethod
    def of(cls, row: IncidentColumns, *, reveal: bool) -> IncidentOut:
        recovered = row.recovered_at
        return cls(
            id=row.id,
            service_id=shown_id(row.service_id, reveal),
            service_key=row.service_key,
            started_at=row.started_at,
            recovered_at=recovered,
            duration=None if recovered is None else (recovered - row.started_at).total_seconds(),
            checks_failed_count=None if not is_probe(row.service_type) else row.checks_failed_count,
            last_error=row.last_error if reveal else hide(row.last_error),
            resolved=row.resolved,
        )


class IncidentPage(BaseModel):
    """One page of incidents, newest first."""

    items: list[IncidentOut]
    next_cursor: NextCursor


class LatencyOut(BaseModel):
    p50: float | None
    p95: float | None
    p99: float | None


class UptimeOut(BaseModel):
    service_id: ServiceId
    service_key: str
    period: Period
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    uptime_percent: float | None = Field(
        description="up / (up + down); null when nothing was observed"
    )
    up_seconds: float = Field(description="alive or silent (silent is a grace period)")
    down_seconds: float = Field(description="down or dead")
    observed_seconds: float = Field(description="up + down; unknown and paused time are left out")
    seconds_by_status: dict[Status, float]
    incident_count: int = Field(description="incidents that started in the window")
    mttr: float | None = Field(description="mean seconds to recover, incidents resolved in it")
    mtbf: float | None = Field(description="up seconds per incident")
    sla_target: float | None
    sla_met: bool | None
    latency_ms: LatencyOut | None = Field(description="probe services: check latency")
    exclude_maintenance: bool = Field(
        False, description="maintenance windows' time is left out of these figures"
    )
    maintenance_seconds: float | None = Field(
        None, description="with exclude_maintenance: the seconds left out"
    )

    @classmethod
    def of(cls, row: Service, period: Period, report: Report, *, reveal: bool) -> UptimeOut:
        t = report.times
        return cls(
            service_id=shown_id(row.id, reveal),
            service_key=row.key,
            period=period,
            start=report.start,
            end=report.end,
            uptime_percent=t.uptime_percent,
            up_seconds=t.up_s,
            down_seconds=t.down_s,
            observed_seconds=t.observed_s,
            seconds_by_status=dict(t.seconds),
            incident_count=report.incident_count,
            mttr=report.mttr_s,
            mtbf=report.mtbf_s,
            sla_target=report.sla_target,
            sla_met=report.sla_met,
            latency_ms=None if report.latency_ms is None else LatencyOut(**report.latency_ms),
            exclude_maintenance=report.maintenance_s is not None,
            maintenance_seconds=report.maintenance_s,
        )


class SummaryTotals(BaseModel):
    services: int
    by_status: dict[Status, int] = Field(description="current status (as of now)")
    active_incidents: int
    uptime_percent: float | None = Field(description="time-weighted over all services")
    up_seconds: float
    down_seconds: float
    incident_count: int
    mttr: float | None
    sla_breaches: list[str] = Field(description="keys of services below their sla_target")


class SummaryOut(BaseModel):
    period: Period
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    totals: SummaryTotals
    services: list[UptimeOut]
    exclude_maintenance: bool = Field(
        False, description="maintenance windows' time is left out of these figures"
    )
