"""Group commit: many concurrent callers, few transactions.

Each heartbeat must be durable before it is acknowledged, and a transaction per heartbeat
caps ingest at what one commit (an fsync on SQLite) costs. So concurrent callers queue
their items; whoever finds no flush running becomes the leader and writes everything queued
in one transaction, then hands leadership to the first caller that queued meanwhile.

There is no background task: a flush runs on behalf of a caller (the API process runs no
background work, docs/architecture.md), and a lone caller pays for exactly one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def _new_future() -> asyncio.Future[bool]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True, eq=False)
class _Entry(Generic[Item, Result]):
    item: Item
    # Resolved True when the entry has been written (or failed), False when its owner is
    # handed the lead and must flush the queue itself.
    wake: asyncio.Future[bool] = field(default_factory=_new_future)
    result: Result | None = None
    error: BaseException | None = None
    # The caller went away (cancelled) while waiting; its item is still written.
    abandoned: bool = False


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 500,
        gather_s: float = 0.002,
    ) -> None:
        """`flush` writes a batch in one transaction and returns one result per item."""
        self._flush = flush
        self._max_batch = max_batch
        self._gather_s = gather_s
        self._last_batch = 0
        self._queue: list[_Entry[Item, Result]] = []
        self._leading = False

    async def submit(self, item: Item) -> Result:
        entry: _Entry[Item, Result] = _Entry(item)
        self._queue.append(entry)
        if not self._leading:
            self._leading = True
            await self._lead(entry)
            return self._outcome(entry)
        try:
            # Awaited bare (no shield: one future less per caller). Cancelling the caller
            # cancels `wake`; the leader skips done entries, so its item is still written.
            done = await entry.wake
        except asyncio.CancelledError:
            entry.abandoned = True
            wake = entry.wake
            if wake.done() and not wake.cancelled() and wake.result() is False:
                await self._lead(entry)  # handed the lead as we were cancelled: do it, go
            raise
        if not done:
            await self._lead(entry)
        return self._outcome(entry)

    async def _lead(self, mine: _Entry[Item, Result]) -> None:
        """Flush until our own entry is written, then hand over to a live waiter."""
        cancelled = False
        while True:
            if self._last_batch > 1 and len(self._queue) < self._last_batch // 2:
                # Under load, the callers the last flush just answered are about to send
                # again; without this pause the new leader flushes alone, and batches
                # alternate 1, 31, 1, 31 (bench/ingest.py saw exactly that).
                try:
                    await asyncio.sleep(self._gather_s)
                except asyncio.CancelledError:
                    cancelled = True
            batch = self._queue[: self._max_batch]
            self._last_batch = len(batch)
            del self._queue[: self._max_batch]
            cancelled |= await self._write(batch)
            if mine in self._queue:
                continue  # more than a batch was queued ahead of us
            # Never ourselves, nor an entry already answered or handed the lead.
            successor = next(
                (e for e in self._queue if not e.abandoned and not e.wake.done()), None
            )
            if successor is not None:
                successor.wake.set_result(False)
                break
            if not self._queue:
                self._leading = False
                break
            # Only abandoned entries are left: nobody else will flush them.
        if cancelled:
            raise asyncio.CancelledError()

    async def _write(self, batch: list[_Entry[Item, Result]]) -> bool:
        """Flush one batch and wake its callers; True if the leader was cancelled meanwhile.

        If the batch's transaction fails, each item is retried in a transaction of its
        own: one bad item (say a byte the database refuses) must not cost the others, and
        every caller gets an error of its own, not one exception object shared (and its
        traceback grown) by all."""
        results, error, cancelled = await self._flush_guarded([e.item for e in batch])
        if results is not None:
            for e, r in zip(batch, results, strict=True):
                e.result = r
        elif isinstance(error, Exception) and len(batch) > 1:
            for e in batch:
                one, one_error, one_cancelled = await self._flush_guarded([e.item])
                cancelled |= one_cancelled
                if one is not None:
                    e.result = one[0]
                else:
                    e.error = one_error
        else:
            for e in batch:
                e.error = error
        for e in batch:
            if not e.wake.done():
                e.wake.set_result(True)
        return cancelled

    async def _flush_guarded(
        self, items: list[Item]
    ) -> tuple[Sequence[Result] | None, BaseException | None, bool]:
        """(results, error, leader cancelled). The flush runs as its own task so that
        cancelling the leader's request neither interrupts a transaction half-way nor
        leaves the other callers without an answer."""
        task = asyncio.ensure_future(self._flush(items))
        cancelled = False
        while True:
            try:
                return await asyncio.shield(task), None, cancelled
            except asyncio.CancelledError:
                if task.cancelled():
                    return None, asyncio.CancelledError(), cancelled
                cancelled = True  # wait for the flush to finish, then re-raise
            except Exception as exc:
                return None, exc, cancelled

    @staticmethod
    def _outcome(entry: _Entry[Item, Result]) -> Result:
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]
