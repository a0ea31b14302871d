"""The composition root: everything long-lived that a process needs,
built once, closed once. Requests and jobs each open their own unit of work on `db`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import aiohttp

from heartwatch import netguard
from heartwatch.checkers.base import CheckContext
from heartwatch.checkers.registry import CheckerRegistry
from heartwatch.clock import Clock, DevClock, SystemClock
from heartwatch.config import Settings
from heartwatch.domain.auth import may_run_open
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.network import DEFAULT_POLICY, NetworkPolicy
from heartwatch.domain.ratelimit import FailureWindow
from heartwatch.notifiers.base import NotifyContext
from heartwatch.notifiers.registry import NotifierRegistry, builtin_notifiers
from heartwatch.services import channels, dev_clock
from heartwatch.services.auth import Authenticator
from heartwatch.services.heartbeats import HeartbeatIngest
from heartwatch.services.notifications import POLICY_KEY, NotifyPolicy
from heartwatch.store.database import Database
from heartwatch.store.migrate import ensure_current, upgrade


@asynccontextmanager
async def probe_http_session(
    max_concurrent: int, network: NetworkPolicy = DEFAULT_POLICY
) -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP client for every check and every delivery of this process. Its connection
    limit follows the check concurrency (aiohttp's default of 100 would queue checks
    behind each other), cookies are not kept (one service's cookies must never reach
    another's check), and it connects only where `network` allows."""
    connector = netguard.guarded_connector(network, limit=max_concurrent * 2, ttl_dns_cache=60)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False
    ) as session:
        yield session


def notify_policy(settings: Settings) -> NotifyPolicy:
    return NotifyPolicy(
        public_url=settings.public_url or settings.api_url,
        tz=ZoneInfo(settings.timezone),
        flap_changes=settings.flap_changes,
        flap_window=timedelta(minutes=settings.flap_window_minutes),
        max_attempts=settings.notify_max_attempts,
    )


AUTH_FAILURES_PER_MINUTE = 20


class Runtime:
    def __init__(
        self, settings: Settings, db: Database, clock: Clock, check_context: CheckContext
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.rules: HeartbeatRules = settings.heartbeat_rules
        self.heartbeats = HeartbeatIngest(
            db,
            clock,
            self.rules,
            auto_register=settings.auto_register,
            max_services=settings.max_services,
        )
        self.checkers = CheckerRegistry(network=check_context.network)
        self.check_context = check_context
        self.notifiers = NotifierRegistry(
            builtin_notifiers(
                telegram_api_url=settings.telegram_api_url, pagerduty_url=settings.pagerduty_url
            ),
            network=check_context.network,
        )
        self.notify_context = NotifyContext(http=check_context.http, network=check_context.network)
        self.authn = Authenticator(db, settings)
        # With no credential at all, whether the API serves everyone (a loopback address,
        # or HEARTWATCH_AUTH=off) or refuses everyone (credentials were all deleted under
        # a server that listens beyond this machine).
        self.may_run_open = may_run_open(settings.host, settings.auth)
        # Failed API key checks per client address: past AUTH_FAILURES_PER_MINUTE, the
        # address gets 429 before its key is even looked at.
        self.auth_failures = FailureWindow(AUTH_FAILURES_PER_MINUTE, 60.0)

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings, *, migrate: bool = False) -> AsyncIterator[Runtime]:
        db = Database(
            settings.effective_database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            info={POLICY_KEY: notify_policy(settings)},
        )
        try:
            if migrate:
                await upgrade(db)
            else:
                await ensure_current(db)
            clock: Clock = DevClock() if settings.debug_mode else SystemClock()
            network = settings.network_policy
            async with probe_http_session(settings.max_concurrent_checks, network) as http:
                context = CheckContext(
                    http=http, allow_scripts=settings.allow_script_checks, network=network
                )
                runtime = cls(settings, db, clock, context)
                await runtime.sync_clock(force=True)
                async with db.writing() as session:
                    await channels.sync_env_channel(
                        session,
                        settings.telegram_bot_token,
                        settings.telegram_chat_id,
                        runtime.clock.now(),
                    )
                try:
                    yield runtime
                finally:
                    await runtime.authn.drain()
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
