"""Maintenance windows over HTTP: statuses are recorded during them, alerts held."""

from __future__ import annotations

from fastapi import APIRouter, Response

from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.maintenance_schemas import WindowIn, WindowOut
from heartwatch.services import maintenance

router = APIRouter(prefix="/maintenance", tags=["maintenance"])


@router.get("", response_model=list[WindowOut], response_model_by_alias=True)
async def list_windows(runtime: RuntimeDep, session: ReadSession) -> list[WindowOut]:
    now = runtime.clock.now()
    return [WindowOut.of(r, now) for r in await maintenance.list_windows(session)]


@router.post("", response_model=WindowOut, status_code=201, response_model_by_alias=True)
async def create_window(runtime: RuntimeDep, body: WindowIn) -> WindowOut:
    """Plan a window; alerts of the services it covers are held while it is open."""
    now = runtime.clock.now()
    plan = maintenance.WindowPlan(**body.model_dump(by_alias=False))
    async with runtime.db.writing() as session:
        row = await maintenance.create_window(
            session, plan, default_zone=runtime.settings.timezone, now=now
        )
    return WindowOut.of(row, now)


@router.delete("/{id}", status_code=204, response_class=Response)
async def delete_window(runtime: RuntimeDep, id: str) -> Response:
    async with runtime.db.writing() as session:
        await maintenance.delete_window(session, id)
    return Response(status_code=204)
