"""An API client on the real app, over a real database, in-process (httpx ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from heartwatch.api.app import create_asgi_app
from heartwatch.config import Settings
from heartwatch.runtime import Runtime
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
