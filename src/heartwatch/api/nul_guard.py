"""Text with a NUL character is refused at the door, with a 422 that says where.

PostgreSQL's text and JSONB cannot hold U+0000: a service name, a description, a tag, a
checker's or a channel's settings holding one made the whole statement fail (a 500),
and so did a lookup by a key or a filter holding one. Ping bodies and run ids, which
come from programs, are stored with NUL replaced (store/types.py's outside text); what a
person configures is refused instead, so that what is stored is what was sent.

`refuse_nul` is a dependency of every protected router (api/app.py), after `authorize`:
a client that may not use the route learns nothing about its input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request

NUL = "\x00"
# How JSON spells it: a raw NUL byte is not valid JSON at all (FastAPI refuses it).
_NUL_ESCAPE = b"\\u0000"


def nul_in(value: Any, where: str) -> str | None:
    """The location of the first NUL in a decoded JSON value (keys included), or None."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}"
            if NUL in key:
                return inner
            found = nul_in(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_in(item, f"{where}.{index}")
            if found is not None:
                return found
    return None


def _in_pairs(pairs: Iterable[tuple[str, str]], kind: str) -> str | None:
    for name, value in pairs:
        if NUL in name or NUL in value:
            return f"{kind}.{name}"
    return None


async def _in_body(request: Request) -> str | None:
    body = await request.body()  # (FastAPI has read it already: cached on the request)
    if _NUL_ESCAPE not in body:
        return None
    try:
        decoded = json.loads(body)
    except ValueError:
        return None  # not JSON: the route's own validation says so
    return nul_in(decoded, "body")


async def refuse_nul(request: Request) -> None:
    where = (
        _in_pairs(request.path_params.items(), "path")
        or _in_pairs(request.query_params.multi_items(), "query")
        or await _in_body(request)
    )
    if where is not None:
        raise HTTPException(422, f"{where}: text may not contain the NUL character (\\u0000)")
