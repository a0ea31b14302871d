"""The probe scheduler's statements on both backends: what they read back of services,
whichever way the ids come."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from heartwatch.ids import new_id
from heartwatch.store import probes as probe_store
from heartwatch.store.database import Database
from heartwatch.store.statements import MAX_IN, statement_transaction
from tests.conftest import T0
from tests.services.test_probes import create_http


async def _probes(db: Database, keys: list[str]) -> list[uuid.UUID]:
    return [(await create_http(db, key, interval=10)).id for key in keys]


async def test_rows_by_id_come_in_id_order_however_many_ids(database: Database) -> None:
    """More ids than one IN list takes (run in chunks), most of them of no service."""
    ids = await _probes(database, ["a", "b", "c"])
    asked = [new_id() for _ in range(MAX_IN + 10)] + list(ids)
    async with statement_transaction(database) as tx:
        specs = await probe_store.probe_spec_rows(tx, asked)
        locked = await probe_store.lock_probe_rows(tx, asked)
    assert [r.id for r in locked] == sorted(ids)
    assert sorted(r.key for r in specs) == ["a", "b", "c"]
    assert {(r.type, r.endpoint, r.check_interval_sec) for r in specs} == {
        ("http", "http://127.0.0.1:9/health", 10.0)
    }
    for r in specs:  # the settings as their stored JSON text
        assert r.check_settings_json is None or isinstance(json.loads(r.check_settings_json), dict)


async def test_locked_with_an_owner_are_the_rows_whose_slot_it_holds(database: Database) -> None:
    ids = await _probes(database, ["a", "b"])
    now = T0 + timedelta(seconds=10)
    async with statement_transaction(database) as tx:
        claimed = await probe_store.claim_due_checks(
            tx, owner="w", now=now, horizon=now, lease_until=now + timedelta(seconds=30), limit=1
        )
    ((held, _),) = claimed
    async with statement_transaction(database) as tx:
        mine = await probe_store.lock_probe_rows(tx, ids, lease_owner="w")
        theirs = await probe_store.lock_probe_rows(tx, ids, lease_owner="other")
    assert [r.id for r in mine] == [held]
    assert theirs == []
