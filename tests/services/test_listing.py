"""GET /services' memo: a service is rendered again only when its row changed, its next
deadline passed or the rules changed — on both backends (each reads fingerprints its way)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from heartwatch.domain.heartbeat import HeartbeatRules, Signal, next_deadline
from heartwatch.domain.status import Status
from heartwatch.services import registry
from heartwatch.services.heartbeats import HeartbeatIngest, Ping
from heartwatch.services.lifecycle import as_of
from heartwatch.services.listing import ServiceListing, Shown
from heartwatch.store.database import Database
from tests.conftest import T0
from tests.helpers import ManualClock

RULES = HeartbeatRules()


class Renderer:
    """Renders a service as its key (and says which it rendered)."""

    def __init__(self) -> None:
        self.rendered: list[str] = []

    def __call__(self, row: Row[Any], rules: HeartbeatRules, now: datetime) -> Shown:
        self.rendered.append(row.key)
        state = as_of(row, rules, now)
        return Shown(json.dumps(row.key).encode(), state.status, next_deadline(state, rules, now))

    def since_last(self) -> list[str]:
        rendered, self.rendered = self.rendered, []
        return sorted(rendered)


async def listed(
    db: Database,
    listing: ServiceListing,
    now: datetime,
    status: Status | None = None,
    rules: HeartbeatRules = RULES,
) -> list[str]:
    async with db.reading() as session:
        keys: list[str] = json.loads(await listing.json(session, rules, now, status))
    return keys


async def test_only_changed_services_are_rendered_again(database: Database) -> None:
    for key in ("a", "b", "c"):
        async with database.writing() as session:
            await registry.create_service(
                session, key=key, name=None, description="", expected_period_sec=60, now=T0
            )
    render = Renderer()
    listing = ServiceListing(render)
    assert await listed(database, listing, T0) == ["a", "b", "c"]
    assert render.since_last() == ["a", "b", "c"]
    for _ in range(3):  # every row read converted once more, then fingerprints only
        assert await listed(database, listing, T0) == ["a", "b", "c"]
        assert render.since_last() == []

    async with database.writing() as session:
        changes = registry.ServiceChanges(name="Bee")
        await registry.update_service(session, "b", changes, rules=RULES, now=T0)
    assert await listed(database, listing, T0) == ["a", "b", "c"]
    assert render.since_last() == ["b"]

    beat = T0 + timedelta(seconds=30)
    hb = HeartbeatIngest(database, ManualClock(beat), RULES, auto_register=False)
    await hb.record(Ping(key="a", signal=Signal.SUCCESS, received_at=beat))
    assert await listed(database, listing, beat, Status.ALIVE) == ["a"]
    assert render.since_last() == ["a"]
    assert await listed(database, listing, beat, Status.UNKNOWN) == ["b", "c"]
    assert render.since_last() == []

    # a's next deadline passes with no write: its as-of view moves, so it is remade
    later = beat + timedelta(hours=1)
    assert await listed(database, listing, later, Status.ALIVE) == []
    assert render.since_last() == ["a"]

    async with database.writing() as session:
        await registry.delete_service(session, "c")
    assert await listed(database, listing, later) == ["a", "b"]
    assert render.since_last() == []

    other_rules = HeartbeatRules(silent_factor=3.0)
    assert await listed(database, listing, later, rules=other_rules) == ["a", "b"]
    assert render.since_last() == ["a", "b"]
