"""The probe scheduler's use cases: claim due checks (leases on their slots), renew and
give back leases, record a round of finished checks.

The worker (`worker/scheduler.py`) keeps the in-memory side (the heap of slots, the
running checks); everything it reads or writes goes through here. Claims and write rounds
run compiled-once statements without an ORM session (`statements.statement_transaction`);
a round with a status change runs in a session, so that its transitions go through
`record_transitions` (`statements.write_lean`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.heartbeat import Transition
from heartwatch.services.probes import (
    FinishedCheck,
    ProbedService,
    ProbeSpec,
    SpecReader,
    record_checks_in,
)
from heartwatch.store import probes as probe_store
from heartwatch.store import statements
from heartwatch.store.database import Database


async def claim_due(
    db: Database,
    specs: SpecReader,
    *,
    owner: str,
    now: datetime,
    horizon: timedelta,
    lease: timedelta,
    limit: int,
    queued: Mapping[uuid.UUID, datetime],
) -> list[tuple[datetime, ProbeSpec]]:
    """Lease up to `limit` services due within `horizon` for `owner` (until `now + lease`)
    and read their configuration: each one's slot and spec, in no particular order.

    `queued`: the slot of each service this worker has queued or running already. A claim
    that returns one of those slots again leaves it out: it is not run twice."""
    async with statements.statement_transaction(db) as tx:
        claimed = await probe_store.claim_due_checks(
            tx,
            owner=owner,
            now=now,
            horizon=now + horizon,
            lease_until=now + lease,
            limit=limit,
        )
        due = {sid: at for sid, at in claimed if queued.get(sid) != at}
        rows = await probe_store.probe_spec_rows(tx, list(due))
    return [(due[row.id], specs.spec(row)) for row in rows]


async def renew_leases(db: Database, owner: str, ids: Sequence[uuid.UUID], until: datetime) -> None:
    """Extend the leases `owner` still holds on these services (queued or running)."""
    async with db.writing() as session:
        await probe_store.renew_leases(session, owner, ids, until)


async def release_leases(db: Database, owner: str, ids: Sequence[uuid.UUID]) -> None:
    """Give back leases a stopping worker will not run."""
    async with db.writing() as session:
        await probe_store.release_leases(session, owner, ids)


async def record_round(
    db: Database,
    checks: Sequence[FinishedCheck],
    *,
    now: datetime,
    dead_after: timedelta,
    owner: str,
) -> list[tuple[ProbedService, Transition]]:
    """Record a write round of checks `owner` ran (`probes.record_checks_in`) in one
    transaction: without an ORM session unless a status changes (nearly never)."""

    async def record(
        tx: statements.StatementTx, session: AsyncSession | None
    ) -> list[tuple[ProbedService, Transition]]:
        return await record_checks_in(
            tx, session, checks, now=now, dead_after=dead_after, owner=owner
        )

    return await statements.write_lean(db, record)
