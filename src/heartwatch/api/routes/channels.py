"""Notification channels (`/channels`), the outbox (`/notifications`), and muting a
service (`/services/{id}/mute`). `{id}` of a channel is its UUID or its name."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from heartwatch.api.auth import Reveal
from heartwatch.api.channel_schemas import (
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    EventOut,
    MuteIn,
    MuteOut,
    TestOut,
)
from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.services import channels, registry

router = APIRouter(tags=["notifications"])


def _spec(body: ChannelIn | ChannelPatch) -> channels.ChannelSpec:
    return channels.ChannelSpec(**body.model_dump())


@router.get("/channels", response_model=list[ChannelOut])
async def list_channels(runtime: RuntimeDep, session: ReadSession) -> list[ChannelOut]:
    return [ChannelOut.of(c, runtime.notifiers) for c in await channels.list_channels(session)]


@router.post("/channels", response_model=ChannelOut, status_code=201)
async def create_channel(runtime: RuntimeDep, body: ChannelIn) -> ChannelOut:
    """Add a channel; its `config` is checked against its type's settings."""
    async with runtime.db.writing() as session:
        row = await channels.create_channel(
            session, _spec(body), runtime.notifiers, runtime.clock.now()
        )
    return ChannelOut.of(row, runtime.notifiers)


@router.get("/channels/{id}", response_model=ChannelOut)
async def get_channel(runtime: RuntimeDep, session: ReadSession, id: str) -> ChannelOut:
    return ChannelOut.of(await channels.get_channel(session, id), runtime.notifiers)


@router.patch("/channels/{id}", response_model=ChannelOut)
async def update_channel(runtime: RuntimeDep, id: str, body: ChannelPatch) -> ChannelOut:
    async with runtime.db.writing() as session:
        row = await channels.update_channel(
            session,
            id,
            _spec(body),
            body.model_fields_set,
            runtime.notifiers,
            runtime.clock.now(),
        )
    return ChannelOut.of(row, runtime.notifiers)


@router.delete("/channels/{id}", status_code=204, response_class=Response)
async def delete_channel(runtime: RuntimeDep, id: str) -> Response:
    async with runtime.db.writing() as session:
        await channels.delete_channel(session, id)
    return Response(status_code=204)


@router.post("/channels/{id}/test", response_model=TestOut)
async def test_channel(runtime: RuntimeDep, session: ReadSession, id: str) -> TestOut:
    """Send a test message now, and say whether it was delivered."""
    row = await channels.get_channel(session, id)
    error = await channels.send_test(
        row, runtime.notifiers, runtime.notify_context, runtime.clock.now()
    )
    return TestOut(delivered=error is None, error=error)


@router.get("/notifications", response_model=list[EventOut])
async def notifications(
    runtime: RuntimeDep,
    session: ReadSession,
    reveal: Reveal,
    channel: str | None = None,
    status: Annotated[str | None, Query(pattern="^(queued|sending|sent|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventOut]:
    """The outbox, newest first: what was queued for whom, and what became of it."""
    events = await channels.outbox(session, channel, status, limit)
    return [EventOut.of(e, reveal=reveal) for e in events]


@router.post("/services/{id}/mute", response_model=MuteOut)
async def mute(runtime: RuntimeDep, id: str, body: MuteIn) -> MuteOut:
    """Mute a service for a maintenance window: its transitions are still recorded (and
    count in its uptime), but nobody is told."""
    now = runtime.clock.now()
    until = body.until if body.until is not None else now + timedelta(minutes=body.minutes or 0)
    async with runtime.db.writing() as session:
        row = await registry.mute(session, id, until=until, now=now)
    return MuteOut(service_id=row.id, service_key=row.key, muted_until=until)


@router.delete("/services/{id}/mute", response_model=MuteOut)
async def unmute(runtime: RuntimeDep, id: str) -> MuteOut:
    async with runtime.db.writing() as session:
        row = await registry.unmute(session, id)
    return MuteOut(service_id=row.id, service_key=row.key, muted_until=None)
