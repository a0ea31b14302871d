"""Alembic environment. heartwatch runs migrations itself (`heartwatch migrate`, `up`) and
hands its connection in through `config.attributes["connection"]`; a developer running
`alembic` directly gets a connection from HEARTWATCH_DATABASE_URL instead."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from heartwatch.store.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can't ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from heartwatch.config import Settings
    from heartwatch.store.database import Database

    db = Database(Settings().effective_database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(run_migrations)
    finally:
        await db.dispose()


shared = context.config.attributes.get("connection")
if shared is not None:
    run_migrations(shared)
else:
    asyncio.run(_run_standalone())
