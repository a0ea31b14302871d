"""The dashboard's own CSS and JavaScript (no CDN, no build step), public like any page's
assets: `GET /ui/static/{name}`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from heartwatch.web.templating import HERE

router = APIRouter(include_in_schema=False)

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Read once: a handful of small files, named here so no path from a request reaches the
# file system.
_FILES = {
    path.name: (path.read_bytes(), _TYPES[path.suffix])
    for path in sorted((HERE / "static").iterdir())
    if path.suffix in _TYPES
}


@router.get("/ui/static/{name}")
async def asset(name: str) -> Response:
    found = _FILES.get(name)
    if found is None:
        raise HTTPException(404, f"no asset {name[:60]!r}")
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=300"})
