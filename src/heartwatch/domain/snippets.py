"""What the far end said, quoted in an error text so that it can be told apart.

A check's or a delivery's error often quotes what came back ("the webhook answered 500:
«<html>…»", "reply «-ERR unknown command» does not start with '+PONG'"). That text
comes from a service an admin pointed heartwatch at, maybe an internal one, and only
admins see it: `hide` leaves the rest of the error (which says what failed) and
replaces each quoted snippet, for everyone else. The quotes are part of the stored
text, so one rule serves every place an error is kept and shown.
"""

from __future__ import annotations

import re
from typing import Final

OPEN: Final = "«"
CLOSE: Final = "»"
HIDDEN: Final = f"{OPEN}…{CLOSE}"
_SNIPPET = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")


def quote(text: str) -> str:
    """`text` as a snippet: «text» (guillemets inside it become single ones, so the
    snippet ends where it seems to)."""
    return OPEN + text.replace(OPEN, "\u2039").replace(CLOSE, "\u203a") + CLOSE


def hide(text: str | None) -> str | None:
    """`text` with every snippet replaced by «…»."""
    if text is None or OPEN not in text:
        return text
    return _SNIPPET.sub(HIDDEN, text)
