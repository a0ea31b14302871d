"""An asyncio service that heartwatch watches, with the async decorator.

HEARTWATCH_URL=http://localhost:8765 python examples/asyncio_service.py
"""

from __future__ import annotations

import asyncio
import os

from heartwatch.client import heartbeat_for_async

INTERVAL = float(os.environ.get("EXAMPLE_INTERVAL", "60"))
ROUNDS = int(os.environ.get("EXAMPLE_ROUNDS", "1000000"))
WORK_S = float(os.environ.get("EXAMPLE_WORK_SECONDS", "5"))


async def handle_batch() -> None:
    await asyncio.sleep(WORK_S)  # stands in for real work


# A process that runs for good: its keep-alives are its heartbeats, so its period is the
# keep-alive interval. A scheduled job would declare its schedule instead (period=86400
# for a nightly one), or no period at all to let heartwatch learn it.
@heartbeat_for_async("example-asyncio-service", interval=INTERVAL, period=INTERVAL)
async def main() -> None:
    for _ in range(ROUNDS):
        await handle_batch()


if __name__ == "__main__":
    asyncio.run(main())
