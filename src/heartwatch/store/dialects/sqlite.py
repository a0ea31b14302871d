"""SQLite: the embedded default.

WAL so readers never block the writer; a busy timeout so a second writer waits instead of
failing; foreign keys on (SQLite's default is off). And write transactions take the write
lock up front with `BEGIN IMMEDIATE`: a plain (deferred) transaction that reads first and
writes later fails at once with "database is locked" when another connection got the lock
in between — the busy timeout does not cover that upgrade — which is exactly the API and
the worker writing together. Read-only sessions keep `BEGIN DEFERRED`, so reads stay
concurrent.

The hot paths' write transactions (`store.statements.statement_transaction`) also run
their statements on the event loop's thread, on the `sqlite3` connection under aiosqlite's:
the second half of this module.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# Execution options of the write engine (`Database.write_engine`).
WRITE_OPTION = "heartwatch_write"
# This engine's connections may also be used from the event loop's thread, not only from
# aiosqlite's (`connection_here`): they are opened without SQLite's same-thread check.
INLINE_OPTION = "heartwatch_sqlite_inline"
BUSY_TIMEOUT_S = 30.0


def create_engine(url: str, *, synchronous: str = "FULL") -> AsyncEngine:
    # hide_parameters: an error or an echoed statement never quotes the bound values
    # (channel secrets, key hashes).
    engine = create_async_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_S}, hide_parameters=True
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver: we emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


async def connection_here(conn: AsyncConnection) -> sqlite3.Connection | None:
    """The SQLite connection under `conn`, to use right here on the event loop's thread —
    when its engine allows it (INLINE_OPTION).

    aiosqlite runs every call in its own thread. For a heartbeat batch that is about ten
    hand-offs and wake-ups per transaction, which cost more than the statements themselves
    on a busy machine (each one waits for the other thread to be scheduled and to get the
    GIL). The statements run here hold the write lock already (the transaction began with
    BEGIN IMMEDIATE in aiosqlite's thread, where waiting for the lock belongs), so they
    never wait for another writer; the COMMIT (and its fsync) still goes through aiosqlite.
    (`_conn` is aiosqlite's: SQLAlchemy's own aiosqlite dialect uses it the same way.)
    """
    sync = conn.sync_connection
    if sync is None or not sync.get_execution_options().get(INLINE_OPTION):
        return None
    raw = await conn.get_raw_connection()
    here: sqlite3.Connection = raw.driver_connection._conn  # type: ignore[union-attr]
    return here


# The connections under an AsyncConnection held between transactions
# (`Database.write_connection`): asking SQLAlchemy for them costs two greenlet switches
# per batch.
_connections: WeakKeyDictionary[AsyncConnection, tuple[sqlite3.Connection, Any]] = (
    WeakKeyDictionary()
)


async def connections_of(conn: AsyncConnection) -> tuple[sqlite3.Connection, Any]:
    """(the sqlite3 connection to use here, the aiosqlite connection) under `conn`."""
    found = _connections.get(conn)
    if found is None:
        here = await connection_here(conn)
        if here is None:  # pragma: no cover - every SQLite write engine allows it (database.py)
            raise RuntimeError("the SQLite write engine must allow inline statements")
        raw = await conn.get_raw_connection()
        found = _connections[conn] = (here, raw.driver_connection)
    return found


async def begin_immediate(here: sqlite3.Connection, driver: Any) -> None:
    """BEGIN IMMEDIATE on this thread if the write lock can be had at once; else wait for
    it in aiosqlite's thread (`driver`, with the busy timeout), never on the event loop:
    the writer holding it may be a task of this very loop."""
    here.execute("PRAGMA busy_timeout=0").close()
    try:
        here.execute("BEGIN IMMEDIATE").close()
        return
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # (or an extended BUSY code)
            raise
    finally:
        here.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}").close()
    await (await driver.execute("BEGIN IMMEDIATE")).close()
