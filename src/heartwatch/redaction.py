"""The last line of defence of the logs: every line written, whoever wrote it (heartwatch,
uvicorn's access log, httpx, a traceback), has credentials masked before it leaves.

heartwatch itself logs no secret (channel errors are redacted where they are made,
database statements are logged without their parameters); this catches what libraries
quote: a request line with `?ping_key=...` or `/ping/<key>/...`, a URL with a Telegram
bot token in its path, an `Authorization:` header echoed in an error, an API key. The
operator's own secrets (the ping key, the admin key, the Telegram token) are masked
wherever they appear, by value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

MASK: Final = "••••"

# Kept short of the value that follows: `Bearer` stays, so a reader sees which scheme.
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # An API key anywhere: hwk_<id>_<secret>; the id is public, the secret is not.
    (re.compile(r"\b(hwk_[A-Za-z0-9]{12}_)[A-Za-z0-9]+"), rf"\g<1>{MASK}"),
    # Credentials in headers, as a line or a repr quotes them.
    (
        re.compile(
            r"(?i)\b((?:authorization|proxy-authorization|x-api-key|x-ping-key|cookie|"
            r"set-cookie)(?:['\"]?\s*[:=]\s*|['\"]\s*,\s*b?)['\"]?"
            r"(?:(?:bearer|basic|token)\s+)?)[^\s'\",;)}\]]+"
        ),
        rf"\g<1>{MASK}",
    ),
    # Credentials in a query string.
    (
        re.compile(
            r"(?i)([?&;](?:ping_key|api_key|apikey|key|token|access_token|auth|password|"
            r"passwd|secret|signature|sig|routing_key)=)[^&\s'\"#]+"
        ),
        rf"\g<1>{MASK}",
    ),
    # Ping URLs: /ping/<ping key>/<slug>, /ping/<uuid>, /api/push/<push token>.
    (re.compile(r"(/ping/|/api/push/)[^/\s?'\"#]+"), rf"\g<1>{MASK}"),
    # A Telegram Bot API URL: /bot<token>/sendMessage.
    (re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"), rf"\g<1>{MASK}"),
    # user:password@ in a URL.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]*:)[^\s/@'\"]+@"), rf"\g<1>{MASK}@"),
)


class Redactor:
    """Masks known secrets (by value) and everything that looks like a credential."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole. Very short
        # values would mask ordinary words and are no secrets anyway.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text
