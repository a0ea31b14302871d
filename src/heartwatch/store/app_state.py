"""The `app_state` table: small named values the application keeps between runs (how
far the rollups got, the dev clock's offset, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store.models import AppState
from heartwatch.store.tables import insert_for


async def get_app_state(session: AsyncSession, key: str) -> str | None:
    return await session.scalar(select(AppState.value).where(AppState.key == key))


async def get_app_states(session: AsyncSession, keys: Sequence[str]) -> dict[str, str]:
    stmt = select(AppState.key, AppState.value).where(AppState.key.in_(keys))
    return {key: value for key, value in (await session.execute(stmt)).all()}


async def put_app_state(session: AsyncSession, key: str, value: str, now: datetime) -> None:
    stmt = insert_for(session)(AppState).values(key=key, value=value, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[AppState.key], set_={"value": value, "updated_at": now}
    )
    await session.execute(stmt)
