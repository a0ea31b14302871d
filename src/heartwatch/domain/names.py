"""Suggesting the name that was meant: a mistyped setting, query parameter or field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to `name`, when one is close enough to be a typo of it.
    Compared without case; the known name is returned as it is spelled."""
    by_folded = {k.casefold(): k for k in known}
    folded = name.casefold()
    match = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
    if match:
        return by_folded[match[0]]
    # A word of a longer name: `period` for `expected_period_sec`.
    words = [k for k in by_folded if folded in k.replace("-", "_").split("_")]
    return by_folded[words[0]] if len(words) == 1 else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """ " (did you mean X?)" when a known name is close to `name`, else ""."""
    meant = closest(name, known)
    return f" (did you mean {meant}?)" if meant else ""
