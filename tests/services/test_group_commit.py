"""Group commit: batching, one answer per caller, errors, and callers that go away."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from heartwatch.services.group_commit import GroupCommit


class Recorder:
    """A flush that records its batches; optionally slow or failing."""

    def __init__(self, delay: float = 0.0, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.fail_on = fail_on

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError(f"cannot write {self.fail_on}")
        return [i * 10 for i in items]


async def test_a_lone_caller_gets_its_own_transaction() -> None:
    flush = Recorder()
    assert await GroupCommit(flush).submit(7) == 70
    assert flush.batches == [[7]]


async def test_concurrent_callers_share_few_transactions_and_each_gets_its_answer() -> None:
    flush = Recorder(delay=0.01)
    gc: GroupCommit[int, int] = GroupCommit(flush)
    results = await asyncio.gather(*(gc.submit(i) for i in range(200)))
    assert results == [i * 10 for i in range(200)]
    assert sorted(i for b in flush.batches for i in b) == list(range(200))
    assert len(flush.batches) <= 3  # the first alone, then everything queued meanwhile


async def test_batches_respect_the_size_cap() -> None:
    flush = Recorder(delay=0.01)
    gc: GroupCommit[int, int] = GroupCommit(flush, max_batch=16)
    await asyncio.gather(*(gc.submit(i) for i in range(100)))
    assert max(len(b) for b in flush.batches) <= 16


async def test_a_cancelled_leader_still_completes_its_batch_for_the_others() -> None:
    flush = Recorder(delay=0.05)
    gc: GroupCommit[int, int] = GroupCommit(flush)
    leader = asyncio.ensure_future(gc.submit(0))
    await asyncio.sleep(0.01)  # leader is flushing [0]
    followers = [asyncio.ensure_future(gc.submit(i)) for i in range(1, 5)]
    await asyncio.sleep(0)
    leader.cancel()
    assert await asyncio.gather(*followers) == [10, 20, 30, 40]
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert sorted(i for b in flush.batches for i in b) == [0, 1, 2, 3, 4]


async def test_a_caller_cancelled_while_queued_is_still_written_and_nobody_hangs() -> None:
    flush = Recorder(delay=0.05)
    gc: GroupCommit[int, int] = GroupCommit(flush)
    leader = asyncio.ensure_future(gc.submit(0))
    await asyncio.sleep(0.01)
    quitter = asyncio.ensure_future(gc.submit(1))  # would be handed the lead next
    stayer = asyncio.ensure_future(gc.submit(2))
    await asyncio.sleep(0)
    quitter.cancel()
    assert await asyncio.wait_for(stayer, 2) == 20
    assert await leader == 0
    assert sorted(i for b in flush.batches for i in b) == [0, 1, 2]


async def test_only_abandoned_entries_left_are_flushed_by_the_leader() -> None:
    flush = Recorder(delay=0.05)
    gc: GroupCommit[int, int] = GroupCommit(flush)
    leader = asyncio.ensure_future(gc.submit(0))
    await asyncio.sleep(0.01)
    quitters = [asyncio.ensure_future(gc.submit(i)) for i in (1, 2)]
    await asyncio.sleep(0)
    for q in quitters:
        q.cancel()
    assert await asyncio.wait_for(leader, 2) == 0
    assert sorted(i for b in flush.batches for i in b) == [0, 1, 2]
    assert await gc.submit(3) == 30  # and leadership was released


async def test_one_bad_item_does_not_fail_its_batch() -> None:
    """A batch that fails is retried item by item: only the bad item fails, with an
    exception object of its own."""
    flush = Recorder(delay=0.01, fail_on=3)
    gc: GroupCommit[int, int] = GroupCommit(flush)
    outcomes = await asyncio.gather(*(gc.submit(i) for i in range(8)), return_exceptions=True)
    assert [o for i, o in enumerate(outcomes) if i != 3] == [i * 10 for i in range(8) if i != 3]
    assert isinstance(outcomes[3], RuntimeError)
    assert await gc.submit(9) == 90  # and the pipeline keeps working


async def test_a_leader_behind_a_full_batch_of_abandoned_entries_never_hands_itself_the_lead() -> (
    None
):
    """Reviewer's reproduction: more than max_batch cancelled callers queued ahead of a
    live one; the live one must flush its own item and release the lead."""
    flush = Recorder(delay=0.05)
    gc: GroupCommit[int, int] = GroupCommit(flush, max_batch=2)
    leader = asyncio.ensure_future(gc.submit(0))
    await asyncio.sleep(0.01)
    quitters = [asyncio.ensure_future(gc.submit(i)) for i in (1, 2)]
    live = asyncio.ensure_future(gc.submit(3))
    await asyncio.sleep(0)
    for q in quitters:
        q.cancel()
    assert await asyncio.wait_for(live, 2) == 30
    assert await asyncio.wait_for(leader, 2) == 0
    assert await asyncio.wait_for(gc.submit(4), 2) == 40  # and the lead was released
