"""Recording status changes: the one place every writer (ingest, the deadline evaluator,
probe results, pause/resume) hands its transitions to, inside its own transaction.

Whatever hangs off a transition (the history row, the incident it opens or closes, the
notifications it queues) is written here, so it commits with the new status or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.uptime import floor_hour
from heartwatch.services import incidents, notifications
from heartwatch.store import history
from heartwatch.store.models import StateTransition
from heartwatch.store.tables import insert_rows


async def record_transitions(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """Write transition rows (as `lifecycle.transition_values` makes them), in time order
    per service, with everything that follows from them. The services' rows are locked
    and already hold their new state."""
    if not values:
        return
    await insert_rows(session, StateTransition, values)
    told = await incidents.follow(session, values)
    await notifications.queue_for_transitions(session, values, told)
    # A change stamped in an hour before the one it was recorded in may land in an hour
    # the rollup job has already summed: mark the service so that hour is redone.
    late: dict[uuid.UUID, datetime] = {}
    for v in values:
        if floor_hour(v["at"]) < floor_hour(v["detected_at"]):
            sid = v["service_id"]
            late[sid] = min(late.get(sid, v["at"]), v["at"])
    await history.mark_rollups_dirty(session, late)
