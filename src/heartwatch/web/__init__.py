"""The web dashboard: server-rendered pages (Jinja2) served by the API process, with
live updates over Server-Sent Events. See the README's "Dashboard"."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from heartwatch.web import assets, channels, forms, incidents, keys, live, login, pages
from heartwatch.web.access import LoginRequired, login_url


def install(app: FastAPI) -> None:
    """Mount the dashboard on the API's app (api/app.py)."""
    app.state.login_limits = login.LoginLimits()
    app.state.web_versions = live.VersionCache()

    @app.exception_handler(LoginRequired)
    async def _to_login(_: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), 303)

    for router in (
        assets.router,
        login.router,
        pages.router,
        forms.router,
        incidents.router,
        channels.router,
        keys.router,
        live.router,
    ):
        app.include_router(router)
