"""The one status vocabulary every service uses (README, "Statuses")."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    UNKNOWN = "unknown"
    ALIVE = "alive"
    SILENT = "silent"
    DOWN = "down"
    DEAD = "dead"
    PAUSED = "paused"


class Health(StrEnum):
    """A coarse view of a status (healthy, unhealthy, unknown), for clients that want three."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


_HEALTH = {
    Status.ALIVE: Health.HEALTHY,
    Status.SILENT: Health.UNHEALTHY,
    Status.DOWN: Health.UNHEALTHY,
    Status.DEAD: Health.UNHEALTHY,
    Status.UNKNOWN: Health.UNKNOWN,
    Status.PAUSED: Health.UNKNOWN,
}

# How bad a status is, for "never gets healthier without a heartbeat" style reasoning.
# unknown and paused carry no verdict, so they rank with alive.
SEVERITY = {
    Status.UNKNOWN: 0,
    Status.PAUSED: 0,
    Status.ALIVE: 0,
    Status.SILENT: 1,
    Status.DOWN: 2,
    Status.DEAD: 3,
}


def health_of(status: Status) -> Health:
    return _HEALTH[status]
