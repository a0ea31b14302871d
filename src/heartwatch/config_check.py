"""Warn about `HEARTWATCH_*` variables no setting reads: a typo (`HEARTWATCH_PEROD`)
would otherwise be ignored in silence, and the default used instead of what was meant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import AliasChoices

from heartwatch.config import Settings
from heartwatch.domain.names import closest

PREFIX = "HEARTWATCH_"
# Read by others than the server's settings: the test suite's PostgreSQL.
_ALSO_READ = frozenset({"HEARTWATCH_TEST_POSTGRES", "HEARTWATCH_TEST_POSTGRES_URL"})


def known_variables() -> frozenset[str]:
    """Every `HEARTWATCH_*` name a setting is read from."""
    names: set[str] = set(_ALSO_READ)
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names.update(c for c in choices if isinstance(c, str) and c.startswith(PREFIX))
    return frozenset(names)


def unknown_variables(names: Iterable[str]) -> list[tuple[str, str | None]]:
    """The `HEARTWATCH_*` names among `names` that no setting reads, each with the known
    name it is closest to (compared without the prefix every name shares), if any."""
    known = known_variables()
    suffixes = {name.removeprefix(PREFIX): name for name in known}
    unknown = []
    for name in sorted(set(names)):
        if not name.upper().startswith(PREFIX) or name.upper() in known:
            continue
        meant = closest(name[len(PREFIX) :], suffixes)
        unknown.append((name, suffixes[meant] if meant else None))
    return unknown


def warnings(environ: Mapping[str, str], env_file: Path | None) -> list[str]:
    """One line per unknown variable, in the environment or in the `.env` file."""
    sources: dict[str, str] = dict.fromkeys(environ, "the environment")
    if env_file is not None and env_file.is_file():
        for name in dotenv_values(env_file):
            sources.setdefault(name, str(env_file))
    lines = []
    for name, meant in unknown_variables(sources):
        hint = f": did you mean {meant}?" if meant else ""
        lines.append(f"unknown setting {name} (in {sources[name]}) is ignored{hint}")
    return lines
