"""Maintenance windows as the domain sees them, read from the store (apart from
`services.maintenance` so the notification queue can read them without a cycle)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.maintenance import MaintenanceWindow
from heartwatch.domain.schedule import CronSchedule, InvalidSchedule, cached_schedule
from heartwatch.store import maintenance as store
from heartwatch.store.models import MaintenanceWindowRow


def window_of(row: MaintenanceWindowRow) -> MaintenanceWindow:
    cron: CronSchedule | None = None
    if row.schedule:
        try:
            cron = cached_schedule(row.schedule, row.timezone or "UTC", 0.0, 0.0)
        except InvalidSchedule:
            cron = cached_schedule(row.schedule, "UTC", 0.0, 0.0)
    return MaintenanceWindow(
        row.id,
        row.starts_at,
        row.ends_at,
        cron,
        timedelta(seconds=row.duration_sec) if row.duration_sec is not None else None,
        row.service_id,
        row.tag,
    )


async def windows(session: AsyncSession) -> list[MaintenanceWindow]:
    return [window_of(r) for r in await store.all_windows(session)]
