"""Access control as an operator meets it: `heartwatch up` on 0.0.0.0 with no credential
refuses to start; with HEARTWATCH_ADMIN_KEY it starts and enforces. It listens on
0.0.0.0, but every request goes to 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Launcher, Proc, free_port, wait_ready
from tests.e2e.test_lifecycle import assert_clean_exit

pytestmark = pytest.mark.e2e

ADMIN_KEY = "e2e-admin-key-0123456789-abcdefghijklmnop"


def _start_on_all_addresses(launcher: Launcher, command: str, env: dict[str, str]) -> Proc:
    port = free_port()
    # Our own --host and --port: with `port=`, the launcher would listen on 127.0.0.1.
    proc = launcher.start(command, "--host", "0.0.0.0", "--port", str(port), port=None, **env)
    proc.base_url = f"http://127.0.0.1:{port}"
    wait_ready(proc)
    return proc


def test_up_on_all_addresses_without_a_credential_refuses_to_start(launcher: Launcher) -> None:
    result = launcher.run("up", "--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("heartwatch: refusing to serve the API on 0.0.0.0")
    assert "heartwatch keys create --role admin" in last_line
    assert "HEARTWATCH_AUTH=off" in last_line
    assert "Traceback" not in result.stderr
    # `api` alike (the database is migrated now).
    api = launcher.run("api", "--host", "0.0.0.0", "--port", str(free_port()))
    assert api.returncode != 0 and "HEARTWATCH_AUTH=off" in api.stderr


def test_up_with_the_admin_key_starts_and_enforces(launcher: Launcher) -> None:
    proc = _start_on_all_addresses(launcher, "up", {"HEARTWATCH_ADMIN_KEY": ADMIN_KEY})
    http = httpx.Client(base_url=proc.base_url, timeout=10)
    refused = http.get("/services")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="heartwatch"'
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert http.get("/services", headers=admin).status_code == 200
    assert http.get("/healthz").status_code == 200
    assert http.post("/heartbeat/billing").status_code == 200  # senders need no API key

    # A read key made with the CLI works in the running server at once.
    made = launcher.run("keys", "create", "--name", "grafana", HEARTWATCH_ADMIN_KEY=ADMIN_KEY)
    assert made.returncode == 0, made.stderr
    read = {"X-Api-Key": made.stdout.strip()}
    listed = http.get("/services", headers=read)
    assert listed.status_code == 200
    # (the worker's own service may have reported in by now too)
    [billing] = [s for s in listed.json()["items"] if s["key"] == "billing"]
    assert billing["id"] is None and all(s["id"] is None for s in listed.json()["items"])
    assert http.delete("/services/billing", headers=read).status_code == 403
    assert "warning" not in proc.log().split("heartwatch starting")[0]
    assert_clean_exit(proc)


def test_auth_off_starts_open_on_all_addresses(launcher: Launcher) -> None:
    proc = _start_on_all_addresses(launcher, "up", {"HEARTWATCH_AUTH": "off"})
    assert httpx.get(f"{proc.base_url}/services", timeout=10).status_code == 200
    assert "access control is off" in proc.log()
    assert_clean_exit(proc)
