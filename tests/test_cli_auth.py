"""`heartwatch keys ...` and `heartwatch users ...`, run in-process against a fresh SQLite
file and a fresh PostgreSQL database (each command migrates what it opens)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from argon2 import PasswordHasher
from typer.testing import CliRunner, Result

from heartwatch import cli
from heartwatch.config import Settings
from heartwatch.domain.auth import Role, hash_secret, parse_key
from heartwatch.services import auth
from heartwatch.services.auth import Authenticator, Principal
from heartwatch.services.passwords import Passwords
from heartwatch.store.database import Database
from heartwatch.store.migrate import ensure_current, upgrade
from heartwatch.store.models import ApiKey, User
from tests.conftest import T0, create_pg_database, drop_pg_database

runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The commands configure logging for the process (to the runner's captured stderr);
    put back what the rest of the suite had."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("aiosqlite", "alembic")}
    structlog_config = structlog.get_config()
    yield
    root.handlers, root.level = handlers, level
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)
    structlog.configure(**structlog_config)


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> Passwords:
    passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    monkeypatch.setattr(auth, "PASSWORDS", passwords)
    return passwords


def _cli_database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database nobody has migrated, named in the environment as an operator would."""
    monkeypatch.chdir(tmp_path)  # (no stray .env)
    for name in ("HEARTWATCH_ADMIN_KEY", "HEARTWATCH_LOG_LEVEL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        monkeypatch.setenv("HEARTWATCH_DATABASE_URL", url)
        yield f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
        return
    url = create_pg_database("hw_cli")
    monkeypatch.setenv("HEARTWATCH_DATABASE_URL", url)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def cli_db(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from _cli_database(backend, tmp_path, monkeypatch)


@pytest.fixture
def sqlite_cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """For what the command line does whatever the backend (arguments, prompts)."""
    yield from _cli_database("sqlite", tmp_path, monkeypatch)


def hw(*args: str, input: str | None = None) -> Result:
    return runner.invoke(cli.app, list(args), input=input)


def _verify_key(url: str, full_key: str) -> Principal | None:
    async def main() -> Principal | None:
        db = Database(url)
        try:
            authn = Authenticator(db, Settings(_env_file=None))
            principal = await authn.verify_key(full_key, T0)
            await authn.drain()
            return principal
        finally:
            await db.dispose()

    return asyncio.run(main())


def _verify_password(url: str, name: str, password: str) -> Principal | None:
    async def main() -> Principal | None:
        db = Database(url)
        try:
            return await auth.verify_password(db, name, password)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _stored(url: str) -> tuple[list[ApiKey], list[User]]:
    async def main() -> tuple[list[ApiKey], list[User]]:
        db = Database(url)
        try:
            await upgrade(db)  # (a command refused while parsing its arguments opened none)
            async with db.reading() as session:
                return list(await auth.list_keys(session)), list(await auth.list_users(session))
        finally:
            await db.dispose()

    return asyncio.run(main())


def test_a_key_is_printed_once_listed_without_its_secret_and_revoked(cli_db: str) -> None:
    created = hw("keys", "create", "--name", "grafana", "--role", "read", "--expires", "90d")
    assert created.exit_code == 0, created.output
    full_key = created.stdout.strip()
    parts = parse_key(full_key)
    assert parts is not None, created.stdout  # the key alone on standard output
    assert "only time it is shown" in created.stderr
    assert full_key not in created.stderr

    principal = _verify_key(cli_db, full_key)
    assert principal == Principal(kind="key", id=parts.id, name="grafana", role=Role.READ)
    [row], _ = _stored(cli_db)
    assert row.expires_at is not None
    assert row.created_at is not None
    assert round((row.expires_at - row.created_at).total_seconds()) == 90 * 86400

    listed = hw("keys", "list")
    assert listed.exit_code == 0, listed.output
    [line] = [line for line in listed.stdout.splitlines() if parts.id in line]
    assert "grafana" in line
    assert "active" in line
    assert parts.secret not in listed.output

    revoked = hw("keys", "revoke", parts.id)
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked API key {parts.id}" in revoked.stdout
    assert _verify_key(cli_db, full_key) is None
    assert "revoked" in hw("keys", "list").stdout
    again = hw("keys", "revoke", parts.id)
    assert again.exit_code == 0
    assert "revoked before" in again.stdout

    unknown = hw("keys", "revoke", "nosuchkey")
    assert unknown.exit_code == 1
    assert "not found" in unknown.stderr


def test_an_admin_key_without_expiry(cli_db: str) -> None:
    created = hw("keys", "create", "--name", "ci", "--role", "admin")
    assert created.exit_code == 0, created.output
    principal = _verify_key(cli_db, created.stdout.strip())
    assert principal is not None
    assert principal.role is Role.ADMIN
    [row], _ = _stored(cli_db)
    assert row.expires_at is None


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--name", "x", "--expires", "3y"], 2, "invalid lifetime"),
        (["--name", "x", "--role", "owner"], 2, "owner"),
        (["--name", "  "], 1, "name"),
        ([], 2, "--name"),
    ],
)
def test_bad_key_requests_are_refused(
    sqlite_cli_db: str, args: list[str], status: int, message: str
) -> None:
    result = hw("keys", "create", *args)
    assert result.exit_code == status, result.output
    assert message in result.output
    assert not re.search(r"hwk_\w+", result.output)


