"""Live updates for open dashboards: `GET /ui/events`.

With `Accept: text/event-stream` (an EventSource) it is a Server-Sent Events stream: a
`state` event with the state's version (services.dashboard.version) when the stream
opens and whenever the version changes, and nothing else but a comment line as a
keep-alive every `KEEPALIVE_S`: an idle server sends no data. The page fetches itself
again when the version differs from the one it was rendered with. Any other `GET` (the
page's polling fallback, curl) answers the current version as JSON.

The version is computed at most once per `TICK_S` per process, whatever the number of
open streams (`VersionCache`): each stream's wait reuses the last one. A stream ends
after `STREAM_S` (the browser reconnects at once, told by `retry:`), so a stream never
outlives a deploy or a proxy's timeout for long, and it ends when the client goes away.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from heartwatch.api.deps import RuntimeDep
from heartwatch.domain.status import Status
from heartwatch.runtime import Runtime
from heartwatch.services import dashboard
from heartwatch.web.access import ViewerDep

router = APIRouter(include_in_schema=False)

TICK_S = 1.0
KEEPALIVE_S = 15.0
STREAM_S = 300.0
RETRY_MS = 1000


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: str
    down: int  # services down or dead
    counts: dict[str, int]

    def as_json(self) -> str:
        return json.dumps({"version": self.version, "down": self.down, "counts": self.counts})


class VersionCache:
    """The latest snapshot, recomputed when older than TICK_S (one computation at a time
    however many streams ask)."""

    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self._latest: tuple[float, Snapshot] | None = None
        self._lock = asyncio.Lock()

    async def get(self, runtime: Runtime) -> Snapshot:
        async with self._lock:
            latest = self._latest
            if latest is not None and time.monotonic() - latest[0] < self.tick_s:
                return latest[1]
            await runtime.sync_clock()
            async with runtime.db.reading() as session:
                cards = await dashboard.cards(
                    session, runtime.rules, runtime.clock.now(), reveal=False
                )
            counts = dashboard.counts(cards)
            snapshot = Snapshot(
                dashboard.version(cards),
                counts[Status.DOWN] + counts[Status.DEAD],
                {status.value: counts[status] for status in Status},
            )
            self._latest = (time.monotonic(), snapshot)
            return snapshot


def _cache(request: Request) -> VersionCache:
    cache: VersionCache = request.app.state.web_versions
    return cache


async def _stream(request: Request, runtime: Runtime, cache: VersionCache) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    sent: str | None = None
    yield f"retry: {RETRY_MS}\n\n"
    while time.monotonic() - started < STREAM_S:
        snapshot = await cache.get(runtime)
        if snapshot.version != sent:
            sent = snapshot.version
            last_sent = time.monotonic()
            yield f"event: state\nid: {snapshot.version}\ndata: {snapshot.as_json()}\n\n"
        elif time.monotonic() - last_sent >= KEEPALIVE_S:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(cache.tick_s)


@router.get("/ui/events")
async def events(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    cache = _cache(request)
    if "text/event-stream" not in request.headers.get("accept", ""):
        snapshot = await cache.get(runtime)
        return JSONResponse(json.loads(snapshot.as_json()), headers={"Cache-Control": "no-store"})
    return StreamingResponse(
        _stream(request, runtime, cache),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
