"""The worker's heartbeat deadline evaluation: move services whose deadline has passed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import HeartbeatRules, Transition, advance
from heartwatch.services.lifecycle import stage, state_of
from heartwatch.store import services as service_store


async def evaluate_due(
    session: AsyncSession, now: datetime, rules: HeartbeatRules, *, limit: int = 500
) -> tuple[int, list[tuple[str, Transition]]]:
    """Advance up to `limit` services past their deadline.

    Returns how many services were looked at (the caller loops while that is `limit`) and
    the (key, transition) pairs that resulted.

    Cost is proportional to the services that are due, not to all services: the partial
    work is found through the `next_deadline_at` index.
    """
    changes: list[tuple[str, Transition]] = []
    rows = await service_store.lock_due_services(session, now, limit)
    for row in rows:
        transitions = await stage(session, row, advance(state_of(row), now, rules), rules, now)
        changes.extend((row.key, t) for t in transitions)
    return len(rows), changes
