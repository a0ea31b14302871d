"""The credentials' tables on both backends: the migration builds what the models say,
user names are unique whatever their case, a user's web sessions go with them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from heartwatch.domain.auth import Role, fold_name, hash_secret, new_session_token
from heartwatch.store import auth as store
from heartwatch.store.database import Database
from heartwatch.store.migrate import alembic_config, upgrade
from heartwatch.store.models import ApiKey, Base, User, WebSession
from tests.conftest import T0, create_pg_database, drop_pg_database

TABLES = {"api_keys", "users", "web_sessions"}


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


def _user(name: str) -> User:
    return User(
        name=name,
        name_folded=fold_name(name),
        password_hash="$argon2id$not-a-real-hash",
        role=Role.READ,
        created_at=T0,
        updated_at=T0,
    )


async def test_user_names_are_unique_whatever_their_case(database: Database) -> None:
    async with database.writing() as session:
        session.add(_user("Alice"))
    with pytest.raises(IntegrityError):
        async with database.writing() as session:
            session.add(_user("ALICE"))
    async with database.reading() as session:
        found = await store.user_by_folded_name(session, fold_name("aLiCe"))
    assert found is not None
    assert found.name == "Alice"


async def test_a_users_web_sessions_go_with_them(database: Database) -> None:
    user = _user("bob")
    async with database.writing() as session:
        session.add(user)
        await session.flush()
        session.add(
            WebSession(
                id=hash_secret(new_session_token()),
                user_id=user.id,
                created_at=T0,
                expires_at=T0,
                last_seen_at=T0,
            )
        )
    async with database.writing() as session:
        await store.delete_user(session, user.id)
    async with database.reading() as session:
        assert await session.scalar(select(func.count()).select_from(WebSession)) == 0


async def test_any_credentials_counts_revoked_keys_and_users(database: Database) -> None:
    async with database.reading() as session:
        assert not await store.any_credentials(session)
    async with database.writing() as session:
        session.add(
            ApiKey(
                id="abcdefghijkl",
                name="old",
                role=Role.READ,
                secret_hash=hash_secret("x"),
                created_at=T0,
                revoked_at=T0,
            )
        )
    async with database.reading() as session:
        assert await store.any_credentials(session)


async def test_last_use_never_moves_back(database: Database) -> None:
    async with database.writing() as session:
        session.add(ApiKey(id="k1", name="k", role=Role.READ, secret_hash="0" * 64, created_at=T0))
    later = T0 + timedelta(minutes=5)
    async with database.writing() as session:
        await store.mark_used(session, "k1", later)
        await store.mark_used(session, "k1", T0)
    async with database.reading() as session:
        row = await store.key_for_check(session, "k1")
    assert row is not None
    assert row.last_used_at == later


def _downgrade_to_0007(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, "0007")


async def test_the_migration_goes_down_and_up_again(db_url: str) -> None:
    # Its own database: the shared PostgreSQL one must stay at head for the other tests.
    postgres = db_url.startswith("postgresql")
    url = await asyncio.to_thread(create_pg_database) if postgres else db_url
    db = Database(url)
    try:
        await upgrade(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade_to_0007)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not tables & TABLES
        await upgrade(db)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables >= TABLES
    finally:
        await db.dispose()
        if postgres:
            await asyncio.to_thread(drop_pg_database, url)
