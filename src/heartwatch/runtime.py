"""The composition root (seed 004's "scope"): everything long-lived that a process needs,
built once, closed once. Requests and jobs each open their own unit of work on `db`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from heartwatch.clock import Clock, DevClock, SystemClock
from heartwatch.config import Settings
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.services import dev_clock
from heartwatch.services.heartbeats import HeartbeatIngest
from heartwatch.store.database import Database
from heartwatch.store.migrate import ensure_current, upgrade


class Runtime:
    def __init__(self, settings: Settings, db: Database, clock: Clock) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.rules: HeartbeatRules = settings.heartbeat_rules
        self.heartbeats = HeartbeatIngest(
            db, clock, self.rules, auto_register=settings.auto_register
        )

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings, *, migrate: bool = False) -> AsyncIterator[Runtime]:
        db = Database(
            settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            if migrate:
                await upgrade(db)
            else:
                await ensure_current(db)
            clock: Clock = DevClock() if settings.debug_mode else SystemClock()
            runtime = cls(settings, db, clock)
            await runtime.sync_clock(force=True)
            yield runtime
        finally:
            await db.dispose()

    @property
    def dev_clock(self) -> DevClock | None:
        return self.clock if isinstance(self.clock, DevClock) else None

    async def sync_clock(self, *, force: bool = False) -> None:
        """Dev mode: pick up a clock move made by another process (at most once a second)."""
        clock = self.dev_clock
        if clock is not None and (force or clock.stale()):
            async with self.db.reading() as session:
                clock.set_offset(await dev_clock.load_offset(session))

    async def move_clock(self, offset_seconds: float) -> None:
        clock = self.dev_clock
        if clock is None:
            raise RuntimeError("the clock can only be moved in dev mode")
        async with self.db.writing() as session:
            await dev_clock.save_offset(session, offset_seconds, clock.now())
        clock.set_offset(offset_seconds)
