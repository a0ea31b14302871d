"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from heartwatch.store.database import Database

# Any fixed number: it names the advisory lock several processes migrating one
# PostgreSQL database at once queue on.
_PG_MIGRATION_LOCK = 0x6865617274


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "heartwatch.store:migrations")
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(db: Database, revision: str = "head") -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


class SchemaOutOfDate(RuntimeError):
    pass


@cache
def head_revision() -> str | None:
    """The newest migration shipped with this heartwatch. Read once per process: it is
    fixed by the installed package, and every runtime a process opens asks for it."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _check_current(connection: Connection) -> None:
    head = head_revision()
    current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the database schema is at revision {current or 'none'}, this heartwatch needs "
            f"{head}: run `heartwatch migrate` first"
        )


async def ensure_current(db: Database) -> None:
    """Fail clearly when the database was not migrated to this version's schema."""
    async with db.engine.connect() as conn:
        await conn.run_sync(_check_current)
