"""Small pieces every bot message is made of: escaping, durations, times, splitting.

Messages use Telegram's HTML parse mode; everything that comes from a user or a service
(names, keys, errors) goes through `esc`, so a service named `<b>` or `a&b` shows as
written and cannot break the message.
"""

from __future__ import annotations

import html
import math
from datetime import datetime

# Telegram refuses a text over 4096 UTF-16 code units, counted after the markup is parsed.
MESSAGE_LIMIT = 4096
# Long names and errors are cut, so that one line always fits in a message.
MAX_FIELD_CHARS = 200


def esc(text: object, limit: int = MAX_FIELD_CHARS) -> str:
    value = str(text)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value, quote=False)


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def duration(seconds: float) -> str:
    """`45s`, `12m`, `2h 5m`, `3d 4h`: two units at most, never negative."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
# The API's own bound on a mute (a year).
MAX_MUTE_MINUTES = 366 * 24 * 60


def parse_duration(text: str) -> float | None:
    """`30m`, `2h`, `1d`, `1w` in minutes; None for anything else."""
    text = text.strip().lower()
    number, unit = text[:-1], text[-1:]
    if unit not in _UNIT_MINUTES or not number.isdigit() or int(number) == 0:
        return None
    minutes = int(number) * _UNIT_MINUTES[unit]
    return float(minutes) if minutes <= MAX_MUTE_MINUTES else None


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{duration((now - moment).total_seconds())} ago"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def percent(value: object) -> str:
    if not isinstance(value, int | float):
        return "n/a"
    if value >= 100:
        return "100%"
    # Rounded down: 99.999% must not read as 100% while there was downtime.
    return f"{math.floor(value * 100) / 100:.2f}%"


def split_messages(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """`lines` packed into as few messages as fit, each under `limit`, breaking only at
    line boundaries (a line never opens a tag it does not close, so each message is
    well-formed on its own). A single line over the limit is cut (it cannot happen with
    `esc`'s limits; this keeps the promise anyway)."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        # Telegram counts what is shown, the markup parsed away.
        if units(plain(line)) > limit:
            line = esc(plain(line), limit // 2)
        extra = units(plain(line)) + (1 if current else 0)
        if current and size + extra > limit:
            messages.append("\n".join(current))
            current, size = [], 0
            extra = units(plain(line))
        current.append(line)
        size += extra
    if current and any(line.strip() for line in current):
        messages.append("\n".join(current))
    return messages


def plain(html_text: str) -> str:
    """What a user sees of `html_text` (for the places that take no markup)."""
    return html.unescape(_strip_tags(html_text))


def _strip_tags(line: str) -> str:
    out: list[str] = []
    inside = False
    for char in line:
        if char == "<":
            inside = True
        elif char == ">" and inside:
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)
