"""SQLite: the embedded default.

WAL so readers never block the writer; a busy timeout so a second writer waits instead of
failing; foreign keys on (SQLite's default is off). And write transactions take the write
lock up front with `BEGIN IMMEDIATE`: a plain (deferred) transaction that reads first and
writes later fails at once with "database is locked" when another connection got the lock
in between — the busy timeout does not cover that upgrade — which is exactly the API and
the worker writing together. Read-only sessions keep `BEGIN DEFERRED`, so reads stay
concurrent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

WRITE_OPTION = "heartwatch_write"
BUSY_TIMEOUT_S = 30.0


def create_engine(url: str, *, synchronous: str = "FULL") -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

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
