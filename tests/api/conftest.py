"""An API client on the real app, over a real database, in-process (httpx ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.api.auth import REAL_TIME
from heartwatch.config import Settings
from heartwatch.domain.auth import KEY_ID_LENGTH, KEY_SECRET_LENGTH, Role
from heartwatch.runtime import Runtime
from heartwatch.services import auth
from heartwatch.store.database import Database


def settings_for(db_url: str, **overrides: object) -> Settings:
    return Settings.model_validate({"database_url": db_url, **overrides})


@pytest.fixture
async def runtime(db_url: str, database: Database) -> AsyncIterator[Runtime]:
    """`database` has migrated and emptied the database the runtime opens (it only checks
    the schema is current)."""
    async with Runtime.open(settings_for(db_url, debug_mode=True)) as rt:
        yield rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_asgi_app(runtime), client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://hw") as c:
        yield c


@dataclass(frozen=True)
class Keys:
    """API keys of every kind, made on the runtime (access control is then on)."""

    admin: str
    read: str
    revoked: str
    expired: str
    # Well-formed, but no such key.
    unknown: str = "hwk_" + "a" * KEY_ID_LENGTH + "_" + "b" * KEY_SECRET_LENGTH


@pytest.fixture
async def keys(runtime: Runtime) -> Keys:
    now = REAL_TIME.now()
    _, admin = await runtime.authn.create_key("admin", Role.ADMIN, None, now)
    _, read = await runtime.authn.create_key("read", Role.READ, None, now)
    revoked_row, revoked = await runtime.authn.create_key("revoked", Role.ADMIN, None, now)
    await runtime.authn.revoke_key(revoked_row.id, now)
    async with runtime.db.writing() as session:  # made two hours ago, for one hour
        _, expired = await auth.create_key(
            session, "expired", Role.ADMIN, now - timedelta(hours=1), now - timedelta(hours=2)
        )
    return Keys(admin=admin, read=read, revoked=revoked, expired=expired)


def with_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
