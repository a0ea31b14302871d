"""A public page as HTML: the template gets plain, already-worded values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from heartwatch.domain import status_pages as rules
from heartwatch.domain.badges import format_percent
from heartwatch.services.status_pages import PublicIncident, PublicPage

_TEMPLATES = "heartwatch.statuspages"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(_TEMPLATES, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def _css() -> str:
    return (resources.files(_TEMPLATES) / "templates" / "status.css").read_text()


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class _Cell:
    color: str  # its class: the page's stylesheet colours it, for light and dark alike
    title: str


@dataclass(frozen=True, slots=True)
class _Incident:
    service_name: str
    started_iso: str
    started_text: str
    recovered_iso: str
    recovered_text: str
    duration_text: str


def _incident(incident: PublicIncident) -> _Incident:
    recovered = incident.recovered_at
    return _Incident(
        service_name=incident.service_name,
        started_iso=incident.started_at.isoformat(),
        started_text=_when(incident.started_at),
        recovered_iso=recovered.isoformat() if recovered else "",
        recovered_text=_when(recovered) if recovered else "",
        duration_text=rules.duration_text(incident.duration_s),
    )


def render_page(page: PublicPage) -> str:
    services: list[dict[str, Any]] = []
    for service in page.services:
        uptime = service.uptime_percent
        services.append(
            {
                "name": service.name,
                "look": rules.look_of(service.status),
                "cells": [_Cell(c.color.value, rules.cell_title(c)) for c in service.cells],
                "uptime_text": "no data" if uptime is None else f"{format_percent(uptime)} up",
            }
        )
    return (
        _environment()
        .get_template("status.html")
        .render(
            page=page,
            css=_css(),
            banner=rules.overall(s.status for s in page.services),
            services=services,
            days=rules.BAR_DAYS,
            bar_width=rules.BAR_DAYS * 4 - 1,
            active=[_incident(i) for i in page.active],
            recent=[_incident(i) for i in page.recent],
            recent_days=rules.RECENT_INCIDENT_DAYS,
            now_iso=page.now.isoformat(),
            now_text=_when(page.now),
        )
    )
