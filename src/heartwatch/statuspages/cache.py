"""Each status page's latest rendering, per process.

The version of a page's state (`services.status_pages.page_state`) is read at most once
per `fresh_s` seconds per page; while it is unchanged the page is not rendered again, and
a visitor holding its ETag gets a 304. So a burst of visitors costs one small read a
second, and a change is served as soon as that read sees it. Only the rendering lives
here, never state the processes must agree on: every process derives the same ETag from
the same database state.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rendered:
    version: str
    etag: str
    body: bytes
    gzipped: bytes  # the same, compressed once (a page's day cells repeat a lot)
    checked_at: float  # time.monotonic() of the last version read


class PageCache:
    def __init__(self, fresh_s: float, size: int = 256) -> None:
        self.fresh_s = fresh_s
        self.size = size
        self._pages: OrderedDict[str, Rendered] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    def get(self, slug: str) -> Rendered | None:
        return self._pages.get(slug)

    def fresh(self, slug: str, mono: float) -> Rendered | None:
        """The rendering, if its version was read less than `fresh_s` ago."""
        found = self._pages.get(slug)
        if found is None or mono - found.checked_at >= self.fresh_s:
            return None
        return found

    def put(self, slug: str, rendered: Rendered) -> None:
        self._pages[slug] = rendered
        self._pages.move_to_end(slug)
        while len(self._pages) > self.size:
            old, _ = self._pages.popitem(last=False)
            self._locks.pop(old, None)

    def drop(self, slug: str) -> None:
        self._pages.pop(slug, None)

    def lock(self, slug: str) -> asyncio.Lock:
        """One version read at a time per page: a burst waits for it, then shares it."""
        lock = self._locks.get(slug)
        if lock is None:
            lock = self._locks[slug] = asyncio.Lock()
        return lock

    def forget(self, slug: str) -> None:
        """No such page: keep nothing for it (nor a lock, were slugs made up by the million)."""
        self._pages.pop(slug, None)
        lock = self._locks.get(slug)
        if lock is not None and not lock.locked():
            del self._locks[slug]
