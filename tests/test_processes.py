"""Starting the API: with no credential at all, it serves a loopback address (with one
warning) and refuses any other, unless HEARTWATCH_AUTH=off."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from structlog.testing import capture_logs

from heartwatch.domain.auth import Role
from heartwatch.processes import RefusedToStart, check_exposure
from heartwatch.runtime import Runtime
from heartwatch.store.database import Database
from tests.api.conftest import settings_for

ADMIN_KEY = "env-admin-key-0123456789-abcdefghijklmnop"


async def _exposure(db_url: str, **settings: Any) -> list[MutableMapping[str, Any]]:
    config = settings_for(db_url, **settings)
    async with Runtime.open(config) as runtime:
        with capture_logs() as logs:
            await check_exposure(runtime, config.host, config.port)
    return [e for e in logs if e["log_level"] == "warning"]


async def test_loopback_with_no_credential_runs_open_with_one_warning(
    db_url: str, database: Database
) -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        [warning] = await _exposure(db_url, host=host)
        assert "access control is off" in warning["event"]
        assert "not through a reverse proxy" in warning["event"]
        assert "heartwatch keys create" in warning["event"]


async def test_any_other_address_with_no_credential_is_refused(
    db_url: str, database: Database
) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.10", "heartwatch.example"):
        with pytest.raises(RefusedToStart) as refused:
            await _exposure(db_url, host=host)
        message = str(refused.value)
        assert "\n" not in message
        assert "heartwatch keys create" in message and "HEARTWATCH_AUTH=off" in message


async def test_auth_off_accepts_the_risk_out_loud(db_url: str, database: Database) -> None:
    [warning] = await _exposure(db_url, host="0.0.0.0", auth="off")
    assert "anyone who can reach it" in warning["event"]


async def test_any_credential_turns_access_control_on(db_url: str, database: Database) -> None:
    assert await _exposure(db_url, host="0.0.0.0", admin_key=ADMIN_KEY) == []
    async with Runtime.open(settings_for(db_url)) as runtime:
        await runtime.authn.create_key("me", Role.ADMIN, None, runtime.clock.now())
    assert await _exposure(db_url, host="0.0.0.0") == []
    [warning] = await _exposure(db_url, host="0.0.0.0", auth="off")
    assert "does not switch off" in warning["event"]
