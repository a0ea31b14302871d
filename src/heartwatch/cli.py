"""The `heartwatch` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from heartwatch.config import Settings
from heartwatch.domain.auth import LIFETIME_RULE, Role, parse_lifetime
from heartwatch.log import configure_logging

if TYPE_CHECKING:
    from heartwatch.store.database import Database

T = TypeVar("T")

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="heartwatch: a self-hosted service registry and uptime monitor.",
)

HostOpt = Annotated[str | None, typer.Option(help="address to listen on [HEARTWATCH_HOST]")]
PortOpt = Annotated[int | None, typer.Option(help="port to listen on [HEARTWATCH_PORT]")]


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(f"heartwatch: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from exc
    given = {k: v for k, v in overrides.items() if v is not None}
    settings = settings.model_copy(update=given) if given else settings
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    _warn_unknown_variables()
    return settings


def _warn_unknown_variables() -> None:
    import os
    from pathlib import Path

    import structlog

    from heartwatch.config_check import warnings

    for line in warnings(os.environ, Path(".env")):
        structlog.get_logger("heartwatch").warning(line)


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is not on every platform
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main)


def _explained(settings: Settings, main: Coroutine[Any, Any, None]) -> None:
    """Run `main`; a start-up failure a person can fix is one line and exit status 1."""
    from heartwatch.startup import explain

    try:
        _run(main)
    except Exception as exc:
        reason = explain(exc, settings.effective_database_url)
        if reason is None:
            raise
        typer.echo(f"heartwatch: {reason}", err=True)
        raise typer.Exit(1) from None


def _serve(settings: Settings, *, worker: bool, migrate: bool, bot: bool = False) -> None:
    from heartwatch.processes import RefusedToStart, serve

    try:
        _explained(settings, serve(settings, api=True, worker=worker, migrate=migrate, bot=bot))
    except RefusedToStart as exc:
        typer.echo(f"heartwatch: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def up(host: HostOpt = None, port: PortOpt = None) -> None:
    """Migrate the database, then run the API and the worker together (one machine), and
    the Telegram bot when TELEGRAM_BOT_TOKEN is set."""
    _serve(_settings(host=host, port=port), worker=True, migrate=True, bot=True)


@app.command()
def api(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run only the HTTP API (scale out: several of these behind a load balancer)."""
    _serve(_settings(host=host, port=port), worker=False, migrate=False)


@app.command()
def worker() -> None:
    """Run only the worker (deadline evaluation and, later, checks and notifications)."""
    from heartwatch.processes import serve

    settings = _settings()
    _explained(settings, serve(settings, api=False, worker=True, migrate=False))


@app.command()
def bot() -> None:
    """Run the Telegram bot alone: a client of the API at HEARTWATCH_URL, with
    HEARTWATCH_BOT_API_KEY when access control is on."""
    settings = _settings()
    if not settings.telegram_bot_token:
        typer.echo("heartwatch: the bot needs TELEGRAM_BOT_TOKEN (from BotFather)", err=True)
        raise typer.Exit(2)
    from heartwatch.processes import serve_bot

    _run(serve_bot(settings))


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from heartwatch.startup import check_database_url
    from heartwatch.store.database import Database
    from heartwatch.store.migrate import upgrade

    settings = _settings()

    async def _migrate() -> None:
        check_database_url(settings.effective_database_url)
        db = Database(settings.effective_database_url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    _explained(settings, _migrate())
    typer.echo("database is up to date")


# --- credentials ----------------------------------------------------------------------
# These open the database themselves (migrating it if needed, as `up` does): they make
# the first key or user of a heartwatch that nobody can reach without one.

keys_app = typer.Typer(
    no_args_is_help=True, help="API keys for programs (each shown once, when it is created)."
)
users_app = typer.Typer(no_args_is_help=True, help="Users: people, who log in with a password.")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

RoleOpt = Annotated[
    Role, typer.Option(help="read: every GET, nothing that changes state; admin: everything")
]


def _with_database(settings: Settings, work: Callable[[Database, datetime], Awaitable[T]]) -> T:
    """Run `work` on the configured database, migrated first if it is not current; a
    refused change is a message and exit status 1."""
    # Quiet unless there is something to migrate: alembic's set-up lines (some at import)
    # would bury the command's own few.
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)

    from heartwatch.clock import SystemClock
    from heartwatch.services.errors import Conflict, Invalid, NotFound
    from heartwatch.store.database import Database
    from heartwatch.store.migrate import SchemaOutOfDate, ensure_current, upgrade

    results: list[T] = []

    async def _main() -> None:
        url = settings.effective_database_url
        db = Database(url, sqlite_synchronous=settings.sqlite_synchronous)
        try:
            try:
                await ensure_current(db)
            except SchemaOutOfDate:
                alembic_log.setLevel(level)
                await upgrade(db)
            results.append(await work(db, SystemClock().now()))
        finally:
            await db.dispose()

    try:
        _run(_main())
    except (Invalid, NotFound, Conflict) as exc:
        typer.echo(f"heartwatch: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        alembic_log.setLevel(level)
    return results[0]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=column != "name", overflow="fold")
    for row in rows:
        table.add_row(*row)
    # Not a terminal (a pipe, a file): no width to fit, so every row stays one line.
    Console(width=None if sys.stdout.isatty() else 1000).print(table)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="what the key is for, e.g. grafana")],
    role: RoleOpt = Role.READ,
    expires: Annotated[
        str | None, typer.Option(help=f"how long it stays valid: {LIFETIME_RULE}; default: always")
    ] = None,
) -> None:
    """Create an API key; it is printed once, on standard output."""
    from heartwatch.services import auth

    try:
        lifetime = parse_lifetime(expires) if expires is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--expires") from None

    async def _create(db: Database, now: datetime) -> tuple[str, str]:
        async with db.writing() as session:
            row, full_key = await auth.create_key(
                session, name, role, now + lifetime if lifetime else None, now
            )
            expiry = f", expires {_when(row.expires_at)} UTC" if row.expires_at else ""
            return full_key, f"API key {row.id} ({row.role.value}, {row.name!r}{expiry})"

    full_key, described = _with_database(_settings(), _create)
    typer.echo(full_key)
    typer.echo(
        f"{described} created. This is the only time it is shown: heartwatch keeps only a "
        "hash of it. Send it as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.",
        err=True,
    )


