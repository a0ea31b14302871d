"""Response-body snippets are for admins only.

What a probed service or a channel's far end answered can hold anything the service
puts in a page (an internal one included): a check result's `detail` is such a
snippet, and error texts quote them «like this» (`domain.snippets`). A route serving a
principal who may not see them passes its response through `redact_for(view, False)`:
the `detail` fields are dropped and the quoted snippets in `error`, `last_error` and
`reason` become «…», leaving what failed and why ("status 503 not in 200-399", "the
webhook answered 500: «…»").

The route decides, with `api.auth.Reveal` (admins, or everyone while access control is
off). The service, check result, incident and transition views take the same flag in
their `of` and hide the quoted snippets themselves.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from heartwatch.domain.snippets import hide

ViewT = TypeVar("ViewT")

# Fields that are a snippet as a whole, and fields whose text may quote one.
_SNIPPET_FIELDS = frozenset({"detail"})
_QUOTING_FIELDS = frozenset({"error", "last_error", "reason"})


def redact_for(view: ViewT, include_snippets: bool) -> ViewT:
    """`view` (a response model, a list of them, a page holding them) as someone who
    may (`include_snippets`) or may not see what the far ends answered may see it."""
    if include_snippets:
        return view
    redacted: ViewT = _without_snippets(view)
    return redacted


def _without_snippets(value: Any) -> Any:
    if isinstance(value, BaseModel):
        update: dict[str, Any] = {}
        for name in type(value).model_fields:
            item = getattr(value, name)
            if name in _SNIPPET_FIELDS and isinstance(item, str):
                update[name] = None
            elif name in _QUOTING_FIELDS and isinstance(item, str):
                hidden = hide(item)
                if hidden != item:
                    update[name] = hidden
            elif isinstance(item, BaseModel | list):
                stripped = _without_snippets(item)
                if stripped is not item:
                    update[name] = stripped
        return value.model_copy(update=update) if update else value
    if isinstance(value, list):
        items = [_without_snippets(item) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
