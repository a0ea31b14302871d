"""Statements over `web_sessions`: the dashboard's log-ins (each row keyed by the hash of
its cookie's token), read together with their user."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.auth import Role
from heartwatch.store.models import User, WebSession


async def insert_session(
    session: AsyncSession, token_hash: str, user_id: uuid.UUID, now: datetime, expires_at: datetime
) -> None:
    session.add(
        WebSession(
            id=token_hash, user_id=user_id, created_at=now, expires_at=expires_at, last_seen_at=now
        )
    )
    await session.flush()


_LOOKUP = select(
    WebSession.user_id,
    User.name,
    User.role,
    WebSession.created_at,
    WebSession.expires_at,
    WebSession.last_seen_at,
).join(User, User.id == WebSession.user_id)


async def session_with_user(
    session: AsyncSession, token_hash: str
) -> Row[uuid.UUID, str, Role, datetime, datetime, datetime] | None:
    """(user id, user name, role, created, expires, last seen) of a session, if any."""
    result = await session.execute(_LOOKUP.where(WebSession.id == token_hash))
    return result.one_or_none()


async def extend_session(
    session: AsyncSession, token_hash: str, last_seen_at: datetime, expires_at: datetime
) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.id == token_hash)
        .values(last_seen_at=last_seen_at, expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )


async def delete_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        delete(WebSession)
        .where(WebSession.id == token_hash)
        .execution_options(synchronize_session=False)
    )


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(
        delete(WebSession)
        .where(WebSession.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
