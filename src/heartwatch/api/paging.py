"""Paging and time windows, the same on every list endpoint: each answers one envelope,
`{"items": [...], "next_cursor": ...}`. Histories (heartbeats, check results, incidents,
state changes, the outbox) are paged by an opaque keyset cursor (time, id) that stays
stable while new rows arrive, within `from`/`to` bounds; the registry's own lists
(services, channels, keys, open incidents) are one page, whose `next_cursor` is null.
A client that follows `next_cursor` until it is null reads every list alike."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Query
from pydantic import Field

Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many items")]
Cursor = Annotated[
    str | None, Query(description="the previous page's `next_cursor`, for the next (older) page")
]
NextCursor = Annotated[
    str | None,
    Field(description="pass as `cursor` for the next (older) page; null: this is the last"),
]
# The lists answered whole, in one page.
OnePage = Annotated[None, Field(description="always null: the whole list is this one page")]


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise HTTPException(422, "`from` must not be later than `to`")


def page_cursor(count: int, limit: int, last: tuple[datetime, uuid.UUID] | None) -> str | None:
    """`next_cursor` for a page of `count` items, the `last` of which is (time, id): a
    full page may have a next one."""
    return next_cursor(*last) if last is not None and count == limit else None


def next_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("cursor time without offset")
        return moment, uuid.UUID(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise HTTPException(422, "invalid cursor: pass back `next_cursor` unchanged") from exc
