"""Request-scoped dependencies: the process runtime and a read-only unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from heartwatch.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a
    # thread hop on every request for a dictionary lookup.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _reading(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.db.reading() as session:
        yield session


# Reads only. Writes open `runtime.db.writing()` in the handler itself, so the commit has
# happened (or failed into an error response) before any 2xx goes out.
ReadSession = Annotated[AsyncSession, Depends(_reading)]
