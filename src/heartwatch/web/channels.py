"""Notification channels: the list (secrets masked), a form per type to create or edit
one (its fields read from the type's own settings model; a secret sent back masked is
kept, as through the API), a test message, deletion, and the outbox with each
delivery's status and error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, SecretStr

from heartwatch.api.channel_schemas import ChannelOut, EventOut
from heartwatch.api.deps import RuntimeDep
from heartwatch.runtime import Runtime
from heartwatch.services import channels
from heartwatch.services.errors import Conflict, Invalid, NotFound
from heartwatch.web.access import Viewer, ViewerDep, form_of
from heartwatch.web.templating import render

router = APIRouter(include_in_schema=False)

OUTBOX_LIMIT = 50


@dataclass(frozen=True, slots=True)
class ConfigField:
    name: str
    required: bool
    secret: bool
    structured: bool  # a mapping or a list: written as JSON


def _is_secret(annotation: Any) -> bool:
    text = repr(annotation)
    return "Secret" in text


def config_fields(runtime: Runtime, channel_type: str) -> list[ConfigField]:
    model: type[BaseModel] = runtime.notifiers.get(channel_type).Settings
    out = []
    for name, info in model.model_fields.items():
        text = repr(info.annotation)
        out.append(
            ConfigField(
                name,
                info.is_required(),
                _is_secret(info.annotation),
                text.startswith(("dict", "list", "typing.Dict", "typing.List")),
            )
        )
    return out


def _config(fields: list[ConfigField], values: dict[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for field in fields:
        raw = values.get(f"config.{field.name}", "").strip()
        if not raw:
            continue
        if field.structured:
            try:
                config[field.name] = json.loads(raw)
            except ValueError:
                config[field.name] = raw  # the settings model says what is wrong
        else:
            config[field.name] = raw
    return config


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


async def _list_page(
    request: Request, runtime: Runtime, viewer: Viewer, notice: str = "", status: int = 200
) -> Response:
    async with runtime.db.reading() as session:
        rows = await channels.list_channels(session)
        outbox = await channels.outbox(session, None, None, OUTBOX_LIMIT)
    # (what far ends answered: only to whom may see secrets)
    events = [EventOut.of(e, reveal=viewer.reveal) for e in outbox]
    shown = [ChannelOut.of(c, runtime.notifiers) for c in rows]
    names = {c.id: c.name for c in shown}
    return render(
        request,
        viewer,
        "channels.html",
        status,
        channels=shown,
        events=events,
        names=names,
        types=sorted(runtime.notifiers.types()),
        notice=notice,
        shown=_shown,
    )


@router.get("/ui/channels")
async def channels_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, done: str = ""
) -> Response:
    return await _list_page(request, runtime, viewer, done[:300])


def _form(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    channel_type: str,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    editing: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        viewer,
        "channel_form.html",
        status,
        channel_type=channel_type,
        types=sorted(runtime.notifiers.types()),
        fields=config_fields(runtime, channel_type),
        values=values,
        errors=errors,
        editing=editing,
    )


def _type_of(runtime: Runtime, wanted: str) -> str:
    types = sorted(runtime.notifiers.types())
    return wanted if wanted in types else types[0]


@router.get("/ui/channels/new")
async def new_channel(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, type: str = "webhook"
) -> Response:
    return _form(request, runtime, viewer, _type_of(runtime, type), {}, {})


def _field_error(message: str, fields: list[ConfigField]) -> str:
    for field in fields:
        if field.name in message:
            return f"config.{field.name}"
    return "name" if "named" in message else ""


def _spec(values: dict[str, str], fields: list[ConfigField], type_: str) -> channels.ChannelSpec:
    events = [e.strip() for e in values.get("events", "").split(",") if e.strip()]
    return channels.ChannelSpec(
        name=values.get("name", "").strip(),
        type=type_,
        config=_config(fields, values),
        enabled=values.get("enabled", "on") == "on",
        events=events,
    )


@router.post("/ui/channels/new")
async def create_channel(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    values = await form_of(request)
    channel_type = _type_of(runtime, values.get("type", ""))
    fields = config_fields(runtime, channel_type)
    try:
        async with runtime.db.writing() as session:
            row = await channels.create_channel(
                session,
                _spec(values, fields, channel_type),
                runtime.notifiers,
                runtime.clock.now(),
            )
    except (Invalid, Conflict) as exc:
        errors = {_field_error(str(exc), fields): str(exc)}
        return _form(request, runtime, viewer, channel_type, values, errors, status=422)
    return RedirectResponse(f"/ui/channels?done=Created+{quote(row.name)}", 303)


@router.get("/ui/channels/{id}/edit")
async def edit_channel(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str
) -> Response:
    try:
        async with runtime.db.reading() as session:
            row = await channels.get_channel(session, id)
    except NotFound as exc:
        return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))
    out = ChannelOut.of(row, runtime.notifiers)
    values = {f"config.{k}": _shown(v) for k, v in out.config.items()}
    values.update(name=out.name, events=", ".join(out.events), enabled="on" if out.enabled else "")
    return _form(request, runtime, viewer, out.type, values, {}, editing=str(out.id))


@router.post("/ui/channels/{id}/edit")
async def update_channel(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str
) -> Response:
    values = await form_of(request)
    try:
        async with runtime.db.reading() as session:
            channel_type = (await channels.get_channel(session, id)).type
        fields = config_fields(runtime, channel_type)
        spec = _spec(values, fields, channel_type)
        async with runtime.db.writing() as session:
            row = await channels.update_channel(
                session,
                id,
                spec,
                {"name", "config", "enabled", "events"},
                runtime.notifiers,
                runtime.clock.now(),
            )
    except NotFound as exc:
        return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))
    except (Invalid, Conflict) as exc:
        errors = {_field_error(str(exc), fields): str(exc)}
        return _form(request, runtime, viewer, channel_type, values, errors, editing=id, status=422)
    return RedirectResponse(f"/ui/channels?done=Saved+{quote(row.name)}", 303)


@router.post("/ui/channels/{id}/test")
async def test_channel(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str
) -> Response:
    try:
        async with runtime.db.reading() as session:
            row = await channels.get_channel(session, id)
    except NotFound as exc:
        return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))
    error = await channels.send_test(
        row, runtime.notifiers, runtime.notify_context, runtime.clock.now()
    )
    notice = f"Test sent to {row.name}" if error is None else f"Test to {row.name} failed: {error}"
    return RedirectResponse(f"/ui/channels?done={quote(notice)}", 303)


@router.post("/ui/channels/{id}/delete")
async def delete_channel(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str
) -> Response:
    try:
        async with runtime.db.writing() as session:
            await channels.delete_channel(session, id)
    except NotFound as exc:
        return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))
    return RedirectResponse("/ui/channels?done=Deleted", 303)
