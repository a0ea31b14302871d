"""The log lines' last line of defence: credentials masked, whoever quoted them."""

from __future__ import annotations

import pytest

from heartwatch.redaction import Redactor

KEY = "hwk_AbCdEfGhIjKl_" + "s" * 43


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            '127.0.0.1:5555 - "POST /heartbeat/billing?ping_key=pk-0123456789 HTTP/1.1" 200',
            '127.0.0.1:5555 - "POST /heartbeat/billing?ping_key=•••• HTTP/1.1" 200',
        ),
        (
            '"GET /ping/pk-0123456789/backup/fail HTTP/1.1" 200',
            '"GET /ping/••••/backup/fail HTTP/1.1" 200',
        ),
        (
            '"POST /ping/5bd1c7d2-8a4e-4b2a-9d61-0e3c1f2b4a77 HTTP/1.1"',
            '"POST /ping/•••• HTTP/1.1"',
        ),
        (
            '"GET /api/push/Xy7Tok?status=up&msg=OK HTTP/1.1"',
            '"GET /api/push/••••?status=up&msg=OK HTTP/1.1"',
        ),
        ("HTTP Request: POST http://x/heartbeat/a?service_key=b", None),  # no secret
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ••••"),
        ("{'Authorization': 'Basic dXNlcjpwYXNz', 'X-Team': 'ops'}", None),
        ("[(b'x-api-key', b'k-0123456789')]", "[(b'x-api-key', b'••••')]"),
        ("x-ping-key=pk-0123456789", "x-ping-key=••••"),
        (f"key {KEY} refused", "key hwk_AbCdEfGhIjKl_•••• refused"),
        (
            "POST https://api.telegram.org/bot123456:AAH-abc_def/sendMessage failed",
            "POST https://api.telegram.org/bot••••/sendMessage failed",
        ),
        (
            "cannot reach https://bot:hunter22@hooks.example/in",
            "cannot reach https://bot:••••@hooks.example/in",
        ),
        ("send these again in full: headers.Authorization, secret", None),
    ],
)
def test_credentials_are_masked_in_any_line(line: str, shown: str | None) -> None:
    redacted = Redactor()(line)
    if shown is None:  # nothing to hide: untouched (or, for the header dict, masked)
        if "Basic" in line:
            assert redacted == "{'Authorization': 'Basic ••••', 'X-Team': 'ops'}"
        else:
            assert redacted == line
    else:
        assert redacted == shown


def test_known_secrets_are_masked_by_value() -> None:
    redact = Redactor(["pk-0123456789", "admin-key-" + "x" * 30, None, "short"])
    assert redact("ping key pk-0123456789 and admin-key-" + "x" * 30) == "ping key •••• and ••••"
    assert redact("a short word") == "a short word"  # too short to be a secret