@keys_app.command("list")
def keys_list() -> None:
    """List the API keys (never their secrets)."""
    from heartwatch.services import auth

    async def _list(db: Database, now: datetime) -> list[list[str]]:
        async with db.reading() as session:
            return [
                [
                    k.id,
                    k.name,
                    k.role.value,
                    auth.key_state(k, now),
                    _when(k.created_at),
                    _when(k.expires_at),
                    _when(k.last_used_at),
                ]
                for k in await auth.list_keys(session)
            ]

    rows = _with_database(_settings(), _list)
    if not rows:
        typer.echo("no API keys: create one with `heartwatch keys create --name NAME`")
        return
    columns = ["id", "name", "role", "state", "created (UTC)", "expires", "last used"]
    _print_table("API keys", columns, rows)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(metavar="ID", help="the key's id")]) -> None:
    """Revoke an API key (running heartwatch processes refuse it within seconds)."""
    from heartwatch.services import auth

    async def _revoke(db: Database, now: datetime) -> str:
        async with db.writing() as session:
            row = await auth.revoke_key(session, key_id, now)
        if row.revoked_at == now:
            return f"revoked API key {row.id} ({row.name!r})"
        return f"API key {row.id} ({row.name!r}) was revoked before, at {_when(row.revoked_at)} UTC"

    typer.echo(_with_database(_settings(), _revoke))


def _stdin_is_a_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    """From a hidden prompt (typed twice) at a terminal, else one line of standard input:
    never from the command line, where it would stay in the shell's history and `ps`."""
    if _stdin_is_a_terminal():
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="the name to log in with (any case)")],
    role: RoleOpt = Role.READ,
) -> None:
    """Create a user; the password is asked for (or read from standard input)."""
    from heartwatch.services import auth

    password = _read_password()

    async def _create(db: Database, now: datetime) -> str:
        user = await auth.create_user(db, name, password, role, now)
        return f"created user {user.name!r} ({user.role.value})"

    typer.echo(_with_database(_settings(), _create))


@users_app.command("list")
def users_list() -> None:
    """List the users."""
    from heartwatch.services import auth

    async def _list(db: Database, now: datetime) -> list[list[str]]:
        async with db.reading() as session:
            return [
                [u.name, u.role.value, _when(u.created_at), _when(u.updated_at)]
                for u in await auth.list_users(session)
            ]

    rows = _with_database(_settings(), _list)
    if not rows:
        typer.echo("no users: create one with `heartwatch users create NAME --role admin`")
        return
    _print_table("Users", ["name", "role", "created (UTC)", "changed"], rows)


@users_app.command("set-password")
def users_set_password(name: Annotated[str, typer.Argument(help="the user's name")]) -> None:
    """Set a user's password (asked for, or read from standard input)."""
    from heartwatch.services import auth

    password = _read_password()

    async def _set(db: Database, now: datetime) -> str:
        user = await auth.set_password(db, name, password, now)
        return f"changed the password of {user.name!r}"

    typer.echo(_with_database(_settings(), _set))


@users_app.command("delete")
def users_delete(name: Annotated[str, typer.Argument(help="the user's name")]) -> None:
    """Delete a user (and log them out everywhere)."""
    from heartwatch.services import auth

    settings = _settings()

    async def _delete(db: Database, now: datetime) -> tuple[str, bool]:
        async with db.writing() as session:
            user = await auth.delete_user(session, name)
            left = await auth.auth_enabled(session, settings)
        return f"deleted user {user.name!r}", left

    message, credentials_left = _with_database(settings, _delete)
    typer.echo(message)
    if not credentials_left:
        typer.echo(
            "warning: no API key, user or HEARTWATCH_ADMIN_KEY is left, so access control "
            "is off: create a key (`heartwatch keys create`) or a user before exposing "
            "heartwatch beyond this machine",
            err=True,
        )


def main() -> None:
    app()
