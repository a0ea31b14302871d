"""API keys over HTTP, for admins: create (the key is shown once), list, revoke. They go
through the process's `Authenticator`, so a revoked key stops working here at once (and
in other processes within `services.auth.KEY_CACHE_TTL_S`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from heartwatch.api import examples
from heartwatch.api.auth import REAL_TIME
from heartwatch.api.deps import ReadSession, RuntimeDep
from heartwatch.api.key_schemas import KeyCreated, KeyIn, KeyOut
from heartwatch.api.list_schemas import KeyList
from heartwatch.api.problems import problems
from heartwatch.services import auth

router = APIRouter(prefix="/keys", tags=["access"])


@router.post("", response_model=KeyCreated, status_code=201)
async def create_key(
    runtime: RuntimeDep,
    body: Annotated[KeyIn, Body(openapi_examples=examples.KEY_IN)],
    response: Response,
) -> KeyCreated:
    """Create an API key. Its `key` is in this answer and nowhere else, ever: heartwatch
    keeps only a hash of it."""
    now = REAL_TIME.now()
    row, full_key = await runtime.authn.create_key(body.name, body.role, body.expiry(now), now)
    response.headers["Cache-Control"] = "no-store"
    return KeyCreated(**KeyOut.of(row, now).model_dump(), key=full_key)


@router.get("", response_model=KeyList)
async def list_keys(session: ReadSession) -> KeyList:
    """Every API key, revoked and expired ones included (never a secret), in one page."""
    now = REAL_TIME.now()
    return KeyList(items=[KeyOut.of(row, now) for row in await auth.list_keys(session)])


@router.delete("/{id}", response_model=KeyOut, responses=problems(404))
async def revoke_key(runtime: RuntimeDep, id: str) -> KeyOut:
    """Revoke a key: it stops working at once. It stays listed, as revoked."""
    now = REAL_TIME.now()
    return KeyOut.of(await runtime.authn.revoke_key(id, now), now)
