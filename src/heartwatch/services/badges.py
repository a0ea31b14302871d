"""Badges: a service's token (made when first asked for, replaced on rotation) and the
figures each badge shows, found by that token alone."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain import badges
from heartwatch.domain.badges import Badge
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.service_types import is_probe
from heartwatch.services import registry, uptime
from heartwatch.services.lifecycle import as_of
from heartwatch.store import status_pages as store
from heartwatch.store.models import Service

# 144 random bits, URL-safe: unguessable, and short enough for a README line.
_TOKEN_BYTES = 18
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
LATENCY_WINDOW = timedelta(hours=24)


def new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def well_formed(token: str) -> bool:
    return _TOKEN.match(token) is not None


async def token_for(session: AsyncSession, ident: str, now: datetime) -> tuple[Service, str]:
    """The service (by key or id) and its badge token, made now if it has none yet."""
    row = await registry.get_service(session, ident)
    token = await store.token_of(session, row.id)
    if token is None:
        token = new_token()
        await store.put_token(session, row.id, token, now)
    return row, token


async def rotate(session: AsyncSession, ident: str, now: datetime) -> tuple[Service, str]:
    """A new token for the service; badge URLs with the old one answer 404 from now on."""
    row = await registry.get_service(session, ident, for_update=True)
    token = new_token()
    await store.put_token(session, row.id, token, now)
    return row, token


async def service_of(session: AsyncSession, token: str) -> Service | None:
    if not well_formed(token):
        return None
    return await store.service_by_token(session, token)


def status_badge(row: Service, rules: HeartbeatRules, now: datetime) -> Badge:
    return badges.status_badge(as_of(row, rules, now).status)


async def uptime_badge(session: AsyncSession, row: Service, period: str, now: datetime) -> Badge:
    [report] = await uptime.reports(session, [row], now - uptime.PERIODS[period], now)
    return badges.uptime_badge(period, report.times.uptime_percent, row.sla_target)


async def latency_badge(session: AsyncSession, row: Service, now: datetime) -> Badge:
    p95 = None
    if is_probe(row.type):
        found = await uptime.latency_percentiles(session, row, now - LATENCY_WINDOW, now)
        p95 = found.get("p95")
    return badges.latency_badge(p95, row.timeout_ms)
