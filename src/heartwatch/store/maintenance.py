"""Maintenance windows' rows, and the services whose alerts a window held."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store.models import MaintenanceWindowRow, Service


async def all_windows(session: AsyncSession) -> list[MaintenanceWindowRow]:
    """Every window (a handful: they are planned by people), oldest first."""
    stmt = select(MaintenanceWindowRow).order_by(
        MaintenanceWindowRow.created_at, MaintenanceWindowRow.id
    )
    return list((await session.scalars(stmt)).all())


async def get_window(session: AsyncSession, window_id: uuid.UUID) -> MaintenanceWindowRow | None:
    return await session.get(MaintenanceWindowRow, window_id)


async def mark_held(session: AsyncSession, service_id: uuid.UUID, at: datetime) -> None:
    """An alert of this service was held (the first holding time is kept)."""
    await session.execute(
        update(Service)
        .where(Service.id == service_id, Service.maintenance_held_at.is_(None))
        .values(maintenance_held_at=at)
    )


async def held_services(session: AsyncSession) -> list[Service]:
    stmt = select(Service).where(Service.maintenance_held_at.is_not(None)).with_for_update()
    return list((await session.scalars(stmt.order_by(Service.id))).all())
