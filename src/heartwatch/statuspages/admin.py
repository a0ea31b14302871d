"""Defining status pages and handing out badge tokens: admin routes, behind the API's
access control (reads for a read key, changes for an admin, as everywhere)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.runtime import Runtime
from heartwatch.services import badges, status_pages
from heartwatch.services.uptime import PERIODS
from heartwatch.statuspages.schemas import (
    BadgeOut,
    BadgeUrls,
    StatusPageIn,
    StatusPageOut,
    StatusPagePatch,
)

router = APIRouter(tags=["status pages"])


def base_url(runtime: Runtime, request: Request) -> str:
    """Where visitors reach heartwatch: HEARTWATCH_PUBLIC_URL, else this request's."""
    return (runtime.settings.public_url or str(request.base_url)).rstrip("/")


@router.get("/status-pages", response_model=list[StatusPageOut])
async def list_pages(
    runtime: RuntimeDep, session: ReadSession, request: Request
) -> list[StatusPageOut]:
    """Every status page, by slug."""
    base = base_url(runtime, request)
    return [StatusPageOut.of(page, base) for page in await status_pages.list_pages(session)]


@router.get("/status-pages/{slug}", response_model=StatusPageOut)
async def get_page(
    runtime: RuntimeDep, session: ReadSession, request: Request, slug: str
) -> StatusPageOut:
    return StatusPageOut.of(await status_pages.get_page(session, slug), base_url(runtime, request))


@router.post("/status-pages", response_model=StatusPageOut, status_code=201)
async def create_page(runtime: RuntimeDep, request: Request, body: StatusPageIn) -> StatusPageOut:
    """A public page at `/status/<slug>` showing the services listed by key and every
    service with one of the tags (at least one of the two; every key must exist)."""
    async with runtime.db.writing() as session:
        page = await status_pages.create_page(session, body.spec(), runtime.clock.now())
        return StatusPageOut.of(page, base_url(runtime, request))


@router.patch("/status-pages/{slug}", response_model=StatusPageOut)
async def update_page(
    runtime: RuntimeDep, request: Request, slug: str, body: StatusPagePatch
) -> StatusPageOut:
    """Change what is given; a new slug moves the page (the old URL answers 404)."""
    async with runtime.db.writing() as session:
        page = await status_pages.update_page(session, slug, body.changes(), runtime.clock.now())
        return StatusPageOut.of(page, base_url(runtime, request))


@router.delete("/status-pages/{slug}", status_code=204)
async def delete_page(runtime: RuntimeDep, slug: str) -> Response:
    async with runtime.db.writing() as session:
        await status_pages.delete_page(session, slug)
    return Response(status_code=204)


def _badge_out(base: str, key: str, token: str) -> BadgeOut:
    root = f"{base}/badge/{token}"
    urls = BadgeUrls(
        status=f"{root}/status.svg",
        uptime={period: f"{root}/uptime/{period}.svg" for period in PERIODS},
        latency=f"{root}/latency.svg",
        shields={
            "status": f"{root}/status.json",
            **{f"uptime_{p}": f"{root}/uptime/{p}.json" for p in PERIODS},
            "latency": f"{root}/latency.json",
        },
    )
    markdown = {
        "status": f"![status of {key}]({urls.status})",
        **{f"uptime_{p}": f"![uptime {p} of {key}]({u})" for p, u in urls.uptime.items()},
        "latency": f"![latency of {key}]({urls.latency})",
    }
    return BadgeOut(service_key=key, token=token, urls=urls, markdown=markdown)


# A GET that may write: a service's first badge request makes its token. (Not in a read
# session: SQLite would refuse the write there.)
@router.get("/services/{id}/badge", response_model=BadgeOut)
async def badge(runtime: RuntimeDep, request: Request, id: str) -> BadgeOut:
    """The service's badge URLs and ready-to-paste Markdown (its token made if new)."""
    async with runtime.db.writing() as session:
        row, token = await badges.token_for(session, id, runtime.clock.now())
        return _badge_out(base_url(runtime, request), row.key, token)


@router.post("/services/{id}/badge-token", response_model=BadgeOut)
async def rotate_badge_token(runtime: RuntimeDep, request: Request, id: str) -> BadgeOut:
    """A new badge token: every badge URL with the old one answers 404 from now on."""
    async with runtime.db.writing() as session:
        row, token = await badges.rotate(session, id, runtime.clock.now())
        return _badge_out(base_url(runtime, request), row.key, token)
