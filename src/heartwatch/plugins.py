"""One registry type for every kind of plugin (checkers, notifiers): the built-ins plus
third-party classes installed as packages that declare an entry point of the kind's
group, for instance:

    [project.entry-points."heartwatch.checkers"]
    ldap = "heartwatch_ldap:LdapChecker"

Adding a plugin never means editing a list in heartwatch. A plugin that fails to load is
logged and skipped (one broken package must not stop every other check or silence every
other channel), and a plugin cannot take over a type that is already taken: that would
silently change how existing services are checked or where existing alerts go.

A plugin is keyed by its class's `type` (what services and channels store), not by its
entry point's name, so the two cannot disagree. It declares its settings as a pydantic
model (`Settings`), which the registry validates a service's or channel's fields against.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import structlog
from pydantic import BaseModel, ValidationError


class Plugin(Protocol):
    """What the registry needs of a plugin: the type name it serves."""

    type: ClassVar[str]


P = TypeVar("P", bound=Plugin)
SettingsT = TypeVar("SettingsT", bound=BaseModel)


class UnknownPluginType(KeyError, ValueError):
    """No plugin for this type. A KeyError for lookups, a ValueError for validation."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True, kw_only=True, slots=True)
class PluginKind(Generic[P]):
    """What distinguishes one kind of plugin from another, for one registry type to serve
    them all."""

    # In messages and log lines: "unknown checker type 'x'", "checker plugin skipped".
    noun: str
    # What one type's settings configure, in messages: "unknown setting for http checks".
    configures: str
    # The entry point group third-party plugins declare; also the log's name.
    group: str
    # What a plugin class must subclass (an abstract class, which mypy would refuse
    # as a `type[P]`), and what its `Settings` must subclass.
    base: type
    settings_base: type[BaseModel]
    # Raised by `get` for a type no plugin serves.
    unknown: type[UnknownPluginType]
    # The built-in plugins, configured as they are when nothing else is said.
    make_builtins: Callable[[], Iterable[P]]


class PluginRegistry(Generic[P]):
    """Plugin instances by type, built once per process (plugins keep no state).

    A subclass declares its `kind`; it may override the `_add`, `_taken`, `_unknown` and
    `_class_problem` hooks for what is special to its kind."""

    kind: PluginKind[P]

    def __init__(
        self, builtin_plugins: Iterable[P] | None = None, *, discover: bool = True
    ) -> None:
        self._plugins: dict[str, P] = {}
        # Plugins that were skipped, and why: for logs, /readyz or a CLI to show.
        self.problems: list[str] = []
        self._log = structlog.get_logger(self.kind.group)
        for plugin in self.kind.make_builtins() if builtin_plugins is None else builtin_plugins:
            self._add(plugin)
        if discover:
            for entry_point in _installed(self.kind.group, tuple(sys.path)):
                self._add_plugin(entry_point)

    def types(self) -> frozenset[str]:
        """The types that can be used here."""
        return frozenset(self._plugins)

    def get(self, plugin_type: str) -> P:
        try:
            return self._plugins[plugin_type]
        except KeyError:
            raise self._unknown(plugin_type) from None

    def settings_of(
        self, plugin_type: str, model: type[SettingsT], fields: Mapping[str, Any]
    ) -> SettingsT:
        """`fields` validated against `model` (the settings of a plugin of that type);
        ValueError with one readable message naming what is wrong (and never quoting a
        value: it may be a secret)."""
        if not isinstance(fields, Mapping):
            raise ValueError(
                f"invalid {plugin_type} settings: expected an object of settings, "
                f"got {type(fields).__name__}"
            )
        try:
            return model.model_validate(dict(fields))
        except ValidationError as exc:
            raise ValueError(self.settings_error(plugin_type, model, exc)) from None
        except Exception as exc:  # a plugin's bug must be a 4xx for the user, not a 500
            raise ValueError(
                f"invalid {plugin_type} settings: the {self.kind.noun} failed on them: "
                f"{type(exc).__name__}"
            ) from None

    def settings_error(self, plugin_type: str, model: type[BaseModel], exc: ValidationError) -> str:
        """A ValidationError as one line that names each bad field and says why. Built
        from pydantic's messages, never its input values: those may be tokens and
        passwords."""
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                known = ", ".join(sorted(model.model_fields)) or "none"
                problems.append(
                    f"{field}: unknown setting for {plugin_type} {self.kind.configures} "
                    f"(known: {known})"
                )
                continue
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{field}: {message}" if field else message)
        return f"invalid {plugin_type} settings: " + "; ".join(problems)

    # --- hooks for what is special to one kind ------------------------------------------

    def _add(self, plugin: P) -> None:
        self._plugins[plugin.type] = plugin

    def _taken(self, plugin_type: str) -> str | None:
        """Why a plugin cannot have this type, or None when it is free."""
        if plugin_type in self._plugins:
            taken = qualname(type(self._plugins[plugin_type]))
            return f"type {plugin_type!r} is already provided by {taken}"
        return None

    def _unknown(self, plugin_type: str) -> UnknownPluginType:
        known = ", ".join(sorted(self._plugins))
        return self.kind.unknown(
            f"unknown {self.kind.noun} type {plugin_type!r}: known types are {known}"
        )

    def _class_problem(self, cls: type) -> str | None:
        """What else is wrong with a plugin class that has a type and settings."""
        return None

    # --- discovery ----------------------------------------------------------------------

    def _add_plugin(self, entry_point: EntryPoint) -> None:
        where = f"{entry_point.name} = {entry_point.value}"
        noun = self.kind.noun
        try:
            cls = entry_point.load()
            problem = self._not_a_plugin(cls) or self._taken(cls.type)
            if problem is None:
                self._add(cls())
        # SystemExit too: a plugin calling sys.exit() at import must not stop the worker.
        except (Exception, SystemExit) as exc:
            problem = f"failed to load: {type(exc).__name__}: {exc}"
        if problem is not None:
            self.problems.append(f"{noun} plugin {where}: {problem}")
            self._log.error(f"{noun} plugin skipped", entry_point=where, problem=problem)
        else:
            self._log.info(f"{noun} plugin loaded", entry_point=where, type=cls.type)

    def _not_a_plugin(self, obj: object) -> str | None:
        base, settings_base = self.kind.base, self.kind.settings_base
        if not (isinstance(obj, type) and issubclass(obj, base)):
            return f"{obj!r} is not a subclass of {qualname(base)}"
        plugin_type = getattr(obj, "type", None)
        if not isinstance(plugin_type, str) or not plugin_type:
            return f"{qualname(obj)} has no `type` name"
        settings = getattr(obj, "Settings", None)
        if not (isinstance(settings, type) and issubclass(settings, settings_base)):
            return f"{qualname(obj)}.Settings is not a {settings_base.__name__} subclass"
        return self._class_problem(obj)


@lru_cache(maxsize=64)
def _installed(group: str, search_path: tuple[str, ...]) -> tuple[EntryPoint, ...]:
    """The entry points of `group` that the packages on `search_path` declare. Looked up
    once per group and search path, not for every registry a process builds (each runtime
    builds its own; the lookup reads every installed package's metadata). A package
    installed later is seen by a new process, as its modules would be."""
    return tuple(entry_points(group=group))


def qualname(cls: type) -> str:
    """The dotted name a class is imported by, for messages."""
    return f"{cls.__module__}.{cls.__qualname__}"
