"""Recording status changes: the one place every writer (ingest, the deadline evaluator,
probe results, pause/resume) hands its transitions to, inside its own transaction.

Whatever hangs off a transition (the history row, the incident it opens or closes, the
notifications it queues) is written here, so it commits with the new status or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store import queries
from heartwatch.store.models import StateTransition


async def record_transitions(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """Write transition rows (as `lifecycle.transition_values` makes them), in time order
    per service, with everything that follows from them."""
    if not values:
        return
    await queries.insert_rows(session, StateTransition, values)
