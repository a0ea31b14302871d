"""Badges: measured text, well-formed SVG, colours from the service's own SLA target."""

from __future__ import annotations

import runpy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heartwatch.domain import badge_font
from heartwatch.domain.badges import (
    Badge,
    Color,
    format_percent,
    latency_badge,
    latency_color,
    render_svg,
    shields_endpoint,
    status_badge,
    text_width,
    uptime_badge,
    uptime_color,
)
from heartwatch.domain.status import Status

SVG = "{http://www.w3.org/2000/svg}"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ROOT = Path(__file__).resolve().parents[2]


def test_the_width_table_is_what_the_generator_reads_from_the_font() -> None:
    if not FONT.exists():
        pytest.skip(f"{FONT} is not installed")
    generator = runpy.run_path(str(ROOT / "tools/gen_badge_font.py"))
    name, widths = generator["widths"](FONT)
    assert name == FONT.name
    assert widths == badge_font.WIDTHS
    assert len(widths) == 95  # printable ASCII


def test_text_is_measured_per_character() -> None:
    assert text_width("") == 0
    assert text_width("iii") < text_width("mmm")
    assert text_width("ab") == pytest.approx(text_width("a") + text_width("b"))
    assert text_width("é") == text_width("M")  # outside the table: a wide letter


@given(st.text(min_size=0, max_size=80), st.text(min_size=0, max_size=80), st.sampled_from(Color))
def test_every_badge_is_well_formed_svg(label: str, message: str, color: Color) -> None:
    # XML 1.0 cannot carry most control characters at all; badges show printable text.
    label = "".join(ch for ch in label if ch.isprintable())
    message = "".join(ch for ch in message if ch.isprintable())
    root = ET.fromstring(render_svg(Badge(label, message, color)))
    assert root.tag == f"{SVG}svg"
    title = root.findtext(f"{SVG}title") or ""
    assert title.startswith(label[:63])
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert len(texts) == 4
    width = float(root.get("width", "0"))
    assert width >= 24  # padding on both sides of both parts


def test_the_badge_is_as_wide_as_its_text() -> None:
    short = ET.fromstring(render_svg(Badge("status", "up", Color.GREEN)))
    long = ET.fromstring(render_svg(Badge("status", "unknown", Color.GREY)))
    grown = float(long.get("width", "0")) - float(short.get("width", "0"))
    assert grown == pytest.approx(text_width("unknown") - text_width("up"), abs=1)


def test_uptime_colour_follows_the_services_own_target() -> None:
    assert uptime_color(99.95, 99.9) is Color.GREEN
    assert uptime_color(99.85, 99.9) is Color.YELLOW  # within twice the allowed downtime
    assert uptime_color(99.7, 99.9) is Color.RED
    assert uptime_color(99.7, 99.0) is Color.GREEN  # a looser target
    assert uptime_color(98.5, 99.0) is Color.YELLOW
    assert uptime_color(97.5, 99.0) is Color.RED
    assert uptime_color(100.0, 100.0) is Color.GREEN
    assert uptime_color(99.99999999999999, 100.0) is Color.GREEN  # a rounding error
    assert uptime_color(99.999, 100.0) is Color.YELLOW
    assert uptime_color(None, 99.0) is Color.GREY
    assert uptime_color(99.5, None) is Color.GREEN  # the default target, 99%


def test_badge_texts() -> None:
    assert status_badge(Status.DEAD) == Badge("status", "down", Color.RED)
    assert status_badge(Status.SILENT).color is Color.YELLOW
    assert uptime_badge("30d", 99.95, 99.9) == Badge("uptime 30d", "99.95%", Color.GREEN)
    assert uptime_badge("7d", None, None).message == "no data"
    assert latency_badge(123.4, 1000) == Badge("p95 latency 24h", "123 ms", Color.GREEN)
    assert latency_badge(None, 1000).color is Color.GREY
    assert latency_color(700, 1000) is Color.YELLOW
    assert latency_color(900, 1000) is Color.RED
    assert latency_color(900, None) is Color.BLUE


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100.0, "100%"),
        (99.99999999999999, "100%"),
        (100.00000000000001, "100%"),
        (99.99999, "99.9999%"),
        (99.95, "99.95%"),
        (99.9, "99.9%"),
        (12.345, "12.35%"),
    ],
)
def test_format_percent_never_rounds_up_to_100(value: float, text: str) -> None:
    assert format_percent(value) == text


def test_shields_endpoint_document() -> None:
    assert shields_endpoint(Badge("status", "up", Color.GREEN)) == {
        "schemaVersion": 1,
        "label": "status",
        "message": "up",
        "color": "brightgreen",
    }
