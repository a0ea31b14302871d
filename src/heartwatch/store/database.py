"""The database handle: one engine per process, sessions for reading and for writing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from heartwatch.store.dialects import postgresql, sqlite


class Database:
    def __init__(
        self, url: str, *, sqlite_synchronous: str = "FULL", info: dict[str, object] | None = None
    ) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        options: dict[str, bool] = {}
        if self.dialect == "sqlite":
            # Without SQLite's same-thread check (SQLAlchemy's default for a file, made
            # explicit here so that it holds for every SQLite URL).
            inline = self.url.update_query_dict({"check_same_thread": "false"})
            self.engine: AsyncEngine = sqlite.create_engine(
                inline.render_as_string(hide_password=False), synchronous=sqlite_synchronous
            )
            options[sqlite.INLINE_OPTION] = True
        elif self.dialect == "postgresql":
            self.engine = postgresql.create_engine(url)
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        # Same pool; the option makes SQLite open write transactions with BEGIN IMMEDIATE.
        # (Public for writers that skip the ORM session: `statements.statement_transaction`.)
        self.write_engine = write_engine = self.engine.execution_options(
            **{sqlite.WRITE_OPTION: True}, **options
        )
        # `info`: process-wide policy the use cases read from their session (e.g. how
        # alerts are worded), so writers deep in a transaction need no extra parameters.
        self._read = async_sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._write = async_sessionmaker(write_engine, expire_on_commit=False, info=info)
        self._kept: AsyncConnection | None = None
        self._kept_in_use = False

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads."""
        async with self._read() as session, session.begin():
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that writes: one transaction, committed on success."""
        async with self._write() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.reading() as session:
            await session.execute(select(1))

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the write engine, for a writer that runs its transaction on it
        itself (`statements.statement_transaction`: heartbeat ingest, the probe scheduler).
        Whoever asks when nobody else is using it gets one connection kept out of the pool
        between uses: a connection going back to the pool is rolled back on the way, which
        on aiosqlite is one more hand-off to its thread per transaction. Others at the same
        time get one from the pool. A kept connection that was invalidated or closed is
        replaced; `dispose` closes it."""
        if self._kept_in_use:
            async with self.write_engine.connect() as conn:
                yield conn
            return
        self._kept_in_use = True
        try:
            kept = self._kept
            if kept is None or kept.closed or kept.invalidated:
                self._kept = None
                if kept is not None:
                    await kept.close()
                kept = self._kept = await self.write_engine.connect()
            yield kept
        finally:
            self._kept_in_use = False

    async def dispose(self) -> None:
        if self._kept is not None:
            kept, self._kept = self._kept, None
            await kept.close()
        await self.engine.dispose()
