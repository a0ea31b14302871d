"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.problems import problems

router = APIRouter(tags=["health"])


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
        return JSONResponse({"status": "unavailable", "detail": str(exc)[:200]}, 503)
    return JSONResponse({"status": "ok"})
