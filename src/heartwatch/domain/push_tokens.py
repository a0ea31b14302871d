"""A service's own Uptime Kuma push token: what `/api/push/<token>` may carry besides
the service's id, so a monitor moved from Kuma keeps its push URL."""

from __future__ import annotations

import re
import uuid

PUSH_TOKEN_MIN_LENGTH = 8
PUSH_TOKEN_MAX_LENGTH = 100
# URL-safe as it is: a token goes into a path unescaped.
PUSH_TOKEN_PATTERN = r"^[A-Za-z0-9._~-]+$"
_VALID = re.compile(PUSH_TOKEN_PATTERN)


class InvalidPushToken(ValueError):
    pass


def check_push_token(token: str) -> str:
    """The token, when it can be one; else InvalidPushToken saying why."""
    if not PUSH_TOKEN_MIN_LENGTH <= len(token) <= PUSH_TOKEN_MAX_LENGTH:
        raise InvalidPushToken(
            f"a push token is {PUSH_TOKEN_MIN_LENGTH} to {PUSH_TOKEN_MAX_LENGTH} characters "
            "(a short one is easy to guess, and whoever knows it can report for the service)"
        )
    if not _VALID.match(token):
        raise InvalidPushToken(
            "a push token is made of letters, digits, '-', '_', '.' and '~' (it goes into "
            "URLs as it is)"
        )
    try:
        uuid.UUID(token)
    except ValueError:
        return token
    raise InvalidPushToken("a push token cannot be a UUID: in a push URL a UUID is a service's id")
