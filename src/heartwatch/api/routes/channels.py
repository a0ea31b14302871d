"""Notification channels (`/channels`), the outbox (`/notifications`), and muting a
service (`/services/{id}/mute`). `{id}` of a channel is its UUID or its name."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from heartwatch.api import examples
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
from heartwatch.api.list_schemas import ChannelList, EventPage
from heartwatch.api.paging import Cursor, Limit, decode_cursor, page_cursor
from heartwatch.api.problems import problems
from heartwatch.services import channels, registry

router = APIRouter(tags=["notifications"])
NOT_FOUND = problems(404)
NAME_TAKEN = problems(404, s409="another channel has that name")


def _spec(body: ChannelIn | ChannelPatch) -> channels.ChannelSpec:
    return channels.ChannelSpec(**body.model_dump())


@router.get("/channels", response_model=ChannelList)
async def list_channels(runtime: RuntimeDep, session: ReadSession) -> ChannelList:
    """Every channel, by name (secrets masked), in one page."""
    rows = await channels.list_channels(session)
    return ChannelList(items=[ChannelOut.of(c, runtime.notifiers) for c in rows])


@router.post(
    "/channels",
    response_model=ChannelOut,
    status_code=201,
    responses=problems(s409="another channel has that name"),
)
async def create_channel(
    runtime: RuntimeDep, body: Annotated[ChannelIn, Body(openapi_examples=examples.CHANNEL_IN)]
) -> ChannelOut:
    """Add a channel; its `config` is checked against its type's settings."""
    async with runtime.db.writing() as session:
        row = await channels.create_channel(
            session, _spec(body), runtime.notifiers, runtime.clock.now()
        )
    return ChannelOut.of(row, runtime.notifiers)


@router.get("/channels/{id}", response_model=ChannelOut, responses=NOT_FOUND)
async def get_channel(runtime: RuntimeDep, session: ReadSession, id: str) -> ChannelOut:
    """One channel (by its UUID or its name), secrets masked."""
    return ChannelOut.of(await channels.get_channel(session, id), runtime.notifiers)


@router.patch("/channels/{id}", response_model=ChannelOut, responses=NAME_TAKEN)
async def update_channel(
    runtime: RuntimeDep,
    id: str,
    body: Annotated[ChannelPatch, Body(openapi_examples=examples.CHANNEL_PATCH)],
) -> ChannelOut:
    """Change only the fields given; a `config` is checked against the type's settings
    (its secrets may be sent back masked, as shown, while the destination stays)."""
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


@router.delete("/channels/{id}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_channel(runtime: RuntimeDep, id: str) -> Response:
    """Delete a channel (its outbox goes with it)."""
    async with runtime.db.writing() as session:
        await channels.delete_channel(session, id)
    return Response(status_code=204)


@router.post("/channels/{id}/test", response_model=TestOut, responses=NOT_FOUND)
async def test_channel(runtime: RuntimeDep, session: ReadSession, id: str) -> TestOut:
    """Send a test message now, and say whether it was delivered."""
    row = await channels.get_channel(session, id)
    error = await channels.send_test(
        row, runtime.notifiers, runtime.notify_context, runtime.clock.now()
    )
    return TestOut(delivered=error is None, error=error)


@router.get(
    "/notifications",
    response_model=EventPage,
    responses=problems(s404="no channel has that id or name"),
)
async def notifications(
    session: ReadSession,
    reveal: Reveal,
    channel: Annotated[str | None, Query(description="a channel's id or name")] = None,
    status: Annotated[str | None, Query(pattern="^(queued|sending|sent|failed)$")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> EventPage:
    """The outbox, newest first: what was queued for whom, and what became of it."""
    before = decode_cursor(cursor) if cursor else None
    rows = await channels.outbox(session, channel, status, limit, before=before)
    events = [EventOut.of(e, reveal=reveal) for e in rows]
    last = (events[-1].created_at, events[-1].id) if events else None
    return EventPage(
        items=events,  # (what far ends answered: admins only, EventOut.of)
        next_cursor=page_cursor(len(events), limit, last),
    )


@router.post("/services/{id}/mute", response_model=MuteOut, responses=NOT_FOUND)
async def mute(
    runtime: RuntimeDep, id: str, body: Annotated[MuteIn, Body(openapi_examples=examples.MUTE_IN)]
) -> MuteOut:
    """Mute a service for a maintenance window: its transitions are still recorded (and
    count in its uptime), but nobody is told."""
    now = runtime.clock.now()
    until = body.until if body.until is not None else now + timedelta(minutes=body.minutes or 0)
    async with runtime.db.writing() as session:
        row = await registry.mute(session, id, until=until, now=now)
    return MuteOut(service_id=row.id, service_key=row.key, muted_until=until)


@router.delete("/services/{id}/mute", response_model=MuteOut, responses=NOT_FOUND)
async def unmute(runtime: RuntimeDep, id: str) -> MuteOut:
    """End a service's maintenance window now: it is alerted on again."""
    async with runtime.db.writing() as session:
        row = await registry.unmute(session, id)
    return MuteOut(service_id=row.id, service_key=row.key, muted_until=None)
