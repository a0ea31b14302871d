"""Validation shared by the notifiers' settings. A message never quotes a value that
may be a credential (a webhook URL with its token): errors are shown and logged."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

# RFC 9110 token characters, the only ones allowed in a header name.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def check_web_url(
    value: str, *, quote: bool = True, shown_as: Callable[[str], str] | None = None
) -> str:
    """`value` stripped, if it is an absolute http(s) URL with a host; ValueError
    otherwise, naming the value only when `quote`, as `shown_as` shows it (masked)."""
    url = value.strip()
    shown = f" {(shown_as(url) if shown_as else url)!r}" if quote else ""
    try:
        parts = urlsplit(url)
        port_ok = _port_ok(parts.port)
    except ValueError:
        raise ValueError(f"URL{shown} is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"URL{shown} must start with https:// or http://")
    if not parts.hostname:
        raise ValueError(f"URL{shown} has no host")
    if not port_ok:
        raise ValueError(f"URL{shown} has a bad port")
    if any(char.isspace() for char in url):
        raise ValueError(f"URL{shown} has a space in it")
    return url


def _port_ok(port: int | None) -> bool:
    return port is None or 0 < port < 65536
