"""Reusable fakes of the services heartwatch talks to, each a real server on 127.0.0.1
that speaks the real wire format: `telegram` (the Bot API), `receiver` (any HTTP
endpoint: Slack, webhooks, PagerDuty, Apprise's json://) and `smtp` (aiosmtpd).

Import the fixtures you need into a conftest.py, for example:

    from tests.fakes.telegram import fake_telegram  # noqa: F401 (a fixture)
"""
