"""The dashboard's pages: the overview at `/` and a page per service, with the admin's
actions on it (forms that post and come back: every page works without JavaScript)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.metrics_schemas import IncidentOut
from heartwatch.api.schemas import CheckResultOut, HeartbeatOut, TransitionOut
from heartwatch.domain.service_types import is_probe
from heartwatch.domain.status import Status
from heartwatch.services import dashboard, incidents, probes, registry, uptime
from heartwatch.services.errors import Invalid, NotFound
from heartwatch.web import charts
from heartwatch.web.access import ViewerDep, form_of
from heartwatch.web.templating import render

router = APIRouter(include_in_schema=False)

WINDOWS = (("24 h", timedelta(hours=24)), ("7 d", timedelta(days=7)),
           ("30 d", timedelta(days=30)), ("90 d", timedelta(days=90)))  # fmt: skip
RECENT = 20
MUTE_CHOICES = (15, 60, 240, 1440)


def _status_param(value: str | None) -> Status | None:
    if not value:
        return None
    try:
        return Status(value)
    except ValueError:
        raise HTTPException(422, f"status must be one of {', '.join(Status)}") from None


@router.get("/")
async def overview(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    status: str | None = None,
    tag: str = "",
    q: str = "",
) -> Response:
    chosen = dashboard.Filter(_status_param(status), tag.strip()[:50], q.strip()[:100])
    now = runtime.clock.now()
    async with runtime.db.reading() as session:
        cards = await dashboard.cards(session, runtime.rules, now, reveal=viewer.reveal)
    counts = dashboard.counts(cards)
    problems = counts[Status.DOWN] + counts[Status.DEAD]
    return render(
        request,
        viewer,
        "overview.html",
        cards=[c for c in cards if chosen.keeps(c)],
        total=len(cards),
        counts=counts,
        down=problems,
        tags=dashboard.all_tags(cards),
        chosen=chosen,
        version=dashboard.version(cards),
        now=now,
    )


async def _service_context(runtime: RuntimeDep, viewer: ViewerDep, ident: str) -> dict[str, Any]:
    now = runtime.clock.now()
    reveal = viewer.reveal
    async with runtime.db.reading() as session:
        row = await registry.get_service(session, ident)
        card = dashboard.card_of(row, runtime.rules, now, reveal)
        windows = []
        for label, span in WINDOWS:
            (report,) = await uptime.reports(
                session, [row], now - span, now, with_latency=is_probe(row.type)
            )
            windows.append((label, report))
        found = await incidents.page(session, service_id=row.id, limit=RECENT)
        days = await dashboard.daily_uptime(session, row.id, row.created_at, now)
        changes = await registry.state_history(
            session, service_key=row.key, start=None, end=None, limit=RECENT
        )
        if is_probe(row.type):
            results = await registry.check_results(session, row, limit=RECENT)
            recent: list[Any] = [CheckResultOut.of(r, reveal=reveal) for r in results]
        else:
            recent = [
                HeartbeatOut.of(b) for b in await registry.heartbeats(session, row, limit=RECENT)
            ]
    return {
        "service": row,
        "card": card,
        "windows": windows,
        "uptime_bar": charts.uptime_bar(days),
        "incidents": [IncidentOut.of(i, reveal=reveal) for i in found],
        "transitions": [TransitionOut.of(t, key, reveal=reveal) for t, key in changes],
        "recent": recent,
        "probe": is_probe(row.type),
        "muted": row.muted_until is not None and row.muted_until > now,
        "mute_choices": MUTE_CHOICES,
        "now": now,
    }


def _not_found(request: Request, viewer: ViewerDep, exc: NotFound) -> Response:
    return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))


@router.get("/ui/services/{id}")
async def service_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str, done: str = ""
) -> Response:
    try:
        context = await _service_context(runtime, viewer, id)
    except NotFound as exc:
        return _not_found(request, viewer, exc)
    base = (runtime.settings.public_url or str(request.base_url)).rstrip("/")
    ping_url = f"{base}/heartbeat/{quote(context['service'].key, safe='')}"
    return render(
        request,
        viewer,
        "service.html",
        notice=done[:200],
        base_url=base,
        ping_url=ping_url,
        **context,
    )


def _back(key: str, notice: str) -> Response:
    return RedirectResponse(f"/ui/services/{quote(key, safe='')}?done={quote(notice)}", 303)


async def _act(request: Request, viewer: ViewerDep, id: str, work: Any) -> Response:
    try:
        return await work()  # type: ignore[no-any-return]
    except NotFound as exc:
        return _not_found(request, viewer, exc)
    except Invalid as exc:
        return render(request, viewer, "error.html", 422, title="Not done", message=str(exc))


@router.post("/ui/services/{id}/check")
async def check_now(request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str) -> Response:
    async def work() -> Response:
        async with runtime.db.reading() as session:
            row = await registry.get_service(session, id)
        if not is_probe(row.type):
            raise Invalid("a heartbeat service is not checked: it reports in")
        result = await probes.check_now(
            runtime.db,
            id,
            checkers=runtime.checkers,
            context=runtime.check_context,
            clock=runtime.clock,
            dead_after=runtime.rules.dead_after,
        )
        verdict = "up" if result.up else f"down: {result.error or result.failed_assertion}"
        return _back(row.key, f"Checked now: {verdict}")

    return await _act(request, viewer, id, work)


async def _change(
    runtime: RuntimeDep, id: str, changes: registry.ServiceChanges, notice: str
) -> Response:
    row = await registry.change_service(
        runtime.db,
        id,
        changes,
        rules=runtime.rules,
        now=runtime.clock.now(),
        checkers=runtime.checkers,
    )
    return _back(row.key, notice)


@router.post("/ui/services/{id}/pause")
async def pause(request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str) -> Response:
    changes = registry.ServiceChanges(paused=True)
    return await _act(request, viewer, id, lambda: _change(runtime, id, changes, "Paused"))


@router.post("/ui/services/{id}/resume")
async def resume(request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str) -> Response:
    changes = registry.ServiceChanges(paused=False)
    return await _act(request, viewer, id, lambda: _change(runtime, id, changes, "Resumed"))


@router.post("/ui/services/{id}/mute")
async def mute(request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str) -> Response:
    form = await form_of(request)
    try:
        minutes = int(form.get("minutes", ""))
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= 30 * 24 * 60:
        return render(
            request, viewer, "error.html", 422, title="Not muted",
            message="choose for how long to mute: 1 minute to 30 days",
        )  # fmt: skip

    async def work() -> Response:
        now = runtime.clock.now()
        async with runtime.db.writing() as session:
            row = await registry.mute(session, id, until=now + timedelta(minutes=minutes), now=now)
        return _back(row.key, f"Muted for {minutes} min")

    return await _act(request, viewer, id, work)


@router.post("/ui/services/{id}/unmute")
async def unmute(request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str) -> Response:
    async def work() -> Response:
        async with runtime.db.writing() as session:
            row = await registry.unmute(session, id)
        return _back(row.key, "Unmuted")

    return await _act(request, viewer, id, work)


@router.get("/ui/services/{id}/delete")
async def confirm_delete(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str
) -> Response:
    try:
        async with runtime.db.reading() as session:
            row = await registry.get_service(session, id)
    except NotFound as exc:
        return _not_found(request, viewer, exc)
    return render(request, viewer, "delete.html", service=row)


@router.post("/ui/services/{id}/delete")
async def delete(request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str) -> Response:
    async def work() -> Response:
        async with runtime.db.writing() as session:
            await registry.delete_service(session, id)
        return RedirectResponse("/", 303)

    return await _act(request, viewer, id, work)
