"""Log-in and log-out.

Failed log-ins are limited per user name and per address (`LOGIN_FAILURES_PER_MINUTE`
each, a sliding minute, in this process): past that the form answers 429 before the
password is even hashed, so guessing costs the guesser time and the server no argon2
work. A successful log-in clears its name's count.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from heartwatch.api.auth import REAL_TIME, _served_open
from heartwatch.api.deps import RuntimeDep
from heartwatch.domain.auth import NAME_MAX_LENGTH, fold_name
from heartwatch.domain.ratelimit import FailureWindow, client_bucket, retry_after_header
from heartwatch.services import auth, web_sessions
from heartwatch.web.access import (
    CSRF_FIELD,
    SESSION_COOKIE,
    ViewerDep,
    check_csrf,
    cookie_csrf,
    form_of,
    safe_next,
)
from heartwatch.web.templating import render, secure, set_csrf_cookie

LOGIN_FAILURES_PER_MINUTE = 5

router = APIRouter(include_in_schema=False)


class LoginLimits:
    """Failed log-ins per user name and per client address (one per app)."""

    def __init__(self, limit: int = LOGIN_FAILURES_PER_MINUTE, window_s: float = 60.0) -> None:
        self.by_name = FailureWindow(limit, window_s)
        self.by_address = FailureWindow(limit, window_s)

    def retry_after(self, name: str, address: str, now: float) -> float | None:
        waits = [
            w
            for w in (
                self.by_name.retry_after(name, now),
                self.by_address.retry_after(address, now),
            )
            if w is not None
        ]
        return max(waits) if waits else None

    def failed(self, name: str, address: str, now: float) -> None:
        self.by_name.failed(name, now)
        self.by_address.failed(address, now)


def _limits(request: Request) -> LoginLimits:
    limits: LoginLimits = request.app.state.login_limits
    return limits


def _login_page(
    request: Request, next_path: str, *, error: str | None, name: str = "", status: int = 200
) -> Response:
    token, new = cookie_csrf(request)
    response = render(
        request, None, "login.html", status, csrf=token, next=next_path, error=error, name=name
    )
    if new:
        set_csrf_cookie(request, response, token)
    return response


@router.get("/login")
async def login_form(request: Request, runtime: RuntimeDep, next: str = "/") -> Response:
    if not await runtime.authn.enabled() and _served_open(request, runtime):
        return RedirectResponse(safe_next(next), 303)
    return _login_page(request, safe_next(next), error=None)


@router.post("/login")
async def login(request: Request, runtime: RuntimeDep) -> Response:
    form = await form_of(request)
    next_path = safe_next(form.get("next"))
    name = form.get("name", "")[: 4 * NAME_MAX_LENGTH]
    token, new = cookie_csrf(request)
    await check_csrf(request, "" if new else token)
    limits = _limits(request)
    address = client_bucket(request.client.host if request.client else None)
    folded = fold_name(name.strip())
    wait = limits.retry_after(folded, address, time.monotonic())
    if wait is not None:
        response = _login_page(
            request,
            next_path,
            error=f"Too many failed log-ins: try again in {retry_after_header(wait)} s.",
            name=name,
            status=429,
        )
        response.headers["Retry-After"] = retry_after_header(wait)
        return response
    principal = await auth.verify_password(runtime.db, name, form.get("password", ""))
    if principal is None:
        limits.failed(folded, address, time.monotonic())
        return _login_page(
            request, next_path, error="Wrong user name or password.", name=name, status=401
        )
    limits.by_name.forget(folded)
    session_token = await web_sessions.start(runtime.db, principal, REAL_TIME.now())
    response = RedirectResponse(next_path, 303)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(web_sessions.MAX_AGE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    if viewer.via == "session":
        await web_sessions.end(runtime.db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


__all__ = ["CSRF_FIELD", "LoginLimits", "router"]
