"""Liveness and readiness for load balancers and orchestrators.

Both are open to anyone (they must be, for a load balancer), so they say no more than
whether the process is ready: why the database cannot be reached (a host name, a user
name, a driver's message) goes to the log, never into the public answer."""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.problems import problems

router = APIRouter(tags=["health"])
log = structlog.get_logger("heartwatch.api")

NOT_READY = {"status": "unavailable", "detail": "the database cannot be reached"}


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses=problems(503), summary="Readiness")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The process can reach its database."""
    try:
        await runtime.db.ping()
    except Exception as exc:
        log.warning("readyz: the database cannot be reached", error=str(exc)[:500])
        return JSONResponse(NOT_READY, 503)
    return JSONResponse({"status": "ok"})