def test_empty_listings_say_how_to_start(sqlite_cli_db: str) -> None:
    assert "heartwatch keys create" in hw("keys", "list").stdout
    assert "heartwatch users create" in hw("users", "list").stdout


def test_a_user_is_created_changed_and_deleted(cli_db: str) -> None:
    created = hw("users", "create", "Alice", "--role", "admin", input="correct horse\n")
    assert created.exit_code == 0, created.output
    assert "created user 'Alice' (admin)" in created.stdout
    principal = _verify_password(cli_db, "alice", "correct horse")
    assert principal is not None
    assert principal.role is Role.ADMIN

    duplicate = hw("users", "create", "ALICE", input="another password\n")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.stderr

    listed = hw("users", "list")
    assert listed.exit_code == 0
    [line] = [line for line in listed.stdout.splitlines() if "Alice" in line]
    assert "admin" in line

    changed = hw("users", "set-password", "alice", input="second password\n")
    assert changed.exit_code == 0, changed.output
    assert _verify_password(cli_db, "alice", "correct horse") is None
    assert _verify_password(cli_db, "alice", "second password") is not None

    deleted = hw("users", "delete", "ALICE")
    assert deleted.exit_code == 0, deleted.output
    assert "deleted user 'Alice'" in deleted.stdout
    assert "access control is off" in deleted.stderr  # the last credential went
    assert _verify_password(cli_db, "alice", "second password") is None
    assert hw("users", "delete", "alice").exit_code == 1


def test_deleting_a_user_while_a_key_remains_warns_of_nothing(cli_db: str) -> None:
    assert hw("keys", "create", "--name", "ci").exit_code == 0
    assert hw("users", "create", "bob", input="correct horse\n").exit_code == 0
    deleted = hw("users", "delete", "bob")
    assert deleted.exit_code == 0
    assert "access control is off" not in deleted.stderr


def test_bad_passwords_and_names_are_refused(sqlite_cli_db: str) -> None:
    short = hw("users", "create", "alice", input="short\n")
    assert short.exit_code == 1
    assert "password is 8-1024 characters" in short.stderr
    empty = hw("users", "create", "alice", input="")
    assert empty.exit_code == 1
    bad_name = hw("users", "create", "a\tb", input="correct horse\n")
    assert bad_name.exit_code == 1
    assert "name" in bad_name.stderr
    assert _stored(sqlite_cli_db) == ([], [])


def test_a_password_is_never_a_command_line_argument(sqlite_cli_db: str) -> None:
    result = hw("users", "create", "alice", "correct horse")
    assert result.exit_code == 2
    assert _stored(sqlite_cli_db) == ([], [])


def test_at_a_terminal_the_password_is_asked_twice_and_not_echoed(
    sqlite_cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_stdin_is_a_terminal", lambda: True)
    typed = "first typo\nsecond typo\ncorrect horse\ncorrect horse\n"
    result = hw("users", "create", "alice", input=typed)
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert "correct horse" not in result.output
    assert _verify_password(sqlite_cli_db, "alice", "correct horse") is not None


def test_the_first_command_migrates_the_database(cli_db: str) -> None:
    assert hw("keys", "list").exit_code == 0

    async def current() -> None:
        db = Database(cli_db)
        try:
            await ensure_current(db)
        finally:
            await db.dispose()

    asyncio.run(current())


def test_no_secret_reaches_the_logs_even_at_debug_level(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTWATCH_LOG_LEVEL", "debug")
    created = hw("keys", "create", "--name", "grafana")
    assert created.exit_code == 0, created.output
    full_key = created.stdout.strip()
    parts = parse_key(full_key)
    assert parts is not None
    logs = [created.stderr]
    for args, typed in [
        (["keys", "list"], None),
        (["keys", "revoke", parts.id], None),
        (["users", "create", "alice"], "correct horse\n"),
        (["users", "set-password", "alice"], "second password\n"),
        (["users", "list"], None),
        (["users", "delete", "alice"], None),
    ]:
        result = hw(*args, input=typed)
        assert result.exit_code == 0, result.output
        logs.append(result.output)
    everything = "\n".join(logs)
    assert "api key created" in everything  # (the logs were captured)
    assert "user deleted" in everything
    for secret in (
        full_key,
        parts.secret,
        hash_secret(parts.secret),
        "correct horse",
        "second password",
        "$argon2",
    ):
        assert secret not in everything, secret
