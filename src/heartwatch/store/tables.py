"""The models' Core tables, for statements over plain rows (no ORM bookkeeping)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store.models import Base


def core_table(model: type[Base]) -> Table:
    """A model's Core table."""
    return cast(Table, model.__table__)


def insert_for(session: AsyncSession) -> Any:
    """The dialect's own `insert`, the one with `on_conflict_do_*`."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def insert_rows(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Plain rows in one executemany INSERT: the hot paths' history rows."""
    if rows:
        await session.execute(insert(core_table(model)), rows)
