"""A long-running Python worker that heartwatch watches.

While `main` runs, heartwatch hears a heartbeat every INTERVAL seconds; when it returns,
a final success; if it raises, a failure with the traceback (and the exception goes on
up as usual). If heartwatch itself is down, the worker is not affected.

    HEARTWATCH_URL=http://localhost:8765 python examples/python_worker.py
"""

from __future__ import annotations

import os
import time

from heartwatch.client import heartbeat_for_sync

INTERVAL = float(os.environ.get("EXAMPLE_INTERVAL", "60"))
ROUNDS = int(os.environ.get("EXAMPLE_ROUNDS", "1000000"))
WORK_S = float(os.environ.get("EXAMPLE_WORK_SECONDS", "5"))


def process_queue_once() -> None:
    time.sleep(WORK_S)  # stands in for real work


# A process that runs for good: its keep-alives are its heartbeats, so its period is the
# keep-alive interval. A scheduled job would declare its schedule instead (period=86400
# for a nightly one), or no period at all to let heartwatch learn it.
@heartbeat_for_sync("example-python-worker", interval=INTERVAL, period=INTERVAL)
def main() -> int:
    for _ in range(ROUNDS):
        process_queue_once()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
