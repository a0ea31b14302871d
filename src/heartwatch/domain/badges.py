"""Badges: what a service's status, uptime and latency look like as a flat two-part SVG
(label on grey, message on a colour), and as a shields.io endpoint document.

Pure: the caller brings the figures. Text is measured with the width table in
`badge_font` (generated from the font's own metrics), and the SVG pins each text's
length (`textLength`), so the badge looks the same whichever sans-serif the viewer has.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from heartwatch.domain.badge_font import FONT_SIZE_PX, WIDTHS
from heartwatch.domain.status import Status

# Characters outside the table (non-ASCII) are measured as a wide letter: a badge that
# is a little too wide reads fine, one too narrow clips its text.
_FALLBACK_WIDTH = WIDTHS["M"]
_PADDING_PX = 6  # each side of each text
_HEIGHT_PX = 20
_MAX_TEXT = 64
# A percentage computed from float sums can miss its exact value by this much.
_ROUNDING = 1e-9
# Without a target of its own, a service is held to this uptime (percent).
DEFAULT_SLA = 99.0


class Color(StrEnum):
    """The colours a badge message may have, named as shields.io names them."""

    GREEN = "brightgreen"
    YELLOW = "yellow"
    RED = "red"
    GREY = "lightgrey"
    BLUE = "blue"


HEX = {
    Color.GREEN: "#3fa535",
    Color.YELLOW: "#d6a800",
    Color.RED: "#d9473d",
    Color.GREY: "#8a8a8a",
    Color.BLUE: "#1f78c1",
}
_LABEL_HEX = "#555"


@dataclass(frozen=True, slots=True)
class Badge:
    label: str
    message: str
    color: Color


def text_width(text: str) -> float:
    return sum(WIDTHS.get(ch, _FALLBACK_WIDTH) for ch in text)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def render_svg(badge: Badge) -> str:
    """The badge as a standalone SVG document (with a <title> for screen readers)."""
    label, message = _clip(badge.label), _clip(badge.message)
    label_text, message_text = text_width(label), text_width(message)
    label_w = round(label_text + 2 * _PADDING_PX)
    message_w = round(message_text + 2 * _PADDING_PX)
    width = label_w + message_w
    title = f"{label}: {message}"
    baseline = 14
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT_PX}" '
        f'role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        f'<linearGradient id="s" x2="0" y2="100%">'
        f'<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        f'<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="{_HEIGHT_PX}" rx="3" fill="#fff"/>'
        f"</clipPath>"
        f'<g clip-path="url(#r)">'
        f'<rect width="{label_w}" height="{_HEIGHT_PX}" fill="{_LABEL_HEX}"/>'
        f'<rect x="{label_w}" width="{message_w}" height="{_HEIGHT_PX}" '
        f'fill="{HEX[badge.color]}"/>'
        f'<rect width="{width}" height="{_HEIGHT_PX}" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" '
        f'font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="{FONT_SIZE_PX}">'
        f'<text x="{label_w / 2:g}" y="{baseline + 1}" fill="#010101" fill-opacity=".3" '
        f'textLength="{label_text:.1f}">{escape(label)}</text>'
        f'<text x="{label_w / 2:g}" y="{baseline}" textLength="{label_text:.1f}">'
        f"{escape(label)}</text>"
        f'<text x="{label_w + message_w / 2:g}" y="{baseline + 1}" fill="#010101" '
        f'fill-opacity=".3" textLength="{message_text:.1f}">{escape(message)}</text>'
        f'<text x="{label_w + message_w / 2:g}" y="{baseline}" '
        f'textLength="{message_text:.1f}">{escape(message)}</text>'
        f"</g></svg>"
    )


def shields_endpoint(badge: Badge) -> dict[str, Any]:
    """The shields.io endpoint badge document (https://shields.io/badges/endpoint-badge)."""
    return {
        "schemaVersion": 1,
        "label": badge.label,
        "message": badge.message,
        "color": badge.color.value,
    }


# The status words a badge (and a public status page) shows: what a visitor understands.
STATUS_WORDS = {
    Status.ALIVE: "up",
    Status.SILENT: "late",
    Status.DOWN: "down",
    Status.DEAD: "down",
    Status.UNKNOWN: "unknown",
    Status.PAUSED: "paused",
}
STATUS_COLORS = {
    Status.ALIVE: Color.GREEN,
    Status.SILENT: Color.YELLOW,
    Status.DOWN: Color.RED,
    Status.DEAD: Color.RED,
    Status.UNKNOWN: Color.GREY,
    Status.PAUSED: Color.GREY,
}


def status_badge(status: Status) -> Badge:
    return Badge("status", STATUS_WORDS[status], STATUS_COLORS[status])


def uptime_color(uptime_percent: float | None, sla_target: float | None) -> Color:
    """Green at or above the service's SLA target, yellow when near it (down no more than
    twice the downtime the target allows), red below that; grey with nothing observed."""
    if uptime_percent is None:
        return Color.GREY
    target = DEFAULT_SLA if sla_target is None else sla_target
    if uptime_percent >= target - _ROUNDING:
        return Color.GREEN
    if uptime_percent >= target - max(100.0 - target, 0.01):
        return Color.YELLOW
    return Color.RED


def format_percent(value: float) -> str:
    """Enough digits to tell 99.9 from 99.99, never "100%" for a little downtime. (A
    ratio of float sums can miss 100 by a rounding error: that is 100.)"""
    if value >= 100.0 - _ROUNDING:
        return "100%"
    for digits in (2, 3, 4):
        text = f"{value:.{digits}f}"
        if float(text) < 100.0:
            return f"{text.rstrip('0').rstrip('.')}%"
    return "99.9999%"


def uptime_badge(period: str, uptime_percent: float | None, sla_target: float | None) -> Badge:
    message = "no data" if uptime_percent is None else format_percent(uptime_percent)
    return Badge(f"uptime {period}", message, uptime_color(uptime_percent, sla_target))


def latency_color(latency_ms: float | None, timeout_ms: int | None) -> Color:
    """Against the service's own timeout: green under half of it, yellow under 80%, red
    beyond; blue (no verdict) for a service without a timeout."""
    if latency_ms is None:
        return Color.GREY
    if not timeout_ms:
        return Color.BLUE
    if latency_ms < 0.5 * timeout_ms:
        return Color.GREEN
    if latency_ms < 0.8 * timeout_ms:
        return Color.YELLOW
    return Color.RED


def format_ms(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f} s"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def latency_badge(p95_ms: float | None, timeout_ms: int | None) -> Badge:
    message = "no data" if p95_ms is None else format_ms(p95_ms)
    return Badge("p95 latency 24h", message, latency_color(p95_ms, timeout_ms))
