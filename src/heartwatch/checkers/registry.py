"""Which checker handles which service type: the built-ins plus third-party checkers
installed as packages that declare a `heartwatch.checkers` entry point:

    [project.entry-points."heartwatch.checkers"]
    ldap = "heartwatch_ldap:LdapChecker"

Discovery and its rules are `heartwatch.plugins`'; what is a checker's own is the
endpoint each one parses along with its settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from heartwatch.checkers.base import Checker, CheckerSettings
from heartwatch.checkers.http import HttpChecker
from heartwatch.checkers.script import ScriptChecker
from heartwatch.checkers.tcp import TcpChecker
from heartwatch.domain.network import DEFAULT_POLICY, NetworkPolicy
from heartwatch.plugins import PluginKind, PluginRegistry, UnknownPluginType


class UnknownCheckerType(UnknownPluginType):
    """No checker for this type. A KeyError for lookups, a ValueError for validation."""


def builtin_checkers() -> tuple[Checker, ...]:
    return (HttpChecker(), TcpChecker(), ScriptChecker())


CHECKERS: PluginKind[Checker] = PluginKind(
    noun="checker",
    configures="checks",
    group="heartwatch.checkers",
    base=Checker,
    settings_base=CheckerSettings,
    unknown=UnknownCheckerType,
    make_builtins=builtin_checkers,
)


class CheckerRegistry(PluginRegistry[Checker]):
    """Checker instances by service type."""

    kind = CHECKERS

    def __init__(
        self,
        builtin_plugins: Iterable[Checker] | None = None,
        *,
        discover: bool = True,
        network: NetworkPolicy = DEFAULT_POLICY,
    ) -> None:
        # Where checks may connect: an endpoint written as a denied address is refused
        # when it is configured.
        self.network = network
        super().__init__(builtin_plugins, discover=discover)

    def validate_settings(
        self, checker_type: str, endpoint: str, fields: Mapping[str, Any]
    ) -> tuple[str, CheckerSettings]:
        """The normalised endpoint and the typed settings of a service of that type;
        ValueError with one readable message naming what is wrong."""
        checker = self.get(checker_type)
        try:
            normalised = checker.parse_endpoint(endpoint)
        except ValueError as exc:
            raise ValueError(f"endpoint: {exc}") from None
        except Exception as exc:  # a plugin's bug must be a 4xx for the user, not a 500
            raise ValueError(f"endpoint: {checker_type} checker failed on it: {exc!r}") from None
        host = checker.target_host(normalised)
        denied = self.network.host_denial(host) if host is not None else None
        if denied is not None:
            raise ValueError(f"endpoint: {denied}; heartwatch does not connect there")
        return normalised, self.settings_of(checker_type, checker.Settings, fields)
