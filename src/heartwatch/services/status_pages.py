"""Public status pages: their definitions (an admin's use cases), and what a visitor sees
of one — only names, statuses, daily uptime and incident times, never a service's
configuration, errors or ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.domain import status_pages as rules_
from heartwatch.domain.heartbeat import HeartbeatRules
from heartwatch.domain.status import Status
from heartwatch.domain.uptime import floor_day
from heartwatch.services.errors import Conflict, Invalid, NotFound
from heartwatch.services.lifecycle import as_of
from heartwatch.store import history
from heartwatch.store import status_pages as store
from heartwatch.store.models import Service, StatusPage

MAX_INCIDENTS = 50


@dataclass(frozen=True, slots=True)
class PageSpec:
    slug: str
    title: str
    description: str = ""
    service_keys: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PageChanges:
    """None: leave as it is."""

    slug: str | None = None
    title: str | None = None
    description: str | None = None
    service_keys: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None


async def _check(
    session: AsyncSession, slug: str, keys: tuple[str, ...], tags: tuple[str, ...]
) -> None:
    if not rules_.valid_slug(slug):
        raise Invalid(
            f"slug {slug!r}: 1-64 lowercase letters, digits and hyphens (not at either end)"
        )
    if not keys and not tags:
        raise Invalid("a status page shows some services: give service_keys, tags or both")
    unknown = sorted(set(keys) - await store.existing_keys(session, keys))
    if unknown:
        raise Invalid(f"no service with the key(s): {', '.join(unknown)}")


async def list_pages(session: AsyncSession) -> list[StatusPage]:
    return await store.list_pages(session)


async def get_page(session: AsyncSession, slug: str, *, for_update: bool = False) -> StatusPage:
    page = await store.page_by_slug(session, slug, for_update=for_update)
    if page is None:
        raise NotFound(f"no status page {slug!r}")
    return page


async def create_page(session: AsyncSession, spec: PageSpec, now: datetime) -> StatusPage:
    await _check(session, spec.slug, spec.service_keys, spec.tags)
    if await store.slug_taken(session, spec.slug):
        raise Conflict(f"a status page {spec.slug!r} already exists")
    page = StatusPage(
        slug=spec.slug,
        title=spec.title,
        description=spec.description,
        service_keys=list(spec.service_keys),
        tags=list(spec.tags),
        created_at=now,
        updated_at=now,
    )
    session.add(page)
    await session.flush()
    return page


async def update_page(
    session: AsyncSession, slug: str, changes: PageChanges, now: datetime
) -> StatusPage:
    page = await get_page(session, slug, for_update=True)
    new_slug = page.slug if changes.slug is None else changes.slug
    keys = tuple(page.service_keys) if changes.service_keys is None else changes.service_keys
    tags = tuple(page.tags) if changes.tags is None else changes.tags
    await _check(session, new_slug, keys, tags)
    if new_slug != page.slug and await store.slug_taken(session, new_slug):
        raise Conflict(f"a status page {new_slug!r} already exists")
    page.slug = new_slug
    if changes.title is not None:
        page.title = changes.title
    if changes.description is not None:
        page.description = changes.description
    page.service_keys = list(keys)
    page.tags = list(tags)
    page.updated_at = now
    await session.flush()
    return page


async def delete_page(session: AsyncSession, slug: str) -> None:
    page = await get_page(session, slug, for_update=True)
    await store.delete_page(session, page.id)


# What a visitor sees.


@dataclass(frozen=True, slots=True)
class PublicService:
    name: str
    status: Status
    cells: list[rules_.DayCell]
    uptime_percent: float | None  # over the bar's days


@dataclass(frozen=True, slots=True)
class PublicIncident:
    service_name: str
    started_at: datetime
    recovered_at: datetime | None
    duration_s: float


@dataclass(frozen=True, slots=True)
class PublicPage:
    title: str
    description: str
    services: list[PublicService]
    active: list[PublicIncident]
    recent: list[PublicIncident]
    now: datetime


@dataclass(frozen=True, slots=True)
class PageState:
    """A page with its services as of now, and the version of it all (for the ETag)."""

    page: StatusPage
    rows: list[Service]
    statuses: list[Status]
    version: str


async def page_state(
    session: AsyncSession, slug: str, rules: HeartbeatRules, now: datetime
) -> PageState | None:
    """What a page shows depends on, read in two small statements; None: no such page."""
    page = await store.page_by_slug(session, slug)
    if page is None:
        return None
    rows = await store.services_for(session, page.service_keys, page.tags)
    statuses = [as_of(row, rules, now).status for row in rows]
    parts: list[object] = [page.id, page.updated_at, page.title, page.description]
    for row, status in zip(rows, statuses, strict=True):
        parts.append((row.id, row.name, status, row.status_since, row.sla_target))
    return PageState(page, rows, statuses, rules_.state_version(parts, now, statuses))


async def public_page(session: AsyncSession, state: PageState, now: datetime) -> PublicPage:
    rows = state.rows
    ids = [row.id for row in rows]
    start, _ = rules_.bar_days(now)
    [seen] = await history.histories(session, ids, [(start, now)])
    services = []
    for row, status in zip(rows, state.statuses, strict=True):
        opening, changes = seen.get(row.id, (Status.UNKNOWN, []))
        cells = rules_.day_cells(opening, changes, row.created_at, now, row.sla_target)
        up = sum(c.up_s for c in cells)
        observed = up + sum(c.down_s for c in cells)
        uptime = 100.0 * up / observed if observed > 0 else None
        services.append(PublicService(row.name, status, cells, uptime))
    names = {row.id: row.name for row in rows}
    since = floor_day(now) - timedelta(days=rules_.RECENT_INCIDENT_DAYS)
    active: list[PublicIncident] = []
    recent: list[PublicIncident] = []
    for sid, started, recovered, resolved in await store.incidents_for(
        session, ids, since, MAX_INCIDENTS
    ):
        duration = ((recovered if resolved and recovered else now) - started).total_seconds()
        shown = PublicIncident(names[sid], started, recovered if resolved else None, duration)
        (recent if resolved else active).append(shown)
    return PublicPage(
        title=state.page.title,
        description=state.page.description,
        services=services,
        active=active,
        recent=recent,
        now=now,
    )
