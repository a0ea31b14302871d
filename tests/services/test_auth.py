"""API keys, users and request verification, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import event

from heartwatch.config import Settings
from heartwatch.domain.auth import Access, Role, generate_key, parse_key
from heartwatch.services import auth
from heartwatch.services.auth import ENV_ADMIN, Authenticator, Principal
from heartwatch.services.errors import Conflict, Invalid, NotFound
from heartwatch.services.passwords import PASSWORDS, Passwords
from heartwatch.store import auth as auth_store
from heartwatch.store.database import Database
from tests.conftest import T0

ADMIN_KEY = "an-admin-key-from-the-environment-0123456789"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cheap_passwords(time_cost: int = 1) -> Passwords:
    # Real argon2id, with the smallest parameters: the defaults take most of a second.
    return Passwords(PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1))


@pytest.fixture
def passwords() -> Passwords:
    return cheap_passwords()


@pytest.fixture
def ticks() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)


@pytest.fixture
def authn(database: Database, settings: Settings, ticks: FakeMonotonic) -> Authenticator:
    return Authenticator(database, settings, monotonic=ticks)


@contextmanager
def counting_statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):  # (SQLite's, emitted by the store itself)
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", _count)


async def _create_key_elsewhere(
    db: Database, role: Role = Role.READ, expires_at: Any = None
) -> tuple[str, str]:
    """A key made by another process (the CLI): straight through the use case."""
    async with db.writing() as session:
        row, full_key = await auth.create_key(session, "grafana", role, expires_at, T0)
    return row.id, full_key


# --- keys -----------------------------------------------------------------------------


async def test_a_created_key_verifies_as_its_role(database: Database, authn: Authenticator) -> None:
    row, full_key = await authn.create_key("grafana", Role.READ, None, T0)
    parts = parse_key(full_key)
    assert parts is not None
    assert parts.id == row.id
    assert parts.secret not in row.secret_hash
    principal = await authn.verify_key(full_key, T0)
    assert principal == Principal(kind="key", id=row.id, name="grafana", role=Role.READ)
    assert principal.may(Access.READ)
    assert not principal.may(Access.WRITE)
    await authn.drain()


async def test_wrong_unknown_and_malformed_keys_are_refused(
    database: Database, authn: Authenticator
) -> None:
    _, full_key = await authn.create_key("ci", Role.ADMIN, None, T0)
    wrong_secret = full_key[:-1] + ("a" if full_key[-1] != "a" else "b")
    unknown_id = "hwk_" + "Z" * 12 + full_key[16:]
    for presented in (wrong_secret, unknown_id, "", "Bearer " + full_key, full_key + " ", "ü"):
        assert await authn.verify_key(presented, T0) is None
    assert await authn.verify_key(full_key, T0) is not None
    await authn.drain()


async def test_an_expired_key_is_refused(database: Database, authn: Authenticator) -> None:
    expires = T0 + timedelta(days=90)
    _, full_key = await authn.create_key("temp", Role.READ, expires, T0)
    assert await authn.verify_key(full_key, expires - timedelta(seconds=1)) is not None
    assert await authn.verify_key(full_key, expires) is None
    await authn.drain()


async def test_invalid_keys_are_not_created(database: Database, authn: Authenticator) -> None:
    with pytest.raises(Invalid, match="future"):
        await authn.create_key("x", Role.READ, T0, T0)
    with pytest.raises(Invalid, match="name"):
        await authn.create_key(" \t", Role.READ, None, T0)
    async with database.reading() as session:
        assert await auth.list_keys(session) == []


async def test_a_verified_key_costs_no_database_round_trip_within_the_ttl(
    database: Database, authn: Authenticator, ticks: FakeMonotonic
) -> None:
    _, full_key = await _create_key_elsewhere(database)
    assert await authn.verify_key(full_key, T0) is not None
    await authn.drain()  # (the minute's last-use record)
    with counting_statements(database) as seen:
        for second in range(1, 10):
            ticks.now += 1
            assert await authn.verify_key(full_key, T0 + timedelta(seconds=second)) is not None
        assert await authn.verify_key("hwk_" + "Q" * 12 + "_" + "q" * 43, T0) is None
        assert await authn.verify_key("hwk_" + "Q" * 12 + "_" + "q" * 43, T0) is None
    # Nine checks of a known key and two of an unknown one: one lookup (the unknown id).
    assert len(seen) == 1
    ticks.now += auth.KEY_CACHE_TTL_S
    with counting_statements(database) as seen:
        assert await authn.verify_key(full_key, T0 + timedelta(seconds=20)) is not None
    assert len(seen) == 1  # read again after the TTL


async def test_a_revocation_here_takes_effect_at_once(
    database: Database, authn: Authenticator
) -> None:
    row, full_key = await authn.create_key("grafana", Role.ADMIN, None, T0)
    assert await authn.verify_key(full_key, T0) is not None
    revoked = await authn.revoke_key(row.id, T0 + timedelta(minutes=1))
    assert revoked.revoked_at == T0 + timedelta(minutes=1)
    assert await authn.verify_key(full_key, T0 + timedelta(minutes=1)) is None
    await authn.drain()


async def test_a_revocation_elsewhere_takes_effect_within_the_ttl(
    database: Database, authn: Authenticator, ticks: FakeMonotonic
) -> None:
    key_id, full_key = await _create_key_elsewhere(database)
    assert await authn.verify_key(full_key, T0) is not None
    async with database.writing() as session:
        await auth.revoke_key(session, key_id, T0)
    ticks.now += auth.KEY_CACHE_TTL_S - 0.5
    assert await authn.verify_key(full_key, T0) is not None  # still cached
    ticks.now += 0.5
    assert await authn.verify_key(full_key, T0) is None
    await authn.drain()


async def test_a_key_created_here_works_at_once_after_a_failed_lookup(
    database: Database, authn: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The generated id is known in advance, and looked up (unknown) before it exists.
    parts, full_key = generate_key()
    monkeypatch.setattr("heartwatch.services.auth.generate_key", lambda: (parts, full_key))
    assert await authn.verify_key(full_key, T0) is None
    await authn.create_key("new", Role.READ, None, T0)
    assert await authn.verify_key(full_key, T0) is not None
    await authn.drain()


async def test_a_lookup_under_way_during_a_revocation_does_not_cache_the_old_row(
    database: Database, authn: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, full_key = await _create_key_elsewhere(database)
    real_lookup = auth_store.key_for_check

    async def lookup_then_revoked_meanwhile(session: Any, kid: str) -> Any:
        row = await real_lookup(session, kid)  # read before the revocation commits ...
        await authn.revoke_key(kid, T0)  # ... which lands before the lookup is cached
        return row

    monkeypatch.setattr(auth_store, "key_for_check", lookup_then_revoked_meanwhile)
    assert await authn.verify_key(full_key, T0) is not None  # (what it read)
    monkeypatch.setattr(auth_store, "key_for_check", real_lookup)
    assert await authn.verify_key(full_key, T0) is None
    await authn.drain()


async def test_unknown_ids_do_not_grow_the_cache_without_bound(
    database: Database, authn: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "KEY_CACHE_MAX", 5)
    for i in range(12):
        assert await authn.verify_key(f"hwk_{i:012d}_" + "s" * 43, T0) is None
    assert len(authn._keys) <= 5


async def test_last_use_is_written_at_most_once_a_minute(
    database: Database, authn: Authenticator, ticks: FakeMonotonic
) -> None:
    key_id, full_key = await _create_key_elsewhere(database)

    async def last_used() -> Any:
        await authn.drain()
        async with database.reading() as session:
            row = await auth_store.key_for_check(session, key_id)
        assert row is not None
        return row.last_used_at

    assert await last_used() is None
    await authn.verify_key(full_key, T0)
    assert await last_used() == T0
    with counting_statements(database) as seen:
        for second in (10, 30, 59):
            await authn.verify_key(full_key, T0 + timedelta(seconds=second))
        await authn.drain()
    assert seen == []
    await authn.verify_key(full_key, T0 + timedelta(seconds=60))
    assert await last_used() == T0 + timedelta(seconds=60)


async def test_a_process_that_starts_later_does_not_rewrite_a_fresh_last_use(
    database: Database, settings: Settings
) -> None:
    _, full_key = await _create_key_elsewhere(database)
    first = Authenticator(database, settings)
    await first.verify_key(full_key, T0)
    await first.drain()
    second = Authenticator(database, settings)
    with counting_statements(database) as seen:
        await second.verify_key(full_key, T0 + timedelta(seconds=30))
        await second.drain()
    assert len(seen) == 1  # the lookup; no write


async def test_listing_and_key_states(database: Database, authn: Authenticator) -> None:
    await authn.create_key("a", Role.READ, None, T0)
    await authn.create_key("b", Role.ADMIN, T0 + timedelta(hours=1), T0 + timedelta(seconds=1))
    c, _ = await authn.create_key("c", Role.READ, None, T0 + timedelta(seconds=2))
    await authn.revoke_key(c.id, T0 + timedelta(minutes=1))
    later = T0 + timedelta(hours=2)
    async with database.reading() as session:
        listed = await auth.list_keys(session)
    assert [(k.name, auth.key_state(k, later)) for k in listed] == [
        ("a", "active"),
        ("b", "expired"),
        ("c", "revoked"),
    ]
    with pytest.raises(NotFound):
        await authn.revoke_key("nope", T0)


async def test_revoking_twice_keeps_the_first_time(
    database: Database, authn: Authenticator
) -> None:
    row, _ = await authn.create_key("a", Role.READ, None, T0)
    await authn.revoke_key(row.id, T0 + timedelta(minutes=1))
    again = await authn.revoke_key(row.id, T0 + timedelta(minutes=2))
    assert again.revoked_at == T0 + timedelta(minutes=1)


# --- the environment's admin key, and whether access control is on -------------------


async def test_the_environment_admin_key_is_an_admin_without_any_row(
    database: Database, ticks: FakeMonotonic
) -> None:
    settings = Settings(_env_file=None, admin_key=ADMIN_KEY)
    authn = Authenticator(database, settings, monotonic=ticks)
    with counting_statements(database) as seen:
        assert await authn.verify_key(ADMIN_KEY, T0) == ENV_ADMIN
        assert await authn.enabled()
    assert seen == []
    assert ENV_ADMIN.may(Access.WRITE)
    for near in (ADMIN_KEY[:-1], ADMIN_KEY + "x", ADMIN_KEY.upper(), ""):
        assert await authn.verify_key(near, T0) is None


def test_the_admin_key_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTWATCH_ADMIN_KEY", ADMIN_KEY)
    settings = Settings(_env_file=None)
    assert settings.admin_key is not None
    assert settings.admin_key.get_secret_value() == ADMIN_KEY
    assert ADMIN_KEY not in repr(settings)
    with pytest.raises(ValueError, match="at least 32"):
        Settings(_env_file=None, admin_key="short")
    assert Settings(_env_file=None, admin_key="").admin_key is None


async def test_access_control_is_on_once_a_credential_exists(
    database: Database, authn: Authenticator, ticks: FakeMonotonic, passwords: Passwords
) -> None:
    assert not await authn.enabled()
    # Created elsewhere: seen within the TTL.
    await auth.create_user(database, "alice", "correct horse", Role.ADMIN, T0, passwords)
    assert not await authn.enabled()
    ticks.now += auth.KEY_CACHE_TTL_S
    assert await authn.enabled()


async def test_a_key_created_here_turns_access_control_on_at_once(
    database: Database, authn: Authenticator, settings: Settings
) -> None:
    assert not await authn.enabled()
    row, _ = await authn.create_key("a", Role.READ, None, T0)
    assert await authn.enabled()
    # Revoking the only key does not turn it off again.
    await authn.revoke_key(row.id, T0)
    authn.credentials_changed()
    assert await authn.enabled()
    async with database.reading() as session:
        assert await auth.auth_enabled(session, settings)


# --- users ----------------------------------------------------------------------------


def test_the_default_password_hashing_is_argon2id_with_rfc9106_parameters() -> None:
    hasher = PASSWORDS.hasher
    assert hasher.type is Type.ID
    assert hasher.memory_cost >= 64 * 1024
    assert hasher.time_cost >= 3


async def test_a_user_logs_in_with_their_password_only(
    database: Database, passwords: Passwords
) -> None:
    user = await auth.create_user(database, "Alice", "correct horse", Role.ADMIN, T0, passwords)
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    principal = await auth.verify_password(database, "alice", "correct horse", passwords)
    assert principal == Principal(kind="user", id=str(user.id), name="Alice", role=Role.ADMIN)
    assert await auth.verify_password(database, "ALICE ", "correct horse", passwords) is not None
    for name, password in [
        ("alice", "Correct horse"),
        ("alice", ""),
        ("alice", "x" * 5000),
        ("bob", "correct horse"),
        ("x" * 5000, "correct horse"),
        ("", ""),
    ]:
        assert await auth.verify_password(database, name, password, passwords) is None


async def test_an_unknown_user_costs_a_hash_verification_too(
    database: Database, passwords: Passwords, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str | None] = []
    real = passwords.verify_now

    def spy(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_now", spy)
    assert await auth.verify_password(database, "nobody", "correct horse", passwords) is None
    assert checked == [None]  # verified against the stand-in hash, not skipped
    assert passwords._dummy_hash is not None
    assert passwords._dummy_hash.startswith("$argon2id$")


async def test_user_names_are_unique_whatever_their_case(
    database: Database, passwords: Passwords
) -> None:
    await auth.create_user(database, "Alice", "correct horse", Role.READ, T0, passwords)
    with pytest.raises(Conflict):
        await auth.create_user(database, "ALICE", "other password", Role.ADMIN, T0, passwords)
    async with database.reading() as session:
        assert [u.name for u in await auth.list_users(session)] == ["Alice"]


async def test_bad_names_and_passwords_are_refused(
    database: Database, passwords: Passwords
) -> None:
    with pytest.raises(Invalid, match="password"):
        await auth.create_user(database, "alice", "short", Role.READ, T0, passwords)
    with pytest.raises(Invalid, match="name"):
        await auth.create_user(database, "a\nb", "long enough", Role.READ, T0, passwords)
    with pytest.raises(Invalid, match="name"):
        await auth.create_user(database, "\ufdfa" * 10, "long enough", Role.READ, T0, passwords)


async def test_a_changed_password_replaces_the_old_one(
    database: Database, passwords: Passwords
) -> None:
    await auth.create_user(database, "alice", "first password", Role.READ, T0, passwords)
    later = T0 + timedelta(days=1)
    user = await auth.set_password(database, "Alice", "second password", later, passwords)
    assert user.updated_at == later
    assert await auth.verify_password(database, "alice", "first password", passwords) is None
    assert await auth.verify_password(database, "alice", "second password", passwords)
    with pytest.raises(NotFound):
        await auth.set_password(database, "bob", "second password", later, passwords)
    with pytest.raises(Invalid):
        await auth.set_password(database, "alice", "short", later, passwords)


async def test_a_deleted_user_can_no_longer_log_in(
    database: Database, passwords: Passwords
) -> None:
    await auth.create_user(database, "alice", "correct horse", Role.READ, T0, passwords)
    async with database.writing() as session:
        await auth.delete_user(session, "ALICE")
    assert await auth.verify_password(database, "alice", "correct horse", passwords) is None
    with pytest.raises(NotFound):
        async with database.writing() as session:
            await auth.delete_user(session, "alice")


async def test_a_hash_with_old_parameters_is_replaced_at_log_in(database: Database) -> None:
    old, new = cheap_passwords(time_cost=1), cheap_passwords(time_cost=2)
    user = await auth.create_user(database, "alice", "correct horse", Role.READ, T0, old)
    assert "t=1" in user.password_hash
    assert await auth.verify_password(database, "alice", "correct horse", new) is not None
    async with database.reading() as session:
        stored = (await auth.get_user(session, "alice")).password_hash
    assert "t=2" in stored
    assert stored != user.password_hash
    assert await auth.verify_password(database, "alice", "correct horse", new) is not None
    # A wrong password changes nothing.
    assert await auth.verify_password(database, "alice", "wrong horse", old) is None
    async with database.reading() as session:
        assert (await auth.get_user(session, "alice")).password_hash == stored
