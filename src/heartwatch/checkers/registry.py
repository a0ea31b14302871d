"""Which checker handles which service type: the built-ins plus third-party checkers
installed as packages that declare a `heartwatch.checkers` entry point:

    [project.entry-points."heartwatch.checkers"]
    ldap = "heartwatch_ldap:LdapChecker"

Adding a checker never means editing a list here. A plugin that fails to load is logged
and skipped (one broken package must not stop every other check), and a plugin cannot
take over a built-in type: that would silently change how existing services are checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import structlog
from pydantic import ValidationError

from heartwatch.checkers.base import Checker, CheckerSettings
from heartwatch.checkers.http import HttpChecker
from heartwatch.checkers.script import ScriptChecker
from heartwatch.checkers.tcp import TcpChecker

ENTRY_POINT_GROUP = "heartwatch.checkers"
BUILTINS: tuple[type[Checker], ...] = (HttpChecker, TcpChecker, ScriptChecker)

log = structlog.get_logger("heartwatch.checkers")


class UnknownCheckerType(KeyError, ValueError):
    """No checker for this type. A KeyError for lookups, a ValueError for validation."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class CheckerRegistry:
    """Checker instances by type, built once per process (checkers keep no state)."""

    def __init__(
        self, builtin_checkers: Iterable[type[Checker]] = BUILTINS, *, discover: bool = True
    ) -> None:
        self._checkers: dict[str, Checker] = {}
        # Plugins that were skipped, and why: for logs, /readyz or a CLI to show.
        self.problems: list[str] = []
        for cls in builtin_checkers:
            self._checkers[cls.type] = cls()
        if discover:
            for entry_point in entry_points(group=ENTRY_POINT_GROUP):
                self._add_plugin(entry_point)

    def types(self) -> frozenset[str]:
        return frozenset(self._checkers)

    def get(self, checker_type: str) -> Checker:
        try:
            return self._checkers[checker_type]
        except KeyError:
            known = ", ".join(sorted(self._checkers))
            raise UnknownCheckerType(
                f"unknown checker type {checker_type!r}: known types are {known}"
            ) from None

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
        try:
            settings = checker.Settings.model_validate(dict(fields))
        except ValidationError as exc:
            raise ValueError(settings_error(checker_type, checker.Settings, exc)) from None
        return normalised, settings

    def _add_plugin(self, entry_point: EntryPoint) -> None:
        where = f"{entry_point.name} = {entry_point.value}"
        try:
            cls = entry_point.load()
            problem = _not_a_checker(cls)
            if problem is None and cls.type in self._checkers:
                taken = type(self._checkers[cls.type])
                problem = f"type {cls.type!r} is already provided by {_qualname(taken)}"
            if problem is None:
                # Keyed by the class's `type` (what services store), not the entry
                # point's name, so the two cannot disagree about what a service is.
                self._checkers[cls.type] = cls()
        # SystemExit too: a plugin calling sys.exit() at import must not stop the worker.
        except (Exception, SystemExit) as exc:
            problem = f"failed to load: {type(exc).__name__}: {exc}"
        if problem is not None:
            self.problems.append(f"checker plugin {where}: {problem}")
            log.error("checker plugin skipped", entry_point=where, problem=problem)
        else:
            log.info("checker plugin loaded", entry_point=where, type=cls.type)


def _not_a_checker(obj: object) -> str | None:
    if not (isinstance(obj, type) and issubclass(obj, Checker)):
        return f"{obj!r} is not a subclass of heartwatch.checkers.base.Checker"
    checker_type = getattr(obj, "type", None)
    if not isinstance(checker_type, str) or not checker_type:
        return f"{_qualname(obj)} has no `type` name"
    if not (isinstance(obj.Settings, type) and issubclass(obj.Settings, CheckerSettings)):
        return f"{_qualname(obj)}.Settings is not a CheckerSettings subclass"
    return None


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def settings_error(checker_type: str, model: type[CheckerSettings], exc: ValidationError) -> str:
    """A ValidationError as one line that names each bad field and says why."""
    problems = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(model.model_fields)) or "none"
            problems.append(f"{field}: unknown setting for {checker_type} checks (known: {known})")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message}" if field else message)
    return f"invalid {checker_type} settings: " + "; ".join(problems)
