"""Access control on the dashboard's routes, generated from the app's route table like
tests/api/test_access.py: every route that `web_authorize` guards is called by no
credential, bad keys, read and admin keys, and read and admin users' sessions."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from heartwatch.api.app import create_app
from heartwatch.api.auth import REAL_TIME
from heartwatch.domain.auth import Access
from heartwatch.domain.ratelimit import FailureWindow
from heartwatch.runtime import Runtime
from heartwatch.services import auth, web_sessions
from heartwatch.services.auth import Principal
from heartwatch.web.access import SESSION_COOKIE, required_access, session_csrf
from tests.api.conftest import Keys, with_key
from tests.api.test_access import Endpoint, endpoints, is_web
from tests.web.conftest import PASSWORD, Users


async def _session(runtime: Runtime, principal: Principal) -> str:
    """A new session each time (POST /logout ends the one it is sent with)."""
    return await web_sessions.start(runtime.db, principal, REAL_TIME.now())


async def _send(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    headers: dict[str, str] | None = None,
    session: str | None = None,
) -> httpx.Response:
    data = {"csrf": session_csrf(session)} if session and endpoint.method == "POST" else None
    client.cookies.clear()
    if session:
        client.cookies.set(SESSION_COOKIE, session)
    return await client.request(endpoint.method, endpoint.url, headers=headers, data=data)


async def test_web_routes_by_principal(
    runtime: Runtime, client: httpx.AsyncClient, keys: Keys, users: Users
) -> None:
    runtime.auth_failures = FailureWindow(limit=10**6, window_s=60)
    app: FastAPI = create_app(runtime)
    web = [e for e in endpoints(app) if is_web(e)]
    assert len(web) >= 10
    read_principal = await auth.verify_password(runtime.db, users.read, PASSWORD)
    admin_principal = await auth.verify_password(runtime.db, users.admin, PASSWORD)
    assert read_principal is not None and admin_principal is not None
    wrong: list[str] = []

    def expect(endpoint: Endpoint, who: str, response: httpx.Response, ok: bool) -> None:
        if ok != (response.status_code not in (401, 403)) or response.status_code >= 500:
            wrong.append(f"{endpoint} as {who}: {response.status_code} {response.text[:200]}")

    for endpoint in web:
        response = await _send(client, endpoint)
        assert response.status_code == 303, f"{endpoint}: {response.status_code}"
        assert response.headers["location"].startswith("/login?next=/")
        for who, key in [("unknown", keys.unknown), ("revoked", keys.revoked)]:
            response = await _send(client, endpoint, with_key(key))
            assert response.status_code == 401, f"{endpoint} as {who}: {response.status_code}"
        reads = required_access(endpoint.method, endpoint.path) is Access.READ
        expect(endpoint, "read key", await _send(client, endpoint, {"X-Api-Key": keys.read}), reads)
        read_session = await _session(runtime, read_principal)
        expect(endpoint, "read user", await _send(client, endpoint, session=read_session), reads)
        expect(endpoint, "admin key", await _send(client, endpoint, with_key(keys.admin)), True)
        admin_session = await _session(runtime, admin_principal)
        response = await _send(client, endpoint, session=admin_session)
        expect(endpoint, "admin user", response, True)
    assert wrong == []
