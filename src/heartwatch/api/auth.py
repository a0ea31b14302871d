"""Access control for the API: who sent a request, and whether they may use its route.

A request names its principal with an API key, as `Authorization: Bearer <key>` or
`X-Api-Key: <key>` (both declared as FastAPI security schemes, so both appear in the
OpenAPI). Every router except the public ones (health, the docs) and the heartbeat ones
is included with `dependencies=[Depends(authorize)]` (api/app.py), and
tests/api/test_access.py fails for any route that is none of the three.

A route's access level follows its method: GET and HEAD read, everything else writes;
`ACCESS_OVERRIDES` names the exceptions. What a role may do is `domain.auth.may`'s
decision, never this module's.

With no credential at all (no key, no user, no HEARTWATCH_ADMIN_KEY), access control is
off: a server on a loopback address serves everyone on this machine, as heartwatch always
did, but not a request relayed by a reverse proxy (which makes a loopback address
public); with HEARTWATCH_AUTH=off it serves everyone. One that listens further refuses to
start (processes.py), and if its credentials are all deleted while it runs, it refuses
every protected request.

Keys are checked, created and expire in real time, not in dev mode's movable time (the
CLI stamps them in real time too).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.problems import problems
from heartwatch.clock import SystemClock
from heartwatch.domain.auth import Access, AuthMode, access_needed, sees_secrets
from heartwatch.domain.ratelimit import client_bucket, retry_after_header
from heartwatch.runtime import Runtime
from heartwatch.services.auth import Principal

REALM = "heartwatch"
REAL_TIME = SystemClock()

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearerApiKey",
    bearerFormat="hwk_<id>_<secret>",
    description="An API key: `Authorization: Bearer hwk_...`",
)
API_KEY_HEADER = APIKeyHeader(
    name="X-Api-Key",
    auto_error=False,
    scheme_name="headerApiKey",
    description="An API key: `X-Api-Key: hwk_...`",
)

# (method, route path) -> the access it needs, where the method alone does not say.
ACCESS_OVERRIDES: dict[tuple[str, str], Access] = {
    # Day-to-day actions, for a role that operates services but does not configure them.
    ("POST", "/services/{id}/check"): Access.OPERATE,
    ("POST", "/services/{id}/pause"): Access.OPERATE,
    ("POST", "/services/{id}/resume"): Access.OPERATE,
    ("POST", "/services/{id}/mute"): Access.OPERATE,
    ("DELETE", "/services/{id}/mute"): Access.OPERATE,
    # Reads that only who may configure heartwatch makes: its credentials, and the clock
    # of dev mode (which is moved by whoever reads it).
    ("GET", "/keys"): Access.WRITE,
    ("GET", "/dev/clock"): Access.WRITE,
}


def required_access(method: str, path: str | None) -> Access:
    """The access a request needs; `path` is its route's (None: unknown, so the most)."""
    return access_needed(method, path, ACCESS_OVERRIDES)


# Declared on every protected router, for the OpenAPI.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = problems(400, 401, 403, 429)


def _challenge(error: str | None = None) -> dict[str, str]:
    value = f'Bearer realm="{REALM}"'
    if error is not None:
        value += f', error="{error}"'
    return {"WWW-Authenticate": value}


def _unauthorized(detail: str, error: str | None = None) -> HTTPException:
    return HTTPException(401, detail, headers=_challenge(error))


def _presented(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    """The key the request sends, from either header; two different ones are a mistake."""
    from_bearer = bearer.credentials.strip() if bearer is not None else None
    from_header = header.strip() if header is not None else None
    if from_bearer and from_header and from_bearer != from_header:
        raise HTTPException(400, "two different API keys (Authorization and X-Api-Key): send one")
    return from_bearer or from_header or None


# Set by a reverse proxy (uvicorn keeps them after reading the client's address).
_PROXY_HEADERS = ("x-forwarded-for", "forwarded")


def _served_open(request: Request, runtime: Runtime) -> bool:
    """With no credential at all: whether this request is served anyway."""
    if runtime.settings.auth is AuthMode.OFF:
        return True
    relayed = any(name in request.headers for name in _PROXY_HEADERS)
    return runtime.may_run_open and not relayed


def _route_path(request: Request) -> str | None:
    path = getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else None


async def authorize(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    header: Annotated[str | None, Depends(API_KEY_HEADER)],
) -> Principal | None:
    """The request's principal, if it may use the route; None when access control is
    off. Refuses with 401 (no key, or a bad one), 403 (a role that may not) or 429 (an
    address that sent too many bad keys: told before its key is even hashed)."""
    authn = runtime.authn
    if not await authn.enabled():
        if _served_open(request, runtime):
            return None
        raise _unauthorized(
            "no API key or user exists, and this request comes from beyond this machine: "
            "create one with `heartwatch keys create --role admin --name NAME`"
        )
    presented = _presented(bearer, header)
    if presented is None:
        raise _unauthorized("an API key is needed: `Authorization: Bearer <key>` or `X-Api-Key`")
    failures = runtime.auth_failures
    client = client_bucket(request.client.host if request.client else None)
    wait = failures.retry_after(client, time.monotonic())
    if wait is not None:
        raise HTTPException(
            429,
            f"too many failed API keys from this address; retry in {retry_after_header(wait)} s",
            headers={"Retry-After": retry_after_header(wait)},
        )
    principal = await authn.verify_key(presented, REAL_TIME.now())
    if principal is None:
        failures.failed(client, time.monotonic())
        raise _unauthorized("the API key is unknown, revoked or expired", "invalid_token")
    access = required_access(request.method, _route_path(request))
    if not principal.may(access):
        raise HTTPException(
            403,
            f"the {principal.role.value} role may not do this (it needs {access.value} access)",
            headers=_challenge("insufficient_scope"),
        )
    return principal


PrincipalDep = Annotated[Principal | None, Depends(authorize)]


def _is_protected(request: Request) -> bool:
    """Whether `authorize` guards the request's route: one of the routes of the routers
    api/app.py includes with it (`app.state.protected_routes`, their ids: a route is not
    hashable)."""
    protected: frozenset[int] = getattr(request.app.state, "protected_routes", frozenset())
    return id(request.scope.get("route")) in protected


async def refusal_before_validation(request: Request) -> JSONResponse | None:
    """What `authorize` answers this request, if it refuses it. FastAPI parses a JSON body
    before it runs a route's dependencies, so a body that is not JSON was a 422 before
    the key was even looked at: an anonymous client could probe the routes' input. The
    validation error handler asks this first (api/errors.py): no key, no 422."""
    if not _is_protected(request):
        return None
    runtime: Runtime = request.app.state.runtime
    try:
        await authorize(request, runtime, await BEARER(request), await API_KEY_HEADER(request))
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    return None


async def _reveals(principal: PrincipalDep) -> bool:
    # `authorize` is the router's dependency too: FastAPI runs it once per request.
    return principal is None or sees_secrets(principal.role)


# Whether the response may show the request's principal a service's secrets: its id
# (its ping URLs' secret) and what its checks read (domain.auth.sees_secrets). Access
# control off: everything, as before.
Reveal = Annotated[bool, Depends(_reveals)]
