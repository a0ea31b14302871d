"""Row ids: UUIDv7 (RFC 9562), time-ordered so inserts into the history tables append to
the end of their primary-key index instead of landing at random pages.

Monotonic within a process (RFC 9562 §6.2, method 2 in spirit): ids made in the same
millisecond still sort in the order they were made. Rows written together (two
transitions stamped at the same instant, the alerts of one batch) are ordered by
(time, id), so a tie must not be settled by chance.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def new_id() -> uuid.UUID:
    global _last
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80  # unix_ts_ms
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    with _lock:
        if value <= _last:
            # Same millisecond (or the clock stepped back): one more than the last id.
            # rand_b has 62 bits; a carry out of it would take ~2^61 ids in one ms.
            value = _last + 1
        _last = value
    return uuid.UUID(int=value)
