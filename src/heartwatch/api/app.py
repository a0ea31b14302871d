"""The FastAPI application. It holds no resources of its own: the runtime is built (and
closed) by whoever serves the app, and reached through `app.state.runtime`."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Depends, FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

import heartwatch
from heartwatch.api.auth import AUTH_RESPONSES, authorize
from heartwatch.api.body_limit import BodyLimitMiddleware
from heartwatch.api.errors import install_error_handlers
from heartwatch.api.fast_heartbeat import FastHeartbeat
from heartwatch.api.routes import (
    channels,
    compat_healthchecks,
    compat_uptime_kuma,
    dev,
    health,
    heartbeats,
    incidents,
    keys,
    metrics,
    services,
    state_history,
)
from heartwatch.runtime import Runtime


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
    app = FastAPI(
        title="heartwatch",
        version=heartwatch.__version__,
        description="Service registry and uptime monitor: heartbeats in, statuses out.",
    )
    app.state.runtime = runtime
    app.state.service_listings = services.service_listings()
    install_error_handlers(app)
    app.router.routes.extend(_route_table(dev_routes=runtime.settings.debug_mode))
    if runtime.settings.debug_mode:
        app.add_middleware(_DevClockSync, runtime=runtime)
    return app


@cache
def _route_table(*, dev_routes: bool) -> tuple[BaseRoute, ...]:
    """The API's routes, built once per process and shared by every app made in it.

    FastAPI works out each route's dependencies and validation models on the first
    request an app routes (per app, for every route of each router it looks through);
    a process that makes many apps on as many runtimes (the tests make one each) would
    pay for that every time. The routes hold nothing of an app: the runtime is reached
    through `request.app.state`. (So `app.dependency_overrides` does not reach them,
    which heartwatch does not use.)"""
    table = APIRouter()
    # Open to anyone: liveness and readiness (and the docs, which FastAPI serves).
    table.include_router(health.router)
    # Heartbeats need no API key (senders have their own rules: the ping key).
    for router in (heartbeats.router, compat_healthchecks.router, compat_uptime_kuma.router):
        table.include_router(router)
    # Everything else needs an API key once access control is on (api/auth.py).
    protected = [
        services.router,
        incidents.router,
        metrics.router,
        channels.router,
        state_history.router,
        keys.router,
    ]
    if dev_routes:
        protected.append(dev.router)
    for router in protected:
        table.include_router(router, dependencies=[Depends(authorize)], responses=AUTH_RESPONSES)
    return tuple(table.routes)


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
