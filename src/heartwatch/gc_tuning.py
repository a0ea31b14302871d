"""Garbage-collector settings for heartwatch's long-running processes (API and worker).

Both serve hundreds of small requests or checks a second whose objects are nearly all
freed by reference counting; CPython's cyclic collector, left at its defaults, still
walked everything the process holds again and again (bench/scheduler.py, bench/ingest.py).
"""

from __future__ import annotations

import gc

# The young generation's threshold (CPython's default: 700). What counts towards a
# collection is what outlives a request or check for a while (results waiting for their
# write round, batched pings, claimed specs); at hundreds a second the default meant
# several young collections a second, each walking everything still waiting, then
# walking it again in the middle generation (bench/scheduler.py). Cyclic garbage
# waits longer for its collection: a few MB at most.
YOUNG_THRESHOLD = 10_000

_settled = False


def settle_after_startup() -> None:
    """Leave what the process holds once it has started (modules, SQLAlchemy and pydantic
    metadata, the ASGI app: ~150,000 objects that never become garbage) out of the full
    collections, which otherwise walked all of it every few seconds under load (~0.1 s of
    CPU, a pause of the event loop each time); and collect the young generation less often.
    Once per process; what is collectable now is collected first."""
    global _settled
    if not _settled:
        _settled = True
        gc.collect()
        gc.freeze()
        young, middle, old = gc.get_threshold()
        gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)
