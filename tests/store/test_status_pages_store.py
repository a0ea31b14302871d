"""Status pages' and badge tokens' tables on both backends: the migration builds what the
models say, a token is unique and goes with its service, pages find services by tag."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from heartwatch.services.heartbeats import new_service_row
from heartwatch.store import status_pages as store
from heartwatch.store.database import Database
from heartwatch.store.models import Base, Service
from tests.conftest import T0

TABLES = {"status_pages", "badge_tokens"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in TABLES


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": _ours}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migration_builds_what_the_models_say(database: Database) -> None:
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_schema_differences) == []


async def _services(database: Database) -> dict[str, Service]:
    rows = {}
    async with database.writing() as session:
        for key, tags in [("a", ["public", "eu"]), ("b", []), ("c", ["eu"]), ("d", None)]:
            row = Service(**new_service_row(key, T0))
            row.tags = tags  # type: ignore[assignment]  # None: a row written before tags
            session.add(row)
            rows[key] = row
    return rows


async def test_tokens_are_unique_replaced_on_rotation_and_go_with_their_service(
    database: Database,
) -> None:
    rows = await _services(database)
    async with database.writing() as session:
        await store.put_token(session, rows["a"].id, "token-a-0000000000", T0)
        await store.put_token(session, rows["a"].id, "token-a-1111111111", T0)
    async with database.reading() as session:
        assert await store.token_of(session, rows["a"].id) == "token-a-1111111111"
        assert await store.service_by_token(session, "token-a-0000000000") is None
        found = await store.service_by_token(session, "token-a-1111111111")
        assert found is not None and found.key == "a"
    with pytest.raises(IntegrityError):
        async with database.writing() as session:
            await store.put_token(session, rows["b"].id, "token-a-1111111111", T0)
    async with database.writing() as session:
        await session.execute(delete(Service).where(Service.id == rows["a"].id))
    async with database.reading() as session:
        assert await store.service_by_token(session, "token-a-1111111111") is None


async def test_a_page_finds_its_services_by_key_and_by_tag(database: Database) -> None:
    await _services(database)
    async with database.reading() as session:
        by_tag = await store.services_for(session, [], ["eu"])
        both = await store.services_for(session, ["b"], ["public"])
        none = await store.services_for(session, [], ["nowhere"])
        assert await store.existing_keys(session, ["a", "zz"]) == {"a"}
    assert [r.key for r in by_tag] == ["a", "c"]
    assert [r.key for r in both] == ["a", "b"]
    assert none == []
