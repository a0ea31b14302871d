"""Statements for public status pages and badge tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.store.models import BadgeToken, Incident, Service, StatusPage


async def list_pages(session: AsyncSession) -> list[StatusPage]:
    return list((await session.scalars(select(StatusPage).order_by(StatusPage.slug))).all())


async def page_by_slug(
    session: AsyncSession, slug: str, *, for_update: bool = False
) -> StatusPage | None:
    stmt = select(StatusPage).where(StatusPage.slug == slug)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return await session.scalar(select(StatusPage.id).where(StatusPage.slug == slug)) is not None


async def delete_page(session: AsyncSession, page_id: uuid.UUID) -> None:
    await session.execute(delete(StatusPage).where(StatusPage.id == page_id))


async def existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return set((await session.scalars(select(Service.key).where(Service.key.in_(keys)))).all())


async def services_for(
    session: AsyncSession, keys: Sequence[str], tags: Sequence[str]
) -> list[Service]:
    """The services a page shows: listed by key, or carrying one of the tags. Tags are
    matched here, not in SQL: a JSON list is searched differently on each backend, and
    only the (id, tags) of services with any tags are read for it."""
    ids: set[uuid.UUID] = set()
    if tags:
        wanted = set(tags)
        stmt = select(Service.id, Service.tags)
        for sid, service_tags in (await session.execute(stmt)).all():
            if wanted.intersection(service_tags or ()):
                ids.add(sid)
    clauses: list[Any] = []
    if keys:
        clauses.append(Service.key.in_(keys))
    if ids:
        clauses.append(Service.id.in_(ids))
    if not clauses:
        return []
    stmt_rows = select(Service).where(or_(*clauses)).order_by(Service.name, Service.key)
    return list((await session.scalars(stmt_rows)).all())


async def incidents_for(
    session: AsyncSession, service_ids: Sequence[uuid.UUID], since: datetime, limit: int
) -> list[tuple[uuid.UUID, datetime, datetime | None, bool]]:
    """Open incidents of these services, and those that began since `since`, newest
    first: (service_id, started_at, recovered_at, resolved)."""
    if not service_ids:
        return []
    stmt = (
        select(Incident.service_id, Incident.started_at, Incident.recovered_at, Incident.resolved)
        .where(
            Incident.service_id.in_(service_ids),
            or_(Incident.resolved.is_(False), Incident.started_at >= since),
        )
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    return [(sid, at, back, done) for sid, at, back, done in (await session.execute(stmt)).all()]


async def token_of(session: AsyncSession, service_id: uuid.UUID) -> str | None:
    return await session.scalar(select(BadgeToken.token).where(BadgeToken.service_id == service_id))


async def put_token(
    session: AsyncSession, service_id: uuid.UUID, token: str, now: datetime
) -> None:
    """Set (or replace) a service's badge token; the old one stops working with it."""
    await session.execute(delete(BadgeToken).where(BadgeToken.service_id == service_id))
    session.add(BadgeToken(service_id=service_id, token=token, created_at=now))
    await session.flush()


async def service_by_token(session: AsyncSession, token: str) -> Service | None:
    stmt = (
        select(Service)
        .join(BadgeToken, BadgeToken.service_id == Service.id)
        .where(BadgeToken.token == token)
    )
    return await session.scalar(stmt)
