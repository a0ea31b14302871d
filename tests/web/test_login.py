"""Log-in and log-out, sessions, their expiry, the log-in rate limit and CSRF, on both
backends."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from heartwatch.api.auth import REAL_TIME
from heartwatch.runtime import Runtime
from heartwatch.services import auth, web_sessions
from heartwatch.web.access import SESSION_COOKIE
from tests.web.conftest import PASSWORD, Users, assert_valid_html, csrf_of, log_in


async def test_a_page_without_a_session_sends_to_the_log_in(
    client: httpx.AsyncClient, users: Users
) -> None:
    response = await client.get("/ui/services/x?y=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/ui/services/x%3Fy%3D1"
    page = await client.get("/login")
    assert page.status_code == 200
    assert 'name="password"' in page.text


async def test_log_in_and_out(client: httpx.AsyncClient, users: Users) -> None:
    page = await client.get("/login?next=/%3Fstatus%3Ddown")
    response = await client.post(
        "/login",
        data={"name": "ALICE", "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/?x=1"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/?x=1"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    overview = await client.get("/")
    assert overview.status_code == 200
    assert "alice (admin)" in overview.text
    out = await client.post("/logout", data={"csrf": csrf_of(overview.text)})
    assert out.status_code == 303
    assert (await client.get("/")).status_code == 303
    # The session is gone from the database, not only from this browser.
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    client.cookies.set(SESSION_COOKIE, token)
    assert (await client.get("/")).status_code == 303


async def test_the_cookie_is_secure_behind_tls(runtime: Runtime, users: Users) -> None:
    from heartwatch.api.app import create_asgi_app

    transport = httpx.ASGITransport(app=create_asgi_app(runtime), client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="https://hw") as tls:
        page = await tls.get("/login")
        assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie
        response = await tls.post(
            "/login", data={"name": "alice", "password": PASSWORD, "csrf": csrf_of(page.text)}
        )
        assert "Secure" in response.headers["set-cookie"]


async def test_wrong_passwords_and_the_rate_limit(client: httpx.AsyncClient, users: Users) -> None:
    csrf = csrf_of((await client.get("/login")).text)
    for _ in range(5):
        form = {"name": "alice", "password": "nope", "csrf": csrf}
        wrong = await client.post("/login", data=form)
        assert wrong.status_code == 401
        assert "Wrong user name or password" in wrong.text
    blocked = await client.post(
        "/login", data={"name": "alice", "password": PASSWORD, "csrf": csrf}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    # The address is held back too, whatever the name.
    other = await client.post("/login", data={"name": "rita", "password": PASSWORD, "csrf": csrf})
    assert other.status_code == 429


async def test_a_log_in_needs_the_forms_csrf_token(client: httpx.AsyncClient, users: Users) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


async def test_an_expired_session_logs_out(
    runtime: Runtime, client: httpx.AsyncClient, users: Users
) -> None:
    alice = await auth.verify_password(runtime.db, "alice", PASSWORD)
    assert alice is not None
    long_ago = REAL_TIME.now() - web_sessions.IDLE - timedelta(minutes=1)
    token = await web_sessions.start(runtime.db, alice, long_ago)
    client.cookies.set(SESSION_COOKIE, token)
    assert (await client.get("/")).status_code == 303
    fresh = await web_sessions.start(runtime.db, alice, REAL_TIME.now())
    client.cookies.set(SESSION_COOKIE, fresh)
    assert (await client.get("/")).status_code == 200


async def test_a_deleted_user_is_logged_out_at_once(
    runtime: Runtime, client: httpx.AsyncClient, users: Users
) -> None:
    await log_in(client, "alice")
    assert (await client.get("/")).status_code == 200
    async with runtime.db.writing() as session:
        await auth.delete_user(session, "alice")
    assert (await client.get("/")).status_code == 303


async def test_state_changes_need_the_csrf_token_and_this_site(
    client: httpx.AsyncClient, users: Users
) -> None:
    await client.post("/heartbeat/billing?period=60")
    await log_in(client, "alice")
    page = await client.get("/ui/services/billing")
    csrf = csrf_of(page.text)
    assert (await client.post("/ui/services/billing/pause")).status_code == 403
    bad = await client.post("/ui/services/billing/pause", data={"csrf": "x" * 40})
    assert bad.status_code == 403
    elsewhere = await client.post(
        "/ui/services/billing/pause",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403
    ok = await client.post(
        "/ui/services/billing/pause", data={"csrf": csrf}, headers={"Origin": "http://hw"}
    )
    assert ok.status_code == 303
    assert "paused" in (await client.get(ok.headers["location"])).text


async def test_a_read_user_sees_no_write_controls_and_may_not_act(
    client: httpx.AsyncClient, users: Users
) -> None:
    await client.post("/heartbeat/billing?period=60")
    await log_in(client, "rita")
    page = await client.get("/ui/services/billing")
    assert page.status_code == 200
    assert "rita (read)" in page.text
    for control in ("Pause", "Mute", "Delete", "/pause", "/delete"):
        assert control not in page.text
    refused = await client.post("/ui/services/billing/pause", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    assert (await client.get("/ui/services/billing/delete")).status_code == 403


async def test_keys_and_users(runtime: Runtime, client: httpx.AsyncClient, users: Users) -> None:
    await log_in(client, "alice")
    page = await client.get("/ui/keys")
    assert page.status_code == 200
    assert_valid_html(page.text)
    assert "rita" in page.text and "alice" in page.text
    csrf = csrf_of(page.text)
    bad = await client.post(
        "/ui/keys", data={"csrf": csrf, "name": "grafana", "role": "read", "expires_in": "soon"}
    )
    assert bad.status_code == 422
    assert_valid_html(bad.text)
    assert 'id="ke-expires_in"' in bad.text
    made = await client.post(
        "/ui/keys", data={"csrf": csrf, "name": "grafana", "role": "read", "expires_in": "90d"}
    )
    assert made.status_code == 200
    key = re.search(r'<pre class="snippet" id="new-key">(hwk_[A-Za-z0-9_]+)</pre>', made.text)
    assert key is not None
    assert (await client.get("/services", headers={"X-Api-Key": key[1]})).status_code == 200
    key_id = key[1].split("_")[1]
    revoked = await client.post(f"/ui/keys/{key_id}/revoke", data={"csrf": csrf})
    assert revoked.status_code == 303
    after = await client.get(revoked.headers["location"])
    assert f"Revoked {key_id}" in after.text
    assert key[1] not in after.text  # never shown again
    assert (await client.get("/services", headers={"X-Api-Key": key[1]})).status_code == 401
