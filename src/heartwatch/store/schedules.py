"""What the daily summary reads of scheduled services: their turns to down in a window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.status import Status
from heartwatch.store.models import Service, StateTransition


async def scheduled_downs(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str, datetime, str]]:
    """(service key, when, reason) of every turn to down in [start, end) of a service
    that has a schedule, in time order."""
    stmt = (
        select(Service.key, StateTransition.at, StateTransition.reason)
        .join(Service, Service.id == StateTransition.service_id)
        .where(
            Service.schedule.is_not(None),
            StateTransition.to_status == Status.DOWN,
            StateTransition.at >= start,
            StateTransition.at < end,
        )
        .order_by(StateTransition.at)
    )
    return [(key, at, reason) for key, at, reason in (await session.execute(stmt)).all()]
