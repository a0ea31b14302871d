"""Maintenance windows over HTTP: statuses are recorded during them, alerts held."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from heartwatch.api import examples
from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.maintenance_schemas import WindowIn, WindowList, WindowOut
from heartwatch.api.problems import problems
from heartwatch.services import maintenance

router = APIRouter(prefix="/maintenance", tags=["maintenance"])


@router.get("", response_model=WindowList, response_model_by_alias=True)
async def list_windows(runtime: RuntimeDep, session: ReadSession) -> WindowList:
    """Every maintenance window, oldest first, in one page (`next_cursor` is null);
    `active_until` is set on those open now."""
    now = runtime.clock.now()
    return WindowList(items=[WindowOut.of(r, now) for r in await maintenance.list_windows(session)])


@router.post(
    "",
    response_model=WindowOut,
    status_code=201,
    response_model_by_alias=True,
    responses=problems(s404="no such service (`service`)"),
)
async def create_window(
    runtime: RuntimeDep,
    body: Annotated[WindowIn, Body(openapi_examples=examples.WINDOW_IN)],
) -> WindowOut:
    """Plan a window, one-off (`from`, `until`) or recurring (`schedule`, `duration_sec`,
    `timezone`), for one service, a tag, or everything: the alerts of the services it
    covers are held while it is open, and sent after only for those still down."""
    now = runtime.clock.now()
    plan = maintenance.WindowPlan(**body.model_dump(by_alias=False))
    async with runtime.db.writing() as session:
        row = await maintenance.create_window(
            session, plan, default_zone=runtime.settings.timezone, now=now
        )
    return WindowOut.of(row, now)


@router.delete(
    "/{id}",
    status_code=204,
    response_class=Response,
    responses=problems(s404="no such maintenance window"),
)
async def delete_window(runtime: RuntimeDep, id: str) -> Response:
    """Remove a window; alerts it holds go out now for services still down (at the
    worker's next pass)."""
    async with runtime.db.writing() as session:
        await maintenance.delete_window(session, id)
    return Response(status_code=204)
