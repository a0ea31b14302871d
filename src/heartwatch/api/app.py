"""The FastAPI application. It holds no resources of its own: the runtime is built (and
closed) by whoever serves the app, and reached through `app.state.runtime`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache

from fastapi import APIRouter, Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

import heartwatch
from heartwatch.api.auth import AUTH_RESPONSES, authorize
from heartwatch.api.body_limit import BodyLimitMiddleware
from heartwatch.api.errors import install_error_handlers
from heartwatch.api.fast_heartbeat import FastHeartbeat
from heartwatch.api.nul_guard import refuse_nul
from heartwatch.api.openapi_doc import install_openapi
from heartwatch.api.query_check import refuse_unknown_query
from heartwatch.api.routes import (
    channels,
    compat_healthchecks,
    compat_uptime_kuma,
    dev,
    health,
    heartbeats,
    incidents,
    keys,
    maintenance,
    metrics,
    schedules,
    services,
    state_history,
)
from heartwatch.runtime import Runtime
from heartwatch.statuspages import admin_router as status_pages_admin
from heartwatch.statuspages import page_cache
from heartwatch.statuspages import public_router as status_pages_public
from heartwatch.web import install as install_dashboard

DOCS_ASSETS = "/static/docs"


class _DevClockSync:
    """Dev mode: adopt a clock move made through another API process before answering."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.runtime.sync_clock()
        await self.app(scope, receive, send)


def create_app(runtime: Runtime) -> FastAPI:
    # /docs and /redoc load Swagger UI and ReDoc from the fastapi-offline package's own
    # copies (mounted at DOCS_ASSETS), not from a CDN: the docs work with no internet.
    app = FastAPIOffline(
        title="heartwatch",
        version=heartwatch.__version__,
        description="Service registry and uptime monitor: heartbeats in, statuses out.",
        static_url=DOCS_ASSETS,
        # Swagger UI's default sends the schema to an online validator: not offline.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.runtime = runtime
    app.state.service_listings = services.service_listings()
    install_error_handlers(app)
    install_openapi(app, runtime)
    app.state.status_pages = page_cache(dev_mode=runtime.settings.debug_mode)
    routes, protected = _route_table(dev_routes=runtime.settings.debug_mode)
    app.router.routes.extend(routes)
    # Which routes `authorize` guards (api/auth.py asks before a body's 422).
    app.state.protected_routes = protected
    if runtime.settings.debug_mode:
        app.add_middleware(_DevClockSync, runtime=runtime)
    # The web dashboard: its own access rule (a log-in session or an API key; web/access.py).
    install_dashboard(app)
    return app


@cache
def _route_table(*, dev_routes: bool) -> tuple[tuple[BaseRoute, ...], frozenset[int]]:
    """The API's routes, built once per process and shared by every app made in it, and
    the ids of those `authorize` guards.

    FastAPI works out each route's dependencies and validation models on the first
    request an app routes (per app, for every route of each router it looks through);
    a process that makes many apps on as many runtimes (the tests make one each) would
    pay for that every time. The routes hold nothing of an app: the runtime (and the
    status pages' cache) is reached through `request.app.state`. (So
    `app.dependency_overrides` does not reach them, which heartwatch does not use.)"""
    table = APIRouter()
    # Open to anyone: liveness and readiness (and the docs, which FastAPI serves).
    table.include_router(health.router)
    # Heartbeats need no API key (senders have their own rules: the ping key).
    for router in (heartbeats.router, compat_healthchecks.router, compat_uptime_kuma.router):
        table.include_router(router)
    # Public status pages and badges: open to anyone, showing no internals.
    table.include_router(status_pages_public())
    open_routes = len(table.routes)
    # Everything else needs an API key once access control is on (api/auth.py).
    protected = [
        services.router,
        schedules.router,
        maintenance.router,
        incidents.router,
        metrics.router,
        channels.router,
        state_history.router,
        keys.router,
        status_pages_admin,
    ]
    if dev_routes:
        protected.append(dev.router)
    for router in protected:
        table.include_router(
            router,
            # (after `authorize`: who may not ask hears 401/403 whatever the query)
            dependencies=[Depends(authorize), Depends(refuse_nul), Depends(refuse_unknown_query)],
            responses=AUTH_RESPONSES,
        )
    routes = tuple(table.routes)
    return routes, frozenset(_route_ids(routes[open_routes:]))


def _route_ids(routes: Iterable[BaseRoute]) -> Iterator[int]:
    """The ids of these routes and of the routes they include: FastAPI keeps an included
    router as one entry and matches (`scope["route"]`) the router's own routes."""
    for route in routes:
        yield id(route)
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            yield from _route_ids(included.routes)


def create_asgi_app(runtime: Runtime, *, fast_heartbeat: bool = True) -> ASGIApp:
    """What the server runs: the FastAPI app behind the heartbeat fast path (in front of
    FastAPI's own middleware stack, a noticeable share of a heartbeat's CPU:
    bench/ingest.py), all behind the request body limit. Without the fast path
    (`fast_heartbeat=False`) the FastAPI routes answer every ping, as they must answer
    alike: the tests compare the two."""
    app: ASGIApp = create_app(runtime)
    if fast_heartbeat:
        app = FastHeartbeat(app, runtime)
    return BodyLimitMiddleware(app, max_bytes=runtime.settings.max_request_bytes)
