"""What a heartbeat ping may declare besides its key (whose rule is in domain/keys.py):
the limits every ping route holds a ping to, and a service's declared period too."""

from __future__ import annotations

# A declared period is at least this many seconds (inclusive). A period of zero would make
# a service overdue at every moment, and a tiny one (`?period=1e-300`, or a denormal such
# as 5e-324) as good as zero: one ping from anyone who knows the key would turn the
# service down at once. Nothing reports usefully more often than once a second.
PERIOD_MIN_S = 1
# ... and at most this many (inclusive): a leap year, the cadence of a yearly job.
PERIOD_MAX_S = 366 * 86400
# Healthchecks' `rid` pairs a start with its end; heartbeats.run_id holds this many.
RUN_ID_MAX_LENGTH = 64


def may_register(ping_key_configured: bool, authenticated: bool) -> bool:
    """Whether a ping may register a new key: with a ping key configured, only a sender
    that sent it (a service's key is easy to guess; an open registry fills up)."""
    return authenticated or not ping_key_configured
