"""Charts drawn on the server as SVG (no script, no library): the daily uptime bar."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from markupsafe import Markup

from heartwatch.services.dashboard import Day

CELL_W = 8
GAP = 2
HEIGHT = 28


def _fill(uptime: float | None) -> str:
    # Classes, so the colours follow the stylesheet's light and dark palettes.
    if uptime is None:
        return "bar-none"
    if uptime >= 99.95:
        return "bar-up"
    return "bar-partial" if uptime >= 95.0 else "bar-down"


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)} min"


def uptime_bar(days: Sequence[Day]) -> Markup:
    """One cell a day, oldest left; each cell's title (hover, or focus with a screen
    reader) says the day's uptime and down minutes; the whole has a text summary."""
    width = len(days) * (CELL_W + GAP) - GAP
    up = sum(d.up_s for d in days)
    observed = up + sum(d.down_s for d in days)
    summary = f"uptime over {len(days)} days: " + (
        f"{100.0 * up / observed:.2f} %" if observed else "no data"
    )
    cells = []
    for i, day in enumerate(days):
        percent = day.uptime_percent
        label = f"{day.start:%Y-%m-%d}: " + (
            "no data" if percent is None else f"{percent:.2f} % up, {_minutes(day.down_s)} down"
        )
        cells.append(
            f'<rect x="{i * (CELL_W + GAP)}" y="0" width="{CELL_W}" height="{HEIGHT}" rx="1" '
            f'class="{_fill(percent)}"><title>{Markup.escape(label)}</title></rect>'
        )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="uptime-bar" role="img" '
        f'viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}" '
        f"aria-label={quoteattr(summary)}>" + "".join(cells) + "</svg>"
    )
