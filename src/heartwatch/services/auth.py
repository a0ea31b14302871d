"""Access control use cases: API keys and users, and who a request's credential is.

`Authenticator` (one per process) answers "who sent this key" for every request at the
cost of one SHA-256 and a dictionary lookup: what it read about a key is kept for
`KEY_CACHE_TTL_S`. So a key revoked through this process stops working at once (it is
dropped from this process's cache), and one revoked through another process (the CLI,
another API replica) within `KEY_CACHE_TTL_S`.

Passwords are hashed (services.passwords) before a write transaction opens, never inside
one: a hash takes a good fraction of a second on purpose, and on SQLite a write
transaction holds back every other writer.

Nothing here logs a key, a secret, a password or a hash: ids and names only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.config import Settings
from heartwatch.domain.auth import (
    KEY_PREFIX,
    NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    Access,
    InvalidName,
    InvalidPassword,
    Role,
    check_name,
    check_password,
    fold_name,
    generate_key,
    hash_secret,
    may,
    parse_key,
    secret_matches,
)
from heartwatch.services.errors import Conflict, Invalid, NotFound
from heartwatch.services.passwords import PASSWORDS, Passwords
from heartwatch.store import auth as store
from heartwatch.store.database import Database
from heartwatch.store.models import ApiKey, User

log = structlog.get_logger("heartwatch.auth")


KEY_CACHE_TTL_S = 10.0
# Keys looked up (known or not) kept at most; past it the stale ones are dropped, and if
# that is not enough, all of them (a client trying random ids must not grow it forever).
KEY_CACHE_MAX = 10_000
LAST_USED_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is: a key, a user, or the environment's admin key."""

    kind: Literal["key", "user", "env", "internal"]
    id: str
    name: str
    role: Role

    def may(self, access: Access) -> bool:
        return may(self.role, access)


ENV_ADMIN = Principal(kind="env", id="env", name="HEARTWATCH_ADMIN_KEY", role=Role.ADMIN)


async def auth_enabled(session: AsyncSession, settings: Settings) -> bool:
    """Whether access control is on: some key or user exists (a revoked key too), or an
    admin key comes from the environment."""
    return settings.admin_key is not None or await store.any_credentials(session)


# --- API keys -------------------------------------------------------------------------

KeyState = Literal["active", "expired", "revoked"]


def key_state(key: ApiKey, now: datetime) -> KeyState:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and now >= key.expires_at:
        return "expired"
    return "active"


