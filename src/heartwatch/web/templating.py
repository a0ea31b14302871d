"""The dashboard's Jinja2 environment and the small formatting rules its pages share:
how a status is shown (colour, icon and word: never colour alone), how long ago, how
long."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from heartwatch.domain.status import Status
from heartwatch.web.access import CSRF_COOKIE, Viewer

HERE = Path(__file__).parent

# Icon (a text symbol, read out by screen readers with the word beside it) per status.
ICONS = {
    Status.ALIVE: "✔",
    Status.SILENT: "◐",
    Status.DOWN: "✖",
    Status.DEAD: "☠",
    Status.UNKNOWN: "?",
    Status.PAUSED: "‖",
}


def duration(seconds: float | None) -> str:
    """`45 s`, `3 min`, `2 h 5 min`, `3 d 4 h`: short and rounded down."""
    if seconds is None:
        return "—"
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s} s"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 3600:
        return f"{minutes} min"
    if s < 86400:
        rest = minutes - hours * 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours - days * 24
    return f"{days} d {rest} h" if rest else f"{days} d"


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    if seconds < 5:
        return "just now"
    return duration(seconds) + " ago"


def stamp(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f} %" if value < 100 else "100 %"


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(("html", "svg"), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(duration=duration, stamp=stamp, iso=iso, percent=percent)
ENV.globals.update(icons=ICONS, statuses=list(Status), ago=ago)


def render(
    request: Request, viewer: Viewer | None, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page, with the viewer's CSRF cookie set when it is new."""
    html = ENV.get_template(template).render(
        viewer=viewer, request_path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code)
    response.headers["Cache-Control"] = "no-store"
    if viewer is not None and viewer.new_csrf_cookie:
        set_csrf_cookie(request, response, viewer.csrf)
    return response


def secure(request: Request) -> bool:
    """Cookies are `Secure` behind TLS (the scheme as uvicorn read it, proxies' headers
    included when they are trusted)."""
    return request.url.scheme == "https"


def set_csrf_cookie(request: Request, response: HTMLResponse, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure(request), path="/"
    )
