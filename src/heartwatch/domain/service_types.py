"""What kind of service a row is: one that reports in (push), or one heartwatch probes.

The built-in probe types are named here; checker plugins add types of their own, so a
stored type is any registered checker's name, and "is it a probe" is "is it not a
heartbeat service" — asked through `is_probe`, never by comparing strings at the call site.
"""

from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    HEARTBEAT = "heartbeat"  # push: the service reports in
    HTTP = "http"
    TCP = "tcp"
    SCRIPT = "script"


def is_probe(service_type: str) -> bool:
    """Whether heartwatch checks this service itself (any type but heartbeat)."""
    return service_type != ServiceType.HEARTBEAT
