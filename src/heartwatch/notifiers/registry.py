"""Which notifier handles which channel type: the built-ins plus third-party notifiers
installed as packages that declare a `heartwatch.notifiers` entry point:

    [project.entry-points."heartwatch.notifiers"]
    signal = "heartwatch_signal:SignalNotifier"

Adding a channel type never means editing a list here. A plugin that fails to load is
logged and skipped (one broken package must not silence every other channel), and a
plugin cannot take over a built-in type, not even one that is unavailable here: that
would silently change where existing channels' alerts go.

A notifier whose optional dependency is missing (apprise without its extra) is listed as
unavailable with the reason, so the API can say "install X" instead of "unknown type".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import structlog
from pydantic import ValidationError

from heartwatch.notifiers.apprise import AppriseNotifier
from heartwatch.notifiers.base import Notifier, NotifierSettings
from heartwatch.notifiers.email import EmailNotifier
from heartwatch.notifiers.pagerduty import PagerDutyNotifier
from heartwatch.notifiers.slack import SlackNotifier
from heartwatch.notifiers.telegram import TelegramNotifier
from heartwatch.notifiers.webhook import WebhookNotifier

ENTRY_POINT_GROUP = "heartwatch.notifiers"
BUILTINS: tuple[type[Notifier], ...] = (
    TelegramNotifier,
    SlackNotifier,
    WebhookNotifier,
    EmailNotifier,
    PagerDutyNotifier,
    AppriseNotifier,
)

log = structlog.get_logger("heartwatch.notifiers")


class UnknownNotifierType(KeyError, ValueError):
    """No notifier for this type. A KeyError for lookups, a ValueError for validation."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class NotifierUnavailable(UnknownNotifierType):
    """The type is known but cannot work in this installation (a missing package)."""


class NotifierRegistry:
    """Notifier instances by type, built once per process (notifiers keep no state)."""

    def __init__(
        self, builtin_notifiers: Iterable[type[Notifier]] = BUILTINS, *, discover: bool = True
    ) -> None:
        self._notifiers: dict[str, Notifier] = {}
        # Types that exist but cannot work here, and why.
        self.unavailable: dict[str, str] = {}
        # Plugins that were skipped, and why: for logs, /readyz or a CLI to show.
        self.problems: list[str] = []
        for cls in builtin_notifiers:
            self._add(cls)
        if discover:
            for entry_point in entry_points(group=ENTRY_POINT_GROUP):
                self._add_plugin(entry_point)

    def types(self) -> frozenset[str]:
        """The types that can be used here (not the unavailable ones)."""
        return frozenset(self._notifiers)

    def get(self, notifier_type: str) -> Notifier:
        try:
            return self._notifiers[notifier_type]
        except KeyError:
            pass
        if notifier_type in self.unavailable:
            raise NotifierUnavailable(
                f"notifier type {notifier_type!r} is not available: "
                f"{self.unavailable[notifier_type]}"
            ) from None
        known = ", ".join(sorted(self._notifiers))
        raise UnknownNotifierType(
            f"unknown notifier type {notifier_type!r}: known types are {known}"
        ) from None

    def validate(self, notifier_type: str, config: Mapping[str, Any]) -> NotifierSettings:
        """The typed settings of a channel of that type; ValueError with one readable
        message naming what is wrong (and never quoting a secret)."""
        notifier = self.get(notifier_type)
        if not isinstance(config, Mapping):
            raise ValueError(
                f"invalid {notifier_type} settings: expected an object of settings, "
                f"got {type(config).__name__}"
            )
        try:
            return notifier.Settings.model_validate(dict(config))
        except ValidationError as exc:
            raise ValueError(settings_error(notifier_type, notifier.Settings, exc)) from None
        except Exception as exc:  # a plugin's bug must be a 4xx for the user, not a 500
            raise ValueError(
                f"invalid {notifier_type} settings: the notifier failed on them: "
                f"{type(exc).__name__}"
            ) from None

    def _add(self, cls: type[Notifier]) -> None:
        missing = cls.missing_requirement()
        if missing is None:
            self._notifiers[cls.type] = cls()
        else:
            self.unavailable[cls.type] = missing
            log.info("notifier unavailable", type=cls.type, reason=missing)

    def _taken(self, notifier_type: str) -> str | None:
        if notifier_type in self._notifiers:
            taken = _qualname(type(self._notifiers[notifier_type]))
            return f"type {notifier_type!r} is already provided by {taken}"
        if notifier_type in self.unavailable:
            return f"type {notifier_type!r} is already taken (by a notifier unavailable here)"
        return None

    def _add_plugin(self, entry_point: EntryPoint) -> None:
        where = f"{entry_point.name} = {entry_point.value}"
        try:
            cls = entry_point.load()
            problem = _not_a_notifier(cls) or self._taken(cls.type)
            if problem is None:
                # Keyed by the class's `type` (what channels store), not the entry
                # point's name, so the two cannot disagree about what a channel is.
                self._add(cls)
        # SystemExit too: a plugin calling sys.exit() at import must not stop the worker.
        except (Exception, SystemExit) as exc:
            problem = f"failed to load: {type(exc).__name__}: {exc}"
        if problem is not None:
            self.problems.append(f"notifier plugin {where}: {problem}")
            log.error("notifier plugin skipped", entry_point=where, problem=problem)
        else:
            log.info("notifier plugin loaded", entry_point=where, type=cls.type)


def _not_a_notifier(obj: object) -> str | None:
    if not (isinstance(obj, type) and issubclass(obj, Notifier)):
        return f"{obj!r} is not a subclass of heartwatch.notifiers.base.Notifier"
    notifier_type = getattr(obj, "type", None)
    if not isinstance(notifier_type, str) or not notifier_type:
        return f"{_qualname(obj)} has no `type` name"
    if not (isinstance(obj.Settings, type) and issubclass(obj.Settings, NotifierSettings)):
        return f"{_qualname(obj)}.Settings is not a NotifierSettings subclass"
    rate = getattr(obj, "rate_per_minute", None)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        return f"{_qualname(obj)}.rate_per_minute must be a positive number"
    return None


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def settings_error(notifier_type: str, model: type[NotifierSettings], exc: ValidationError) -> str:
    """A ValidationError as one line that names each bad field and says why. Built from
    pydantic's messages, never its input values: those may be tokens and passwords."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(model.model_fields)) or "none"
            problems.append(
                f"{field}: unknown setting for {notifier_type} channels (known: {known})"
            )
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message}" if field else message)
    return f"invalid {notifier_type} settings: " + "; ".join(problems)
