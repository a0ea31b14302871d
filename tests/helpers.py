"""Small test doubles that are real implementations, not mocks."""

from __future__ import annotations

from datetime import datetime, timedelta


class ManualClock:
    """A `Clock` that only moves when told to: tests control time, never sleep through it."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now
