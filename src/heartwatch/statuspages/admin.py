"""Defining status pages and handing out badge tokens: admin routes, behind the API's
access control (reads for a read key, changes for an admin, as everywhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from heartwatch.api import examples
from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.problems import problems
from heartwatch.runtime import Runtime
from heartwatch.services import badges, status_pages
from heartwatch.services.uptime import PERIODS
from heartwatch.statuspages.schemas import (
    BadgeOut,
    BadgeUrls,
    StatusPageIn,
    StatusPageList,
    StatusPageOut,
    StatusPagePatch,
)

router = APIRouter(tags=["status pages"])
NO_PAGE = problems(s404="no status page with that slug")
NO_SERVICE = problems(s404="no such service")


def base_url(runtime: Runtime, request: Request) -> str:
    """Where visitors reach heartwatch: HEARTWATCH_PUBLIC_URL, else this request's."""
    return (runtime.settings.public_url or str(request.base_url)).rstrip("/")


@router.get("/status-pages", response_model=StatusPageList)
async def list_pages(runtime: RuntimeDep, session: ReadSession, request: Request) -> StatusPageList:
    """Every status page, by slug, in one page (`next_cursor` is null)."""
    base = base_url(runtime, request)
    pages = await status_pages.list_pages(session)
    return StatusPageList(items=[StatusPageOut.of(page, base) for page in pages])


@router.get("/status-pages/{slug}", response_model=StatusPageOut, responses=NO_PAGE)
async def get_page(
    runtime: RuntimeDep, session: ReadSession, request: Request, slug: str
) -> StatusPageOut:
    """One status page's definition, and its public URL."""
    return StatusPageOut.of(await status_pages.get_page(session, slug), base_url(runtime, request))


@router.post(
    "/status-pages",
    response_model=StatusPageOut,
    status_code=201,
    responses=problems(s409="a status page with that slug exists"),
)
async def create_page(
    runtime: RuntimeDep,
    request: Request,
    body: Annotated[StatusPageIn, Body(openapi_examples=examples.STATUS_PAGE_IN)],
) -> StatusPageOut:
    """A public page at `/status/<slug>` showing the services listed by key and every
    service with one of the tags (at least one of the two; every key must exist)."""
    async with runtime.db.writing() as session:
        page = await status_pages.create_page(session, body.spec(), runtime.clock.now())
        return StatusPageOut.of(page, base_url(runtime, request))


@router.patch(
    "/status-pages/{slug}",
    response_model=StatusPageOut,
    responses=problems(s404="no status page with that slug", s409="the new slug is taken"),
)
async def update_page(
    runtime: RuntimeDep,
    request: Request,
    slug: str,
    body: Annotated[StatusPagePatch, Body(openapi_examples=examples.STATUS_PAGE_PATCH)],
) -> StatusPageOut:
    """Change what is given; a new slug moves the page (the old URL answers 404)."""
    async with runtime.db.writing() as session:
        page = await status_pages.update_page(session, slug, body.changes(), runtime.clock.now())
        return StatusPageOut.of(page, base_url(runtime, request))


@router.delete("/status-pages/{slug}", status_code=204, response_class=Response, responses=NO_PAGE)
async def delete_page(runtime: RuntimeDep, slug: str) -> Response:
    """Delete a status page: its URL answers 404 from now on."""
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
@router.get("/services/{id}/badge", response_model=BadgeOut, responses=NO_SERVICE)
async def badge(runtime: RuntimeDep, request: Request, id: str) -> BadgeOut:
    """The service's badge URLs and ready-to-paste Markdown (its token made if new)."""
    async with runtime.db.writing() as session:
        row, token = await badges.token_for(session, id, runtime.clock.now())
        return _badge_out(base_url(runtime, request), row.key, token)


@router.post("/services/{id}/badge-token", response_model=BadgeOut, responses=NO_SERVICE)
async def rotate_badge_token(runtime: RuntimeDep, request: Request, id: str) -> BadgeOut:
    """A new badge token: every badge URL with the old one answers 404 from now on."""
    async with runtime.db.writing() as session:
        row, token = await badges.rotate(session, id, runtime.clock.now())
        return _badge_out(base_url(runtime, request), row.key, token)
