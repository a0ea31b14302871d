"""Access control, generated from the app's own route table: every route is public, a
heartbeat route, or protected by `authorize`, so a route added later without protection
fails here. Each protected route is called (with placeholder path values) by no key, bad
keys, a read key and an admin key, on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from heartwatch.api.app import create_app
from heartwatch.api.auth import ACCESS_OVERRIDES, authorize, required_access
from heartwatch.domain.auth import Access
from heartwatch.domain.ratelimit import FailureWindow
from heartwatch.runtime import Runtime
from heartwatch.web.access import web_authorize
from tests.api.conftest import Keys, with_key

# Open to anyone: liveness, readiness, and the API's documentation.
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# Open to anyone too, showing no internals: public status pages and badges.
PUBLIC_PREFIXES = ("/status/", "/badge/")
# The dashboard's log-in page and its CSS and JavaScript (tests/web covers them).
WEB_PUBLIC = {"/login", "/ui/static/{name}"}
# Senders report in without an API key (the ping key is their rule).
HEARTBEAT_PREFIXES = ("/heartbeat", "/ping/", "/api/push/")
# Read routes that a read key may still not use: credentials, and dev mode's clock.
ADMIN_ONLY_READS = {"/keys", "/dev/clock"}

CHALLENGE = 'Bearer realm="heartwatch"'


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template: /services/{id}
    route: Any  # an APIRoute, a Starlette Route, or FastAPI's RouteContext of either

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", "placeholder", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _routes(app: FastAPI) -> list[Any]:
    """Every route as it is served (its path, methods and dependencies those of the
    app, routers' included). FastAPI 0.16x includes routers lazily, reached through
    iter_route_contexts; before, app.routes listed them."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        return list(app.routes)
    return list(contexts(app.routes))


def endpoints(app: FastAPI) -> Iterator[Endpoint]:
    for route in _routes(app):
        path = getattr(route, "path", None)
        assert isinstance(path, str), route
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":  # answered as its GET
                yield Endpoint(method, path, route)


def _calls(route: Any) -> set[object]:
    """Every callable that runs before the route's endpoint (and the endpoint)."""
    dependant: Dependant | None = getattr(route, "dependant", None)
    if dependant is None:  # a plain Starlette route: the docs
        return set()
    found: set[object] = set()
    stack = [dependant]
    while stack:
        dependant = stack.pop()
        found.add(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def is_protected(endpoint: Endpoint) -> bool:
    return authorize in _calls(endpoint.route)


def is_web(endpoint: Endpoint) -> bool:
    """A dashboard route: a log-in session or an API key (web/access.py)."""
    return web_authorize in _calls(endpoint.route)


def is_heartbeat(endpoint: Endpoint) -> bool:
    return endpoint.path == "/heartbeat" or endpoint.path.startswith(HEARTBEAT_PREFIXES)


def read_key_may(endpoint: Endpoint) -> bool:
    return endpoint.method == "GET" and endpoint.path not in ADMIN_ONLY_READS


def classify(endpoint: Endpoint) -> str:
    if is_protected(endpoint):
        return "protected"
    if is_web(endpoint):
        return "web"
    if (
        endpoint.path in PUBLIC
        or endpoint.path in WEB_PUBLIC
        or endpoint.path.startswith(PUBLIC_PREFIXES)
    ):
        return "public"
    if is_heartbeat(endpoint):
        return "heartbeat"
    return "unclassified"


async def _send(
    client: httpx.AsyncClient, endpoint: Endpoint, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.request(endpoint.method, endpoint.url, headers=headers)


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)  # dev mode: /dev/clock is mounted too


def test_every_route_is_classified(app: FastAPI) -> None:
    found = list(endpoints(app))
    assert len(found) > 40  # the walk saw the included routers
    kinds = {str(e): classify(e) for e in found}
    assert [e for e, kind in kinds.items() if kind == "unclassified"] == []
    # A heartbeat or public route under `authorize` would shut senders and probes out.
    for e in found:
        if e.path in PUBLIC or e.path.startswith(PUBLIC_PREFIXES) or is_heartbeat(e):
            assert not is_protected(e), e
        assert not (is_protected(e) and is_web(e)), e
    assert kinds["GET /services"] == kinds["POST /dev/clock"] == kinds["POST /keys"] == "protected"
    assert kinds["POST /heartbeat/{key}"] == kinds["GET /ping/{service_id}"] == "heartbeat"
    assert kinds["GET /healthz"] == kinds["GET /openapi.json"] == "public"
    assert kinds["GET /status/{slug}"] == kinds["GET /badge/{token}/status.svg"] == "public"
    assert kinds["POST /status-pages"] == kinds["POST /services/{id}/badge-token"] == "protected"
    assert kinds["GET /"] == kinds["POST /ui/services/{id}/check"] == "web"


def test_every_access_override_names_a_route(app: FastAPI) -> None:
    protected = {(e.method, e.path) for e in endpoints(app) if is_protected(e)}
    assert set(ACCESS_OVERRIDES) <= protected


async def test_protected_routes_by_principal(
    runtime: Runtime, app: FastAPI, client: httpx.AsyncClient, keys: Keys
) -> None:
    # Hundreds of bad keys from one address: the limit is tested on its own.
    runtime.auth_failures = FailureWindow(limit=10**6, window_s=60)
    protected = [e for e in endpoints(app) if is_protected(e)]
    wrong: list[str] = []

    def expect(endpoint: Endpoint, who: str, response: httpx.Response, ok: bool) -> None:
        if ok != (response.status_code not in (401, 403)):
            wrong.append(f"{endpoint} as {who}: {response.status_code} {response.text[:200]}")

    for endpoint in protected:
        response = await _send(client, endpoint)
        assert response.status_code == 401, f"{endpoint}: {response.status_code}"
        assert response.headers["WWW-Authenticate"] == CHALLENGE
        assert isinstance(response.json()["detail"], str)

        for who, key in [
            ("unknown", keys.unknown),
            ("malformed", "not-a-key"),
            ("revoked", keys.revoked),
            ("expired", keys.expired),
        ]:
            response = await _send(client, endpoint, with_key(key))
            assert response.status_code == 401, f"{endpoint} as {who}: {response.status_code}"
            assert response.headers["WWW-Authenticate"] == f'{CHALLENGE}, error="invalid_token"'
            assert isinstance(response.json()["detail"], str)

        response = await _send(client, endpoint, {"X-Api-Key": keys.read})
        expect(endpoint, "read", response, read_key_may(endpoint))
        if response.status_code == 403:
            assert response.headers["WWW-Authenticate"] == (
                f'{CHALLENGE}, error="insufficient_scope"'
            )
            assert "may not" in response.json()["detail"]

        response = await _send(client, endpoint, with_key(keys.admin))
        expect(endpoint, "admin", response, True)
        assert response.status_code < 500, f"{endpoint}: {response.text[:300]}"
    assert wrong == []


async def test_public_and_heartbeat_routes_need_no_key(
    app: FastAPI, client: httpx.AsyncClient, keys: Keys
) -> None:
    for endpoint in endpoints(app):
        if is_protected(endpoint) or is_web(endpoint) or endpoint.path in WEB_PUBLIC:
            continue
        response = await _send(client, endpoint)
        assert response.status_code not in (401, 403), f"{endpoint}: {response.status_code}"
        assert response.status_code < 500, f"{endpoint}: {response.text[:300]}"
        if endpoint.path in PUBLIC:
            assert response.status_code == 200, endpoint


async def test_without_any_credential_everything_is_open(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """No key, no user, no HEARTWATCH_ADMIN_KEY, on a loopback address: as before."""
    for endpoint in endpoints(app):
        if endpoint.method == "GET":
            response = await _send(client, endpoint)
            assert response.status_code not in (401, 403), endpoint


def test_required_access() -> None:
    assert required_access("GET", "/services") is Access.READ
    assert required_access("HEAD", "/services") is Access.READ
    assert required_access("DELETE", "/services/{id}") is Access.WRITE
    assert required_access("POST", "/services/{id}/check") is Access.OPERATE
    assert required_access("GET", "/keys") is Access.WRITE
    assert required_access("GET", None) is Access.WRITE  # a route it cannot name
