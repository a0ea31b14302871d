"""A service moved from Uptime Kuma keeps its push URL: its own `push_token`."""

from __future__ import annotations

import httpx

from heartwatch.domain.push_tokens import InvalidPushToken, check_push_token


async def test_the_old_kuma_push_url_keeps_working(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/services", json={"key": "backup", "push_token": "Kx7wQ2pLr9", "expected_period_sec": 3600}
    )
    assert created.status_code == 201, created.text
    assert created.json()["push_token"] == "Kx7wQ2pLr9"
    pushed = await client.get("/api/push/Kx7wQ2pLr9?status=up&msg=OK&ping=12")
    assert pushed.status_code == 200 and pushed.json() == {"ok": True}
    service = (await client.get("/services/backup")).json()
    assert service["status"] == "alive" and service["heartbeat_count"] == 1
    failed = await client.get("/api/push/Kx7wQ2pLr9?status=down&msg=disk%20full")
    assert failed.status_code == 200
    assert (await client.get("/services/backup")).json()["status"] == "down"
    # the id works as before; an unknown token is Kuma's own 404
    assert (await client.get(f"/api/push/{service['id']}")).status_code == 200
    unknown = await client.get("/api/push/NoSuchToken1")
    assert unknown.status_code == 404 and unknown.json()["ok"] is False


async def test_a_push_token_is_unique_long_and_url_safe(client: httpx.AsyncClient) -> None:
    assert (
        await client.post("/services", json={"key": "a", "push_token": "tok-en_0001"})
    ).status_code == 201
    taken = await client.post("/services", json={"key": "b", "push_token": "tok-en_0001"})
    assert taken.status_code == 409 and "push_token" in taken.json()["detail"]
    for bad in ("short", "has space1", "ü-nicode-token", "01a23792-817d-7148-a9ee-febcc5286941"):
        refused = await client.post("/services", json={"key": "b", "push_token": bad})
        assert refused.status_code == 422, bad
        assert "push token" in refused.json()["detail"], refused.json()
    # PATCH sets, moves and removes it
    assert (await client.post("/services", json={"key": "b"})).status_code == 201
    moved = await client.patch("/services/a", json={"push_token": "another-token"})
    assert moved.status_code == 200 and moved.json()["push_token"] == "another-token"
    assert (
        await client.patch("/services/b", json={"push_token": "tok-en_0001"})
    ).status_code == 200
    assert (await client.get("/api/push/tok-en_0001")).status_code == 200
    assert (await client.get("/services/b")).json()["heartbeat_count"] == 1
    cleared = await client.patch("/services/b", json={"push_token": None})
    assert cleared.status_code == 200 and cleared.json()["push_token"] is None
    assert (await client.get("/api/push/tok-en_0001")).status_code == 404


def test_the_push_token_rule() -> None:
    assert check_push_token("abcdEFGH") == "abcdEFGH"
    for bad in ("abcdEFG", "x" * 101, "a/b/c/d/e", "a?b=cdefg"):
        try:
            check_push_token(bad)
        except InvalidPushToken:
            continue
        raise AssertionError(bad)
