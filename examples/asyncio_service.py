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


@heartbeat_for_async("example-asyncio-service", interval=INTERVAL)
async def main() -> None:
    for _ in range(ROUNDS):
        await handle_batch()


if __name__ == "__main__":
    asyncio.run(main())
