"""What the public routes answer, as OpenAPI documents it: their bodies are HTML, SVG
or a shields.io document (not a model FastAPI could derive), their refusals JSON."""

from __future__ import annotations

from typing import Any

from heartwatch.api.problems import problems

_NOT_MODIFIED = {"description": "not modified: the visitor's `If-None-Match` names it"}
_SHIELDS = {
    "type": "object",
    "properties": {
        "schemaVersion": {"type": "integer", "const": 1},
        "label": {"type": "string"},
        "message": {"type": "string"},
        "color": {"type": "string"},
    },
    "required": ["schemaVersion", "label", "message", "color"],
}
_NO_BADGE = "no badge with that token (it may have been rotated), or no such period"

PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the page, as HTML",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    304: _NOT_MODIFIED,
    **problems(s404="no status page with that slug"),
}
SVG: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the badge, as SVG",
        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
    },
    304: _NOT_MODIFIED,
    **problems(s404=_NO_BADGE),
}
SHIELDS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the badge as a shields.io endpoint document",
        "content": {
            "application/json": {
                "schema": _SHIELDS,
                "example": {
                    "schemaVersion": 1,
                    "label": "status",
                    "message": "up",
                    "color": "brightgreen",
                },
            }
        },
    },
    304: _NOT_MODIFIED,
    **problems(s404=_NO_BADGE),
}
