"""Why heartwatch cannot start, in one line a person can act on.

A process that cannot start says so on one line and exits 1, instead of a page of
traceback: the database URL does not parse or names a database heartwatch does not
support, the database cannot be reached or does not exist, the SQLite file's directory
is missing, the schema is not migrated, or the API's port is taken. `explain` turns the
exceptions these end in into that line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from heartwatch.services import channels
from heartwatch.store.migrate import SchemaOutOfDate
from heartwatch.store.services import count_services

if TYPE_CHECKING:
    from heartwatch.runtime import Runtime

log = structlog.get_logger("heartwatch")

SUPPORTED = ("sqlite", "postgresql")
_URL_FORMS = "sqlite:///./heartwatch.db or postgresql://user:password@host/database"


class StartupFailure(Exception):
    """heartwatch cannot start; the message says why and what to do (one line)."""


def check_database_url(url: str) -> URL:
    """The URL, parsed, when heartwatch can use it; else a StartupFailure saying why."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # (The URL itself is not quoted: it may carry a password.)
        raise StartupFailure(
            f"HEARTWATCH_DATABASE_URL is not a database URL: use {_URL_FORMS}"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StartupFailure(
            f"HEARTWATCH_DATABASE_URL names a {backend!r} database; heartwatch runs on "
            f"SQLite or PostgreSQL: use {_URL_FORMS}"
        )
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        directory = Path(parsed.database).expanduser().parent
        if not directory.is_dir():
            raise StartupFailure(
                f"the SQLite database's directory {str(directory)!r} does not exist: create "
                "it, or point HEARTWATCH_DATABASE_URL at a file in an existing directory"
            )
    return parsed


def bind_listening_socket(host: str, port: int) -> socket.socket:
    """The API's socket, bound and listening, before anything else starts: a port in use
    stops the process before it runs a worker against the database."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupFailure(
            f"cannot listen on {host!r}: the address does not resolve ({exc.strerror}); use --host"
        ) from None
    # One address: a name's IPv4 one first (`localhost` is then 127.0.0.1, what most
    # clients try first).
    found.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = found[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupFailure(
                f"port {port} on {host} is in use — another heartwatch? use --port"
            ) from None
        if exc.errno == errno.EACCES:
            raise StartupFailure(
                f"not allowed to listen on port {port} on {host} (ports below 1024 need "
                "privileges): use --port"
            ) from None
        raise StartupFailure(
            f"cannot listen on {host}:{port}: {exc.strerror}; use --host"
        ) from None
    sock.set_inheritable(False)
    return sock


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything behind it (a driver's error inside SQLAlchemy's)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
        if current is None and chain[-1].__context__ is not None:
            current = chain[-1].__context__
    return chain


def _where(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"the SQLite file {url.database!r}"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL at {url.host or 'localhost'}{port}"


def explain(exc: BaseException, database_url: str | None = None) -> str | None:
    """One line saying why heartwatch could not start, or None when `exc` is not one of
    the start-up failures a person can fix (a bug: let its traceback show)."""
    if isinstance(exc, StartupFailure):
        return str(exc)
    if isinstance(exc, SchemaOutOfDate):
        return str(exc)
    url = None
    if database_url is not None:
        try:
            url = make_url(database_url)
        except ArgumentError:
            url = None
    where = _where(url) if url is not None else "the database"
    for cause in _causes(exc):
        name = type(cause).__name__
        text = str(cause).strip().splitlines()[0] if str(cause).strip() else name
        if name == "InvalidCatalogNameError" and url is not None:
            return (
                f"database {url.database!r} does not exist on {where}: create it "
                f"(`createdb {url.database}`) or fix HEARTWATCH_DATABASE_URL"
            )
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return f"{where} refused the login: {text} (check HEARTWATCH_DATABASE_URL)"
        if isinstance(cause, socket.gaierror):
            return f"cannot reach {where}: the host name does not resolve (HEARTWATCH_DATABASE_URL)"
        if isinstance(cause, OSError | TimeoutError):  # refused, unreachable, timed out
            return (
                f"cannot reach {where}: {text} — is the database server running? "
                "(HEARTWATCH_DATABASE_URL)"
            )
        if "unable to open database file" in text:
            return f"cannot open {where}: the file or its directory cannot be opened or created"
    if isinstance(exc, DBAPIError):
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        return f"cannot use {where}: {first}"
    return None


async def log_summary(runtime: Runtime, *, api: bool, worker: bool, bot: bool = False) -> None:
    """One line saying what this process serves (how many services and channels, where
    the dashboard and the docs are), and a warning when nobody would be told of an
    outage."""
    settings = runtime.settings
    async with runtime.db.reading() as session:
        services = await count_services(session)
        enabled = [c for c in await channels.list_channels(session) if c.enabled]
    log.info(
        "heartwatch starting",
        api=settings.api_url if api else None,
        dashboard=f"{settings.api_url}/" if api else None,
        docs=f"{settings.api_url}/docs" if api else None,
        worker=worker,
        telegram_bot=bot,
        services=services,
        channels=len(enabled),
        database=runtime.db.url.render_as_string(hide_password=True),
        dev_mode=settings.debug_mode,
    )
    if worker and not enabled:
        log.warning(
            "no notification channel is configured: status changes are recorded but nobody "
            "is alerted; set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, or POST /channels"
        )
