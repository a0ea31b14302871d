"""Statements over the credentials: `api_keys`, `users` (and `web_sessions`, through the
cascade from users)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain.auth import Role
from heartwatch.store.models import ApiKey, User

# --- API keys -------------------------------------------------------------------------


async def key_by_id(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


# What a request's key is checked against: one primary-key lookup, plain columns.
_KEY_CHECK = select(
    ApiKey.secret_hash,
    ApiKey.name,
    ApiKey.role,
    ApiKey.expires_at,
    ApiKey.revoked_at,
    ApiKey.last_used_at,
)


async def key_for_check(
    session: AsyncSession, key_id: str
) -> Row[str, str, Role, datetime | None, datetime | None, datetime | None] | None:
    result = await session.execute(_KEY_CHECK.where(ApiKey.id == key_id))
    return result.one_or_none()


async def all_keys(session: AsyncSession) -> Sequence[ApiKey]:
    return (await session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))).all()


async def mark_revoked(session: AsyncSession, key_id: str, now: datetime) -> None:
    """Revoke a key that is not revoked yet (the first revocation's time is kept)."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def mark_used(session: AsyncSession, key_id: str, now: datetime) -> None:
    """Record a key's use; never moves last_used_at back (another process may have
    written a later one)."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


async def any_credentials(session: AsyncSession) -> bool:
    """Whether any key (revoked and expired ones included) or user exists.

    Revoked keys count: revoking the only key must not switch access control off and
    leave the API open."""
    stmt = select(or_(exists().where(ApiKey.id.is_not(None)), exists().where(User.id.is_not(None))))
    return bool(await session.scalar(stmt))


# --- users ----------------------------------------------------------------------------


async def user_by_folded_name(session: AsyncSession, name_folded: str) -> User | None:
    return await session.scalar(select(User).where(User.name_folded == name_folded))


async def all_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(User.name_folded))).all()


async def replace_password_hash(
    session: AsyncSession, user_id: uuid.UUID, old_hash: str, new_hash: str
) -> bool:
    """Swap a password hash for an equivalent one (new parameters), unless the password
    was changed in the meantime; True if swapped."""
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.password_hash == old_hash)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def delete_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Delete a user; their web sessions go with them (ON DELETE CASCADE)."""
    await session.execute(
        delete(User).where(User.id == user_id).execution_options(synchronize_session=False)
    )
