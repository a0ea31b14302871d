"""Sleeping in the worker's loops without missing a stop or a wake-up."""

from __future__ import annotations

import asyncio


async def wait_any(seconds: float, *events: asyncio.Event) -> None:
    """Sleep up to `seconds`, waking early as soon as any of `events` is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=max(0.0, seconds), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
