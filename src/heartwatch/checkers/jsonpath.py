"""A tiny JSON path: `status`, `data.items[0].state`, `$.a.b`, `a["key.with.dots"]`.

Enough for "this field of the health document must equal that", which is what uptime
checks ask; full JSONPath (filters, wildcards, slices) is deliberately out of scope: a
path must point at exactly one value, so the error can say which value was seen.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from heartwatch.domain.snippets import quote

_NAME = re.compile(r"[^.\[\]]+")
# `[3]`, `[-1]`, `["any key"]` or `['any key']`.
_BRACKET = re.compile(
    r"""\[(?:(?P<index>-?\d+)|(?P<q>["'])(?P<key>(?:(?!(?P=q)).)*)(?P=q))\]""", re.DOTALL
)

Step = str | int


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return self.text


class Missing(Exception):
    """The document has no value at the path; the message says where it stopped."""


def parse(text: str) -> JsonPath:
    """Parse a path; raise ValueError saying what is wrong with it."""
    source = text.strip()
    if not source:
        raise ValueError("is empty: use $ for the whole document")
    rest = source[1:] if source.startswith("$") else source
    steps: list[Step] = []
    pos = 0
    while pos < len(rest):
        if rest[pos] == "[":
            bracket = _BRACKET.match(rest, pos)
            if bracket is None:
                raise ValueError(f"{text!r} has a bad index at {rest[pos:]!r}")
            index = bracket.group("index")
            steps.append(int(index) if index is not None else bracket.group("key"))
            pos = bracket.end()
            continue
        if rest[pos] == ".":
            pos += 1
        elif pos > 0 or source.startswith("$"):
            raise ValueError(f"{text!r} needs '.' or '[' before {rest[pos:]!r}")
        name = _NAME.match(rest, pos)
        if name is None:
            raise ValueError(f"{text!r} has an empty name at {rest[pos - 1 :]!r}")
        steps.append(name.group())
        pos = name.end()
    return JsonPath(source, tuple(steps))


def evaluate(document: object, path: JsonPath) -> object:
    """The value at `path`; raise Missing saying which step found nothing."""
    value = document
    walked = "$"
    for step in path.steps:
        if isinstance(value, dict):
            key = str(step)
            if key not in value:
                raise Missing(f"{walked} has no key {key!r}")
            value = value[key]
        elif isinstance(value, list):
            index = step if isinstance(step, int) else _as_index(step)
            if index is None or not -len(value) <= index < len(value):
                raise Missing(f"{walked} has no item [{step}] (it has {len(value)} items)")
            value = value[index]
        else:
            raise Missing(f"{walked} is {quote(show(value))}, not an object or a list")
        walked += f"[{step}]" if isinstance(step, int) else f".{step}"
    return value


def _as_index(step: str) -> int | None:
    # `items.0` reads as naturally as `items[0]`; accept both.
    return int(step) if re.fullmatch(r"-?\d+", step) else None


def json_equal(seen: object, expected: object) -> bool:
    """JSON equality: unlike Python's ==, true is not 1 and "1" is not 1; 1 == 1.0."""
    if isinstance(seen, bool) or isinstance(expected, bool):
        return isinstance(seen, bool) and isinstance(expected, bool) and seen is expected
    if isinstance(seen, int | float) and isinstance(expected, int | float):
        return seen == expected or (math.isnan(seen) and math.isnan(expected))
    if isinstance(seen, list) and isinstance(expected, list):
        return len(seen) == len(expected) and all(map(json_equal, seen, expected))
    if isinstance(seen, dict) and isinstance(expected, dict):
        return seen.keys() == expected.keys() and all(
            json_equal(seen[k], expected[k]) for k in seen
        )
    return type(seen) is type(expected) and seen == expected


def show(value: object, limit: int = 80) -> str:
    """A value as people read it in an error: strings quoted, the rest as JSON."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