async def create_key(
    session: AsyncSession, name: str, role: Role, expires_at: datetime | None, now: datetime
) -> tuple[ApiKey, str]:
    """A new key: its row, and the whole key, which exists nowhere else afterwards (show
    it to its owner once)."""
    try:
        name = check_name(name, "key")
    except InvalidName as exc:
        raise Invalid(str(exc)) from None
    if expires_at is not None and expires_at <= now:
        raise Invalid("a key's expiry must be in the future")
    parts, full_key = generate_key()
    row = ApiKey(
        id=parts.id,
        name=name,
        role=role,
        secret_hash=hash_secret(parts.secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    log.info("api key created", key_id=row.id, key_name=row.name, role=row.role.value)
    return row, full_key


async def list_keys(session: AsyncSession) -> Sequence[ApiKey]:
    return await store.all_keys(session)


async def revoke_key(session: AsyncSession, key_id: str, now: datetime) -> ApiKey:
    """Revoke a key (again: no change). Running processes stop accepting it within
    KEY_CACHE_TTL_S; use `Authenticator.revoke_key` in a server for at once."""
    row = await store.key_by_id(session, key_id)
    if row is None:
        raise NotFound(f"API key {key_id[:40]!r} not found")
    if row.revoked_at is None:
        await store.mark_revoked(session, key_id, now)
        await session.refresh(row)
        log.info("api key revoked", key_id=row.id, key_name=row.name)
    return row


# --- users ----------------------------------------------------------------------------


def _user_name(name: str) -> tuple[str, str]:
    try:
        name = check_name(name, "user")
    except InvalidName as exc:
        raise Invalid(str(exc)) from None
    folded = fold_name(name)
    if len(folded) > NAME_MAX_LENGTH:
        raise Invalid(f"a user name is 1-{NAME_MAX_LENGTH} characters")
    return name, folded


def _password(password: str) -> str:
    try:
        return check_password(password)
    except InvalidPassword as exc:
        raise Invalid(str(exc)) from None


async def create_user(
    db: Database,
    name: str,
    password: str,
    role: Role,
    now: datetime,
    passwords: Passwords | None = None,
) -> User:
    name, folded = _user_name(name)
    password_hash = await (passwords or PASSWORDS).hash(_password(password))
    conflict = Conflict(f"a user named {name!r} already exists")
    try:
        async with db.writing() as session:
            if await store.user_by_folded_name(session, folded) is not None:
                raise conflict
            row = User(
                name=name,
                name_folded=folded,
                password_hash=password_hash,
                role=role,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
    except IntegrityError:  # created by someone else between the check and the insert
        raise conflict from None
    log.info("user created", user_id=str(row.id), user_name=row.name, role=row.role.value)
    return row


async def list_users(session: AsyncSession) -> Sequence[User]:
    return await store.all_users(session)


async def get_user(session: AsyncSession, name: str) -> User:
    row = await store.user_by_folded_name(session, fold_name(name.strip()))
    if row is None:
        raise NotFound(f"user {name[:NAME_MAX_LENGTH]!r} not found")
    return row


async def set_password(
    db: Database, name: str, password: str, now: datetime, passwords: Passwords | None = None
) -> User:
    password_hash = await (passwords or PASSWORDS).hash(_password(password))
    async with db.writing() as session:
        row = await get_user(session, name)
        row.password_hash = password_hash
        row.updated_at = now
    log.info("user password changed", user_id=str(row.id), user_name=row.name)
    return row


async def delete_user(session: AsyncSession, name: str) -> User:
    """Delete a user and their web sessions."""
    row = await get_user(session, name)
    await store.delete_user(session, row.id)
    log.info("user deleted", user_id=str(row.id), user_name=row.name)
    return row


async def verify_password(
    db: Database, name: str, password: str, passwords: Passwords | None = None
) -> Principal | None:
    """The user `name` if `password` is theirs; None otherwise, after as much work whether
    or not the user exists. A hash made with older parameters is replaced on success."""
    passwords = passwords or PASSWORDS
    user: User | None = None
    # Only a name that could exist is looked up; a password that could not be set is
    # checked against the stand-in (same work, never a match).
    if len(name) <= 4 * NAME_MAX_LENGTH:
        async with db.reading() as session:
            user = await store.user_by_folded_name(session, fold_name(name.strip()))
    candidate = password if len(password) <= PASSWORD_MAX_LENGTH else ""
    stored = user.password_hash if user is not None and candidate else None
    if not await passwords.verify(stored, candidate) or user is None or stored is None:
        return None
    if passwords.needs_rehash(stored):
        new_hash = await passwords.hash(candidate)
        async with db.writing() as session:
            if await store.replace_password_hash(session, user.id, stored, new_hash):
                log.info("user password rehashed", user_id=str(user.id))
    return Principal(kind="user", id=str(user.id), name=user.name, role=user.role)


# --- verifying requests ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cached:
    """What is known about a key id: found (hash and the rest) or not."""

    secret_hash: str | None  # None: no such key
    name: str
    role: Role
    expires_at: datetime | None
    revoked: bool
    read_at: float  # monotonic


# Compared against when the id is unknown, so that case costs the same hash and compare.
_NO_SUCH_KEY_HASH = "0" * 64


class Authenticator:
    """Per process: verifies API keys (and the environment's admin key) for requests, and
    says whether access control is on. See the module's docstring for the cache."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        ttl_seconds: float = KEY_CACHE_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._settings = settings
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        admin = settings.admin_key
        self._admin_digest = _digest(admin.get_secret_value()) if admin is not None else None
        self._keys: dict[str, _Cached] = {}
        # Keys made by this process for its own parts (`issue_internal_key`), by digest.
        self._internal: dict[bytes, Principal] = {}
        # Bumped whenever an entry is dropped, so a lookup that began before cannot put
        # back what it read (a revoked key as still valid).
        self._generation = 0
        self._last_used: dict[str, datetime] = {}
        self._recording: set[asyncio.Task[None]] = set()
        self._enabled: tuple[bool, float] | None = None

    async def verify_key(self, presented: str, now: datetime) -> Principal | None:
        """Who `presented` (an `Authorization: Bearer` or `X-Api-Key` value) is; None for
        an unknown, malformed, revoked or expired key."""
        if self._admin_digest is not None and hmac.compare_digest(
            _digest(presented), self._admin_digest
        ):
            return ENV_ADMIN
        if self._internal:
            digest = _digest(presented)
            for known, principal in self._internal.items():
                if hmac.compare_digest(digest, known):
                    return principal
        parts = parse_key(presented)
        if parts is None:
            return None
        entry = await self._entry(parts.id)
        matches = secret_matches(parts.secret, entry.secret_hash or _NO_SUCH_KEY_HASH)
        if not matches or entry.secret_hash is None or entry.revoked:
            return None
        if entry.expires_at is not None and now >= entry.expires_at:
            return None
        self._note_use(parts.id, now)
        return Principal(kind="key", id=parts.id, name=entry.name, role=entry.role)

    async def enabled(self) -> bool:
        """`auth_enabled`, read at most once per KEY_CACHE_TTL_S."""
        if self._settings.admin_key is not None:
            return True
        cached = self._enabled
        if cached is not None and self._monotonic() - cached[1] < self._ttl:
            return cached[0]
        async with self._db.reading() as session:
            value = await auth_enabled(session, self._settings)
        self._enabled = (value, self._monotonic())
        return value

    def issue_internal_key(self, name: str, role: Role) -> str:
        """A key for a part of this process that calls its own API (the bot under
        `heartwatch up`): held in memory only, valid while the process runs, never
        written anywhere; it does not switch access control on."""
        key = f"{KEY_PREFIX}_internal_{secrets.token_urlsafe(32)}"
        self._internal[_digest(key)] = Principal(kind="internal", id=name, name=name, role=role)
        return key

    def forget(self, key_id: str) -> None:
        """Drop what this process knows about a key (it was revoked or changed here)."""
        self._generation += 1
        self._keys.pop(key_id, None)

    def credentials_changed(self) -> None:
        """A key or user was created or deleted here: re-read `enabled` on next use."""
        self._enabled = None

    async def create_key(
        self, name: str, role: Role, expires_at: datetime | None, now: datetime
    ) -> tuple[ApiKey, str]:
        async with self._db.writing() as session:
            row, full_key = await create_key(session, name, role, expires_at, now)
        self.forget(row.id)  # a lookup of this id that found nothing is no longer true
        self.credentials_changed()
        return row, full_key

    async def revoke_key(self, key_id: str, now: datetime) -> ApiKey:
        async with self._db.writing() as session:
            row = await revoke_key(session, key_id, now)
        self.forget(key_id)
        return row

    async def drain(self) -> None:
        """Wait for the last-use records under way (at shutdown)."""
        while self._recording:
            await asyncio.gather(*self._recording, return_exceptions=True)

    async def _entry(self, key_id: str) -> _Cached:
        entry = self._keys.get(key_id)
        if entry is not None and self._monotonic() - entry.read_at < self._ttl:
            return entry
        generation = self._generation
        async with self._db.reading() as session:
            row = await store.key_for_check(session, key_id)
        read_at = self._monotonic()
        if row is None:
            entry = _Cached(None, "", Role.READ, None, True, read_at)
        else:
            secret_hash, name, role, expires_at, revoked_at, last_used_at = row
            entry = _Cached(secret_hash, name, role, expires_at, revoked_at is not None, read_at)
            if last_used_at is not None and key_id not in self._last_used:
                self._last_used[key_id] = last_used_at
        if generation == self._generation:
            if len(self._keys) >= KEY_CACHE_MAX:
                self._prune(read_at)
            self._keys[key_id] = entry
        return entry

    def _prune(self, now: float) -> None:
        self._keys = {k: e for k, e in self._keys.items() if now - e.read_at < self._ttl}
        if len(self._keys) >= KEY_CACHE_MAX:
            self._keys.clear()

    def _note_use(self, key_id: str, now: datetime) -> None:
        last = self._last_used.get(key_id)
        if last is not None and now - last < LAST_USED_INTERVAL:
            return
        self._last_used[key_id] = now
        # In the background: the request that happens to be the minute's first must not
        # wait for a write (on SQLite, behind every other writer).
        task = asyncio.create_task(self._record_use(key_id, now))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _record_use(self, key_id: str, now: datetime) -> None:
        try:
            async with self._db.writing() as session:
                await store.mark_used(session, key_id, now)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not record an API key's last use", key_id=key_id, error=str(exc))


def _digest(text: str) -> bytes:
    # Equal-length digests, so comparing them tells nothing about the admin key's length.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
