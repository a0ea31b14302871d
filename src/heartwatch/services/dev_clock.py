"""Dev mode's movable clock: its offset is stored so every process of the stack agrees."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store import app_state

_KEY = "dev_clock_offset_seconds"


async def load_offset(session: AsyncSession) -> float:
    value = await app_state.get_app_state(session, _KEY)
    return float(value) if value is not None else 0.0


async def save_offset(session: AsyncSession, offset_seconds: float, now: datetime) -> None:
    await app_state.put_app_state(session, _KEY, repr(offset_seconds), now)
