"""The public face: status pages and badges, open to anyone (no key, no log-in).

They show a service's name, status, uptime and latency and nothing else: no key, id,
endpoint, error text or configuration. Badges are found by their token alone, so a
badge URL says nothing about the service's ping URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from heartwatch.api.deps import RuntimeDep
from heartwatch.domain.badges import Badge, render_svg, shields_endpoint
from heartwatch.runtime import Runtime
from heartwatch.services import badges, status_pages
from heartwatch.services.errors import NotFound
from heartwatch.services.uptime import PERIODS
from heartwatch.statuspages import answers
from heartwatch.statuspages.cache import PageCache, Rendered
from heartwatch.statuspages.render import render_page

PAGE_MAX_AGE_S = 5
BADGE_MAX_AGE_S = 60
# How long a page's version, once read, is trusted without reading it again.
VERSION_FRESH_S = 1.0
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"
_BADGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weakly compared, as for GET)."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def accepts_gzip(accept_encoding: str | None) -> bool:
    for item in (accept_encoding or "").split(","):
        name, _, params = item.partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip()
            return not q or (q.replace(".", "", 1).isdigit() and float(q) > 0)
    return False


def _cached(
    request: Request,
    etag: str,
    body: bytes,
    media_type: str,
    max_age: int,
    csp: str,
    gzipped: bytes | None = None,
) -> Response:
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": csp,
    }
    if gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if gzipped is not None and accepts_gzip(request.headers.get("accept-encoding")):
        headers["Content-Encoding"] = "gzip"
        body = gzipped
    return Response(body, media_type=media_type, headers=headers)


def page_cache(*, dev_mode: bool) -> PageCache:
    """An app's cache of rendered status pages (`app.state.status_pages`). In dev mode
    the version is read on every request: the clock may move."""
    return PageCache(0.0 if dev_mode else VERSION_FRESH_S)


def public_router() -> APIRouter:
    """The public routes; each app keeps its own page cache in `app.state.status_pages`
    (the routes are shared by every app of a process: api/app.py)."""
    router = APIRouter(tags=["public"])

    async def rendered(runtime: Runtime, request: Request, slug: str) -> Rendered:
        pages: PageCache = request.app.state.status_pages
        found = pages.fresh(slug, time.monotonic())
        if found is not None:
            return found
        async with pages.lock(slug):
            found = pages.fresh(slug, time.monotonic())  # read by whom we waited for
            if found is not None:
                return found
            now = runtime.clock.now()
            async with runtime.db.reading() as session:
                state = await status_pages.page_state(session, slug, runtime.rules, now)
                if state is None:
                    pages.forget(slug)
                    raise NotFound(f"no status page {slug!r}")
                previous = pages.get(slug)
                if previous is not None and previous.version == state.version:
                    body, packed, etag = previous.body, previous.gzipped, previous.etag
                else:
                    view = await status_pages.public_page(session, state, now)
                    body, etag = render_page(view).encode(), f'"{state.version}"'
                    packed = gzip.compress(body, compresslevel=6, mtime=0)
            found = Rendered(state.version, etag, body, packed, time.monotonic())
            pages.put(slug, found)
            return found

    @router.get(
        "/status/{slug}", response_class=Response, responses=answers.PAGE, summary="A status page"
    )
    async def status_page(runtime: RuntimeDep, request: Request, slug: str) -> Response:
        """A status page, as HTML: no log-in, no internals. Cached on the state version
        (ETag; 304 for a visitor who has it)."""
        page = await rendered(runtime, request, slug)
        return _cached(
            request,
            page.etag,
            page.body,
            "text/html; charset=utf-8",
            PAGE_MAX_AGE_S,
            _PAGE_CSP,
            page.gzipped,
        )

    async def badge_of(runtime: Runtime, token: str, kind: str, period: str | None) -> Badge:
        if period is not None and period not in PERIODS:
            raise NotFound(f"no metric period {period!r}: one of {', '.join(PERIODS)}")
        now = runtime.clock.now()
        async with runtime.db.reading() as session:
            row = await badges.service_of(session, token)
            if row is None:
                raise NotFound("no such badge (its token may have been rotated)")
            if kind == "status":
                return badges.status_badge(row, runtime.rules, now)
            if kind == "latency":
                return await badges.latency_badge(session, row, now)
            assert period is not None
            return await badges.uptime_badge(session, row, period, now)

    def answer(request: Request, badge: Badge, as_json: bool) -> Response:
        if as_json:
            body = bytes(JSONResponse(shields_endpoint(badge)).body)
            media_type = "application/json"
        else:
            body = render_svg(badge).encode()
            media_type = "image/svg+xml; charset=utf-8"
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        return _cached(request, etag, body, media_type, BADGE_MAX_AGE_S, _BADGE_CSP)

    @router.get(
        "/badge/{token}/status.svg",
        response_class=Response,
        responses=answers.SVG,
        summary="Status badge (SVG)",
    )
    async def status_svg(runtime: RuntimeDep, request: Request, token: str) -> Response:
        """The service's status as a flat SVG badge."""
        return answer(request, await badge_of(runtime, token, "status", None), False)

    @router.get(
        "/badge/{token}/status.json",
        response_class=Response,
        responses=answers.SHIELDS,
        summary="Status badge (shields.io)",
    )
    async def status_json(runtime: RuntimeDep, request: Request, token: str) -> Response:
        """The same, as a shields.io endpoint document."""
        return answer(request, await badge_of(runtime, token, "status", None), True)

    @router.get(
        "/badge/{token}/uptime/{period}.svg",
        response_class=Response,
        responses=answers.SVG,
        summary="Uptime badge (SVG)",
    )
    async def uptime_svg(
        runtime: RuntimeDep, request: Request, token: str, period: str
    ) -> Response:
        """Uptime over a metric period (24h, 7d, 30d, 90d, 365d), coloured by the
        service's SLA target."""
        return answer(request, await badge_of(runtime, token, "uptime", period), False)

    @router.get(
        "/badge/{token}/uptime/{period}.json",
        response_class=Response,
        responses=answers.SHIELDS,
        summary="Uptime badge (shields.io)",
    )
    async def uptime_json(
        runtime: RuntimeDep, request: Request, token: str, period: str
    ) -> Response:
        """The uptime badge as a shields.io endpoint document."""
        return answer(request, await badge_of(runtime, token, "uptime", period), True)

    @router.get(
        "/badge/{token}/latency.svg",
        response_class=Response,
        responses=answers.SVG,
        summary="Latency badge (SVG)",
    )
    async def latency_svg(runtime: RuntimeDep, request: Request, token: str) -> Response:
        """p95 check latency over 24 hours (probe services), coloured by the timeout."""
        return answer(request, await badge_of(runtime, token, "latency", None), False)

    @router.get(
        "/badge/{token}/latency.json",
        response_class=Response,
        responses=answers.SHIELDS,
        summary="Latency badge (shields.io)",
    )
    async def latency_json(runtime: RuntimeDep, request: Request, token: str) -> Response:
        """The latency badge as a shields.io endpoint document."""
        return answer(request, await badge_of(runtime, token, "latency", None), True)

    return router
