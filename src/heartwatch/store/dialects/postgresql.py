"""PostgreSQL: the scale-out store. Row locks (`FOR UPDATE`, `SKIP LOCKED` in the worker)
keep API and worker processes from acting twice on one change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # pre_ping: a connection the server dropped (restart, failover) is replaced instead of
    # failing the next request.
    # hide_parameters: an error (logged with its traceback) or an echoed statement never
    # quotes the values bound to it, which include channel secrets and key hashes.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        hide_parameters=True,
    )
