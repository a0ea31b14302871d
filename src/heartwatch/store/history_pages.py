"""A service's raw history as people page through it, newest first: its heartbeats or
check results, and its status transitions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from heartwatch.store.models import CheckResult, Heartbeat, Service, StateTransition

History = TypeVar("History", Heartbeat, CheckResult)


def _history_time(model: type[Heartbeat] | type[CheckResult]) -> InstrumentedAttribute[datetime]:
    return Heartbeat.received_at if model is Heartbeat else CheckResult.checked_at


async def history_page(
    session: AsyncSession,
    model: type[History],
    service_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[History]:
    """A service's heartbeats or check results, newest first, within [start, end].
    `before` is a keyset cursor (time, id) from the previous page: stable under inserts,
    and as fast on page 1000 as on page 1."""
    at_col = _history_time(model)
    stmt = select(model).where(model.service_id == service_id)
    if start is not None:
        stmt = stmt.where(at_col >= start)
    if end is not None:
        stmt = stmt.where(at_col <= end)
    if before is not None:
        at, row_id = before
        stmt = stmt.where((at_col < at) | ((at_col == at) & (model.id < row_id)))
    stmt = stmt.order_by(at_col.desc(), model.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def transitions(
    session: AsyncSession,
    *,
    service_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[tuple[StateTransition, str]]:
    """Newest first, each with its service's key; `before`: as in `history_page`."""
    stmt = select(StateTransition, Service.key).join(
        Service, Service.id == StateTransition.service_id
    )
    if service_id is not None:
        stmt = stmt.where(StateTransition.service_id == service_id)
    if start is not None:
        stmt = stmt.where(StateTransition.at >= start)
    if end is not None:
        stmt = stmt.where(StateTransition.at <= end)
    if before is not None:
        at, row_id = before
        stmt = stmt.where(
            (StateTransition.at < at) | ((StateTransition.at == at) & (StateTransition.id < row_id))
        )
    stmt = stmt.order_by(StateTransition.at.desc(), StateTransition.id.desc()).limit(limit)
    return [(t, key) for t, key in (await session.execute(stmt)).all()]
