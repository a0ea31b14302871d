"""Ping endpoints answer several methods (cron lines use GET, curl -X POST, monitors HEAD).
One FastAPI route per method keeps each OpenAPI operation id unique."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def ping_route(
    router: APIRouter, path: str, methods: Sequence[str] = ("GET", "POST"), **options: Any
) -> Callable[[Endpoint], Endpoint]:
    def register(endpoint: Endpoint) -> Endpoint:
        for method in methods:
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                operation_id=f"{endpoint.__name__}_{method.lower()}",
                **options,
            )
        return endpoint

    return register
