"""The dashboard's log-in sessions: a browser holds a random token in a cookie, the
database only its hash (domain.auth.hash_secret), so a stolen `web_sessions` table logs
no one in.

A session ends `IDLE` after its last use, and `MAX_AGE` after the log-in whatever
happens; each use moves the idle end on (written at most once per `TOUCH_INTERVAL`, so a
dashboard that polls does not write on every request). The user is read with the
session on every request: a user deleted or given another role is so at once. Times are
real time (as for API keys), never dev mode's movable clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from heartwatch.domain.auth import hash_secret, new_session_token
from heartwatch.services.auth import Principal
from heartwatch.store import web_sessions as store
from heartwatch.store.database import Database

IDLE = timedelta(hours=12)
MAX_AGE = timedelta(days=7)
TOUCH_INTERVAL = timedelta(minutes=5)


def _expiry(created_at: datetime, now: datetime) -> datetime:
    return min(now + IDLE, created_at + MAX_AGE)


async def start(db: Database, user: Principal, now: datetime) -> str:
    """A new session for `user` (a Principal of kind "user"); returns the cookie's token,
    which exists nowhere else afterwards. Expired sessions are pruned on the way."""
    if user.kind != "user":
        raise ValueError("only users log in to the dashboard")
    token = new_session_token()
    async with db.writing() as session:
        await store.delete_expired(session, now)
        await store.insert_session(
            session, hash_secret(token), uuid.UUID(user.id), now, _expiry(now, now)
        )
    return token


async def principal_of(db: Database, token: str, now: datetime) -> Principal | None:
    """Who holds the session `token`; None if there is no such session or it expired."""
    if not token or len(token) > 200:
        return None
    token_hash = hash_secret(token)
    async with db.reading() as session:
        row = await store.session_with_user(session, token_hash)
    if row is None:
        return None
    user_id, name, role, created_at, expires_at, last_seen_at = row
    if now >= expires_at:
        return None
    if now - last_seen_at >= TOUCH_INTERVAL:
        async with db.writing() as session:
            await store.extend_session(session, token_hash, now, _expiry(created_at, now))
    return Principal(kind="user", id=str(user_id), name=name, role=role)


async def end(db: Database, token: str) -> None:
    """Log out: the session is gone (a token that names none: nothing to do)."""
    if token and len(token) <= 200:
        async with db.writing() as session:
            await store.delete_session(session, hash_secret(token))
