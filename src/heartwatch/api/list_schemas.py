"""The list envelopes (api/paging.py): every list endpoint answers
`{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

from pydantic import BaseModel

from heartwatch.api.channel_schemas import ChannelOut, EventOut
from heartwatch.api.key_schemas import KeyOut
from heartwatch.api.paging import NextCursor, OnePage
from heartwatch.api.schemas import ServiceOut, TransitionOut


class ServiceList(BaseModel):
    """Every service (by key)."""

    items: list[ServiceOut]
    next_cursor: OnePage = None


class ChannelList(BaseModel):
    """Every notification channel (by name)."""

    items: list[ChannelOut]
    next_cursor: OnePage = None


class KeyList(BaseModel):
    """Every API key, revoked and expired ones included."""

    items: list[KeyOut]
    next_cursor: OnePage = None


class EventPage(BaseModel):
    """One page of the outbox, newest first."""

    items: list[EventOut]
    next_cursor: NextCursor


class TransitionPage(BaseModel):
    """One page of status changes, newest first."""

    items: list[TransitionOut]
    next_cursor: NextCursor
