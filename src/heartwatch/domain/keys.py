"""What a service key may look like: it appears in URLs and cron lines, so keep it plain."""

from __future__ import annotations

import re

KEY_MAX_LENGTH = 100
KEY_PATTERN = rf"^[A-Za-z0-9._-]{{1,{KEY_MAX_LENGTH}}}$"
_KEY_RE = re.compile(KEY_PATTERN)
KEY_RULE = f"1-{KEY_MAX_LENGTH} characters of letters, digits, '-', '_' and '.', not only dots"


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> str:
    # "." and ".." are path segments to every URL library and proxy on the way: a
    # /heartbeat/.. would never reach us as that key.
    if not _KEY_RE.fullmatch(key) or not key.strip("."):
        raise InvalidKey(f"invalid service key {key[:120]!r}: a key is {KEY_RULE}")
    return key
