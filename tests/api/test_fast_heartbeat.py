"""The heartbeat fast path's answer, written directly: the same JSON as the encoder's."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from heartwatch.api.fast_heartbeat import ack_body
from heartwatch.domain.status import Status
from heartwatch.ids import new_id
from heartwatch.services.heartbeats import PingOutcome
from tests.conftest import T0


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("registered", [True, False])
@pytest.mark.parametrize("duration", [None, 0.0, 1234.5678, 1e-7, 3e20])
@pytest.mark.parametrize("key", ["billing", "a.b-c_d", "x" * 200])
def test_the_answer_is_what_the_json_encoder_writes(
    status: Status, registered: bool, duration: float | None, key: str
) -> None:
    outcome = PingOutcome(
        new_id(), key, status, T0 + timedelta(microseconds=7), registered, duration
    )
    expected = {
        "ok": True,
        "service_id": str(outcome.service_id),
        "service_key": key,
        "status": str(status),
        "received_at": "2026-01-05T12:00:00.000007Z",
        "registered": registered,
        "duration_ms": duration,
    }
    body = ack_body(outcome)
    assert body == json.dumps(expected, separators=(",", ":")).encode()
    assert json.loads(body) == expected
