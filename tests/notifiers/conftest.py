"""The notifiers deliver to real local servers: the fakes in tests/fakes, each on a
socket of 127.0.0.1 bound by the test. Nothing leaves the machine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import trustme

from heartwatch.notifiers.base import Message, NotifyContext
from tests.fakes.net import closed_port, http_session  # noqa: F401 - fixtures
from tests.fakes.receiver import receiver  # noqa: F401 - a fixture
from tests.fakes.smtp import smtp_server  # noqa: F401 - a fixture
from tests.fakes.telegram import fake_telegram  # noqa: F401 - a fixture

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SERVICE_URL = "https://status.example.com/services/payments"


def down_message(**overrides: Any) -> Message:
    """What the composer makes of "payments went down"."""
    values: dict[str, Any] = {
        "event": "down",
        "title": "payments is DOWN",
        "body": (
            "Status: down since 2026-01-05 11:58 UTC\n"
            "Last error: status 503 not in 200-399\n"
            "Incident: inc_01\n"
            f"{SERVICE_URL}"
        ),
        "at": AT,
        "service_key": "payments",
        "service_name": "Payments API",
        "status": "down",
        "url": SERVICE_URL,
        "incident_id": "inc_01",
        "criticality": "high",
        "fields": {"Since": "2026-01-05 11:58 UTC", "Last error": "status 503 not in 200-399"},
    }
    values.update(overrides)
    return Message(**values)


@pytest.fixture
def ctx(http_session: aiohttp.ClientSession) -> NotifyContext:  # noqa: F811 - imported fixture
    return NotifyContext(http=http_session, timeout_s=2.0)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()
