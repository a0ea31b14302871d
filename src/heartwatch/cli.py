"""The `heartwatch` command."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from heartwatch.config import Settings
from heartwatch.log import configure_logging

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
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is not on every platform
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main)


@app.command()
def up(host: HostOpt = None, port: PortOpt = None) -> None:
    """Migrate the database, then run the API and the worker together (one machine)."""
    from heartwatch.processes import serve

    _run(serve(_settings(host=host, port=port), api=True, worker=True, migrate=True))


@app.command()
def api(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run only the HTTP API (scale out: several of these behind a load balancer)."""
    from heartwatch.processes import serve

    _run(serve(_settings(host=host, port=port), api=True, worker=False, migrate=False))


@app.command()
def worker() -> None:
    """Run only the worker (deadline evaluation and, later, checks and notifications)."""
    from heartwatch.processes import serve

    _run(serve(_settings(), api=False, worker=True, migrate=False))


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from heartwatch.store.database import Database
    from heartwatch.store.migrate import upgrade

    settings = _settings()

    async def _migrate() -> None:
        db = Database(settings.effective_database_url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    _run(_migrate())
    typer.echo("database is up to date")


def main() -> None:
    app()
