"""Clocks. Nothing in heartwatch calls `datetime.now()` directly: it asks a `Clock`.

`SystemClock` is the real time. `DevClock` (dev mode: see whether the daily summary
fires at 09:00 without waiting for it) is the real time plus an offset that a person can
move through the API; the offset lives in the database so every process of the stack
(API, worker) sees the same time, and `changed` wakes an in-process worker at once when
the offset moves.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DevClock:
    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = timedelta(seconds=offset_seconds)
        self._synced_at = float("-inf")
        self.changed = asyncio.Event()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    def set_offset(self, offset_seconds: float) -> bool:
        """Adopt an offset (from the API or the database); True if it moved."""
        self._synced_at = time.monotonic()
        new = timedelta(seconds=offset_seconds)
        if new == self._offset:
            return False
        self._offset = new
        self.changed.set()
        return True

    def stale(self, max_age_seconds: float = 1.0) -> bool:
        """Whether another process may have moved the offset since we last looked."""
        return time.monotonic() - self._synced_at > max_age_seconds
