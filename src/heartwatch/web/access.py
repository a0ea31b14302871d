"""Who is looking at the dashboard, and what they may do there.

A dashboard request names its principal with the session cookie of a log-in
(services.web_sessions) or, as the API does, with an API key (`Authorization: Bearer` /
`X-Api-Key`: scripts and tests). With no credential at all, the dashboard is open exactly
when the API is (api/auth.py: a loopback address, not through a reverse proxy, or
HEARTWATCH_AUTH=off), and then everyone is an admin.

A page asked for without a credential sends the browser to the log-in page; what a role
may do is `domain.auth.may`'s decision, per route access as in the API (`WEB_ACCESS`
names the routes that need less than WRITE; every other POST needs WRITE).

CSRF: every state change made with a cookie (a session, or the open mode, where the
browser itself is the credential) must carry a token the page gave it (`csrf` form field
or `X-CSRF-Token`), and a request whose `Origin` is another site is refused. With a
session, the token is derived from the session's secret; without one (open mode, the
log-in form), it is a random value also set as a cookie (double submit). An API key is
no ambient credential: requests with one need no token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qsl, quote

from fastapi import Depends, HTTPException, Request

from heartwatch.api.auth import REAL_TIME, _served_open
from heartwatch.api.deps import RuntimeDep
from heartwatch.domain.auth import Access, access_needed
from heartwatch.domain.ratelimit import client_bucket, retry_after_header
from heartwatch.services import web_sessions
from heartwatch.services.auth import Principal

SESSION_COOKIE = "hw_session"
CSRF_COOKIE = "hw_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

# (method, route path) -> the access it needs, where "a GET reads, anything else
# writes" does not say it.
WEB_ACCESS: dict[tuple[str, str], Access] = {
    ("POST", "/logout"): Access.READ,
    ("POST", "/ui/services/{id}/check"): Access.OPERATE,
    ("POST", "/ui/services/{id}/pause"): Access.OPERATE,
    ("POST", "/ui/services/{id}/resume"): Access.OPERATE,
    ("POST", "/ui/services/{id}/mute"): Access.OPERATE,
    ("POST", "/ui/services/{id}/unmute"): Access.OPERATE,
    # The confirmation page of a deletion: only for who may delete.
    ("GET", "/ui/services/{id}/delete"): Access.WRITE,
    # Credentials: as the API's GET /keys, read by admins only.
    ("GET", "/ui/keys"): Access.WRITE,
}


def required_access(method: str, path: str | None) -> Access:
    return access_needed(method, path, WEB_ACCESS)


class LoginRequired(Exception):
    """No credential: the browser is sent to the log-in page (then back to `next`)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a dashboard request is. `principal` None: the open mode (everyone is an admin)."""

    principal: Principal | None
    via: Literal["session", "key", "open"]
    csrf: str  # the token this viewer's forms carry ("" with a key: none needed)
    new_csrf_cookie: bool = False  # `csrf` is new: the response sets it as a cookie

    def may(self, access: Access) -> bool:
        return self.principal is None or self.principal.may(access)

    @property
    def can_operate(self) -> bool:
        return self.may(Access.OPERATE)

    @property
    def can_write(self) -> bool:
        return self.may(Access.WRITE)

    @property
    def reveal(self) -> bool:
        """Whether pages show this viewer the services' secrets (as the API's `Reveal`)."""
        return self.can_write

    @property
    def name(self) -> str:
        return "open mode" if self.principal is None else self.principal.name


def session_csrf(token: str) -> str:
    """A session's CSRF token: derived from its secret, so no one without the cookie can
    compute it, and it ends with the session."""
    return hmac.new(token.encode(), b"heartwatch csrf", hashlib.sha256).hexdigest()[:40]


def cookie_csrf(request: Request) -> tuple[str, bool]:
    """The double-submit token: the request's `hw_csrf` cookie, or a new one (True)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if (
        20 <= len(current) <= 64
        and current.isascii()
        and current.replace("-", "").replace("_", "").isalnum()
    ):
        return current, False
    return secrets.token_urlsafe(24), True


async def form_of(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (the dashboard's forms), last value of
    each field; anything else reads as no fields."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "the form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=200))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # (older browsers send none on same-site form posts)
        return True
    host = request.headers.get("host", "")
    return origin in (f"{request.url.scheme}://{host}", f"http://{host}", f"https://{host}")


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse (403) a state change without the page's token, or from another site."""
    if not _same_origin(request):
        raise HTTPException(403, "a request from another site (its Origin) is refused")
    sent = request.headers.get(CSRF_HEADER) or (await form_of(request)).get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            403, "the form's CSRF token is missing or stale: reload the page and try again"
        )


def _route_path(request: Request) -> str | None:
    path = getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else None


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    header = request.headers.get("x-api-key", "").strip()
    return header or None


def _login_target(request: Request) -> str:
    path = request.url.path
    if request.method != "GET":
        return "/"
    if request.url.query:
        path += "?" + request.url.query
    return path


async def _by_key(request: Request, runtime: RuntimeDep, presented: str) -> Principal:
    failures = runtime.auth_failures
    client = client_bucket(request.client.host if request.client else None)
    wait = failures.retry_after(client, time.monotonic())
    if wait is not None:
        raise HTTPException(
            429,
            f"too many failed API keys from this address; retry in {retry_after_header(wait)} s",
            headers={"Retry-After": retry_after_header(wait)},
        )
    principal = await runtime.authn.verify_key(presented, REAL_TIME.now())
    if principal is None:
        failures.failed(client, time.monotonic())
        raise HTTPException(
            401,
            "the API key is unknown, revoked or expired",
            headers={"WWW-Authenticate": 'Bearer realm="heartwatch", error="invalid_token"'},
        )
    return principal


async def web_authorize(request: Request, runtime: RuntimeDep) -> Viewer:
    """The dashboard request's viewer, if it may use the route (and, for a state change
    made with a cookie, sent the page's CSRF token)."""
    access = required_access(request.method, _route_path(request))
    writes = request.method not in ("GET", "HEAD")
    if not await runtime.authn.enabled():
        if not _served_open(request, runtime):
            raise HTTPException(
                401,
                "no API key or user exists, and this request comes from beyond this machine: "
                "create a user with `heartwatch users create NAME --role admin`",
            )
        token, new = cookie_csrf(request)
        if writes:
            await check_csrf(request, "" if new else token)
        return Viewer(None, "open", token, new)
    presented = _presented_key(request)
    if presented is not None:
        viewer = Viewer(await _by_key(request, runtime, presented), "key", "")
    else:
        token = request.cookies.get(SESSION_COOKIE, "")
        principal = await web_sessions.principal_of(runtime.db, token, REAL_TIME.now())
        if principal is None:
            raise LoginRequired(_login_target(request))
        viewer = Viewer(principal, "session", session_csrf(token))
        if writes:
            await check_csrf(request, viewer.csrf)
    if not viewer.may(access):
        role = viewer.principal.role.value if viewer.principal else "admin"
        raise HTTPException(
            403, f"the {role} role may not do this (it needs {access.value} access)"
        )
    return viewer


ViewerDep = Annotated[Viewer, Depends(web_authorize)]


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site only (never `//host` or a URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
