"""Keys and users, for admins: the API keys (create one, shown once; revoke one) and the
users who log in here. Like the API's `/keys`, even reading them needs admin rights."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from heartwatch.api.auth import REAL_TIME
from heartwatch.api.deps import RuntimeDep
from heartwatch.domain.auth import LIFETIME_RULE, Role, parse_lifetime
from heartwatch.runtime import Runtime
from heartwatch.services import auth
from heartwatch.services.errors import Invalid, NotFound
from heartwatch.web.access import Viewer, ViewerDep, form_of
from heartwatch.web.templating import render

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    *,
    status: int = 200,
    new_key: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    now = REAL_TIME.now()
    async with runtime.db.reading() as session:
        keys = [(k, auth.key_state(k, now)) for k in await auth.list_keys(session)]
        users = await auth.list_users(session)
    return render(
        request,
        viewer,
        "keys.html",
        status,
        keys=keys,
        users=users,
        roles=[r.value for r in Role],
        new_key=new_key,
        errors=errors or {},
        values=values or {},
        notice=notice,
        lifetime_rule=LIFETIME_RULE,
    )


@router.get("/ui/keys")
async def keys_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, done: str = ""
) -> Response:
    return await _page(request, runtime, viewer, notice=done[:200])


@router.post("/ui/keys")
async def create_key(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    values = await form_of(request)
    errors: dict[str, str] = {}
    try:
        role = Role(values.get("role", ""))
    except ValueError:
        errors["role"] = f"one of {', '.join(r.value for r in Role)}"
    expires = values.get("expires_in", "").strip()
    lifetime = None
    if expires:
        try:
            lifetime = parse_lifetime(expires)
        except ValueError as exc:
            errors["expires_in"] = str(exc)
    if not errors:
        now = REAL_TIME.now()
        try:
            _, full_key = await runtime.authn.create_key(
                values.get("name", ""), role, now + lifetime if lifetime else None, now
            )
        except Invalid as exc:
            errors["name"] = str(exc)
        else:
            # Shown once, in this answer (never in a URL, never again).
            return await _page(request, runtime, viewer, new_key=full_key)
    return await _page(request, runtime, viewer, status=422, errors=errors, values=values)


@router.post("/ui/keys/{id}/revoke")
async def revoke_key(request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str) -> Response:
    try:
        row = await runtime.authn.revoke_key(id, REAL_TIME.now())
    except NotFound as exc:
        return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))
    return RedirectResponse(f"/ui/keys?done=Revoked+{row.id}", 303)
