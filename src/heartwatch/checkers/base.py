"""The one small interface every checker (built-in or plugin) implements.

A checker performs ONE probe attempt of a service and says what it saw. Retries with
backoff, the overall timeout budget, and turning an unexpected exception into a "down"
result are done once for all checkers in `checkers.runner`, not in each checker.

A checker declares its own settings as a pydantic model (`Settings`): the API validates
a service's type-specific fields against it, so a typo gets a clear 422, and the checker
receives a typed object, never a dict to pick apart.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict

from heartwatch.domain.network import DEFAULT_POLICY, NetworkPolicy


class CheckerSettings(BaseModel):
    """Base for a checker's type-specific settings; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Probe:
    """What to probe, and how long one attempt may take."""

    endpoint: str
    timeout_s: float
    settings: CheckerSettings


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt saw. `error` says why it is down, with the value seen
    (e.g. "status 503 not in 200-399"); `failed_assertion` names the check that failed
    ("status", "keyword", "keyword_absent", "json_path", "max_response_ms",
    "certificate", "timeout", "connection", "exit_status", ...)."""

    up: bool
    latency_ms: float | None = None
    error: str | None = None
    failed_assertion: str | None = None
    http_status: int | None = None
    # A short excerpt of what came back (response body, script output), for people.
    detail: str | None = None
    # TLS endpoints: when the certificate expires (for the expiry warning).
    cert_expires_at: datetime | None = None


@dataclass(slots=True)
class CheckContext:
    """Resources shared by every check of one process (built once, closed once)."""

    http: aiohttp.ClientSession
    allow_scripts: bool = False
    # Where a check may connect. `http` applies it itself when its connector is
    # `netguard.guarded_connector` (as the runtime's is); checkers that open their own
    # connections go through `netguard.open_connection` with it.
    network: NetworkPolicy = DEFAULT_POLICY
    extras: dict[str, object] = field(default_factory=dict)


class Checker(ABC):
    """Subclass, set `type` and `Settings`, implement `parse_endpoint` and `probe`."""

    # (The builtin is spelled out: inside this class body `type` is the attribute.)
    type: ClassVar[str]
    Settings: ClassVar[builtins.type[CheckerSettings]] = CheckerSettings
    # True only for a checker whose `probe` never outlives `probe.timeout_s` (every wait
    # in it bounded by that budget): the runner then does not arm its own guard timer
    # around each attempt. Left False, a checker is cut off a little after its timeout.
    enforces_timeout: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def parse_endpoint(cls, endpoint: str) -> str:
        """Validate (and normalise) the endpoint; raise ValueError with a clear message."""

    @classmethod
    def target_host(cls, endpoint: str) -> str | None:
        """The host a (parsed) endpoint connects to, for the network policy to refuse an
        address literal when the service is configured; None when it connects nowhere
        (scripts) or the checker does not say. (Connections are judged again, address
        by address, when they are made.)"""
        return None

    @abstractmethod
    async def probe(self, probe: Probe, ctx: CheckContext) -> Outcome:
        """One attempt, within `probe.timeout_s`. May raise: the runner turns any
        exception into a down outcome with the error text."""
