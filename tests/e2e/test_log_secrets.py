"""No credential reaches the logs, at debug level, through a realistic session: a real
heartwatch process (API + worker, access log on) and the CLI, every log line captured
(heartwatch's structlog lines, uvicorn, SQLAlchemy and the database drivers, httpx,
apprise), then searched for every secret that went through it."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Launcher, free_port
from tests.fakes.receiver import Receiver, Reply

pytestmark = pytest.mark.e2e


def token(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice("abcdefghkmnpqrstuvwxyz23456789") for _ in range(length))


class ThreadedReceivers:
    """Recording receivers on their own event loop thread (the test is not async)."""

    def __init__(self, count: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.all = [self._run(Receiver().start()) for _ in range(count)]

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def close(self) -> None:
        for receiver in self.all:
            self._run(receiver.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def receivers() -> Iterator[ThreadedReceivers]:
    started = ThreadedReceivers(2)
    yield started
    started.close()


def test_no_secret_reaches_the_logs_at_debug_level(
    launcher: Launcher, receivers: ThreadedReceivers
) -> None:
    ok, failing = receivers.all
    failing.default = Reply(500, "upstream says no")
    ping_key = token("pk-")
    admin_key = token("adm-", 40)
    bot_token = "123456789:" + token("AAH", 32)
    password = token("pw-")
    webhook = {
        "bearer": token("bear-"),
        "hmac": token("hmac-"),
        "query": token("q-"),
        "user_password": token("up-"),
    }
    routing_key = token("R", 31)
    slack_path = token("slack-")
    smtp_password = token("smtp-")
    apprise_password = token("appr-")
    probe_bearer = token("probe-")
    unknown_key = "hwk_" + token("", 12) + "_" + token("", 43)
    # (a user:password@ database URL too, on PostgreSQL)
    db_password = launcher.db_url.split("//", 1)[1].split("@", 1)[0].partition(":")[2]

    # The CLI, at debug level too: a user's password from stdin, an API key.
    env = launcher.env(
        HEARTWATCH_LOG_LEVEL="debug", HEARTWATCH_PING_KEY=ping_key, HEARTWATCH_ADMIN_KEY=admin_key
    )
    cli_logs = []
    for args, stdin in (
        (["up", "--help"], ""),  # (nothing, but the database exists before the CLI runs)
        (["users", "create", "alice", "--role", "admin"], f"{password}\n"),
        (["users", "set-password", "alice"], f"{password}x\n"),
        (["keys", "create", "--name", "grafana", "--role", "read"], ""),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "heartwatch", *args],
            cwd=launcher.workdir,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        cli_logs.append(done.stderr)
        if args[0] == "keys":
            assert done.returncode == 0, done.stderr
            api_key = done.stdout.split()[0]  # printed once, on stdout: not a log line
            assert api_key.startswith("hwk_")

    proc = launcher.start(
        "up",
        port=free_port(),
        HEARTWATCH_LOG_LEVEL="debug",
        HEARTWATCH_ACCESS_LOG="true",
        HEARTWATCH_PING_KEY=ping_key,
        HEARTWATCH_REQUIRE_PING_KEY="true",
        HEARTWATCH_ADMIN_KEY=admin_key,
        TELEGRAM_BOT_TOKEN=bot_token,
        TELEGRAM_CHAT_ID="-1001234",
        TELEGRAM_API_URL=failing.url("/tg"),
    )
    admin = {"Authorization": f"Bearer {admin_key}"}
    http = httpx.Client(base_url=proc.base_url, headers=admin, timeout=30)
    host = ok.base_url.removeprefix("http://")

    channels: list[dict[str, Any]] = [
        {
            "name": "hook-ok",
            "type": "webhook",
            "config": {
                "url": f"http://{host}/in?token={webhook['query']}",
                "secret": webhook["hmac"],
                "headers": {"Authorization": f"Bearer {webhook['bearer']}"},
            },
        },
        {
            "name": "hook-failing",
            "type": "webhook",
            "config": {
                "url": f"http://hw:{webhook['user_password']}@{failing.base_url[7:]}/in"
                f"?token={webhook['query']}",
                "headers": {"X-Api-Key": webhook["bearer"]},
            },
        },
        {
            "name": "pd",
            "type": "pagerduty",
            "config": {"routing_key": routing_key, "api_url": failing.url()},
        },
        {
            "name": "slack",
            "type": "slack",
            "config": {"webhook_url": failing.url(f"/services/{slack_path}")},
        },
        {
            "name": "mail",
            "type": "email",
            "config": {
                "host": "127.0.0.1",
                "port": free_port(),  # nobody listens: a failure
                "security": "starttls",
                "username": "alerts",
                "password": smtp_password,
                "from_address": "alerts@example.com",
                "to": ["ops@example.com"],
            },
        },
        {
            "name": "apprise",
            "type": "apprise",
            "config": {"urls": [f"json://user:{apprise_password}@{host}/apprise"]},
        },
    ]
    for channel in channels:
        r = http.post("/channels", json=channel)
        assert r.status_code == 201, r.text
    outcomes = {
        name: http.post(f"/channels/{name}/test").json()["delivered"]
        for name in ("hook-ok", "hook-failing", "pd", "slack", "mail", "apprise", "telegram")
    }
    assert outcomes == {
        "hook-ok": True,
        "hook-failing": False,
        "pd": False,
        "slack": False,
        "mail": False,
        "apprise": True,
        "telegram": False,
    }
    # edits that keep secrets, and one refused for a new destination
    r = http.patch(
        "/channels/hook-ok", json={"config": http.get("/channels/hook-ok").json()["config"]}
    )
    assert r.status_code == 200, r.text
    r = http.patch("/channels/pd", json={"config": {"routing_key": "••••", "api_url": ok.url()}})
    assert r.status_code == 422

    # a probe with a credential of its own, checked now
    r = http.post(
        "/services",
        json={
            "key": "api",
            "type": "http",
            "endpoint": ok.url(f"/health?token={webhook['query']}"),
            "headers": {"Authorization": f"Bearer {probe_bearer}"},
        },
    )
    assert r.status_code == 201, r.text
    assert http.post("/services/api/check").json()["status"] == "up"

    # heartbeats with the ping key every way it is given
    assert http.post("/services", json={"key": "job"}).status_code == 201
    assert httpx.post(f"{proc.base_url}/heartbeat/job?ping_key={ping_key}").is_success
    assert httpx.post(f"{proc.base_url}/heartbeat/job", headers={"X-Ping-Key": ping_key}).is_success
    assert httpx.get(f"{proc.base_url}/ping/{ping_key}/job/fail").is_success
    uuid = http.get("/services/job").json().get("ping_uuid")
    if uuid:
        httpx.post(f"{proc.base_url}/ping/{uuid}")
    # API keys in both headers, known and unknown
    for headers in (
        {"Authorization": f"Bearer {api_key}"},
        {"X-Api-Key": api_key},
        {"X-Api-Key": admin_key},
        {"Authorization": f"Bearer {unknown_key}"},
        {"X-Api-Key": unknown_key},
    ):
        httpx.get(f"{proc.base_url}/services", headers=headers)
        httpx.delete(f"{proc.base_url}/channels/nope", headers=headers)

    code, _ = proc.stop()
    assert code == 0, proc.log()
    logs = proc.log() + "".join(cli_logs)
    # the logs are there, at debug level and with the access log
    assert "check" in logs and "POST /channels/hook-ok/test" in logs, logs[-3000:]
    assert "/ping/••••/job/fail" in logs
    values = {
        "ping key": ping_key,
        "admin key": admin_key,
        "API key": api_key,
        "API key secret": api_key.rsplit("_", 1)[1],
        "unknown key secret": unknown_key.rsplit("_", 1)[1],
        "telegram token": bot_token,
        "telegram token secret": bot_token.split(":")[1],
        "user password": password,
        "routing key": routing_key,
        "slack webhook path": slack_path,
        "smtp password": smtp_password,
        "apprise password": apprise_password,
        "probe bearer": probe_bearer,
        **{f"webhook {name}": value for name, value in webhook.items()},
    }
    if len(db_password) >= 6:
        values["database password"] = db_password
    found = {name: value for name, value in values.items() if value in logs}
    assert found == {}, "\n".join(
        line for line in logs.splitlines() if any(v in line for v in found.values())
    )
