"""Unknown query parameters are refused (422), naming the parameter most likely meant:
FastAPI ignores a parameter a route does not declare, so `?stauts=down` would list every
service and `?limt=5` a full page, as if the filter had been applied."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError

from heartwatch.api.pings import unknown_parameter

_KNOWN: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def route_query_parameters(request: Request) -> frozenset[str] | None:
    """The query parameters the request's route reads (None: not a FastAPI route)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return None
    key = id(dependant)
    if key not in _KNOWN:
        _KNOWN[key] = frozenset(_query_names(dependant))
    return _KNOWN[key]


async def refuse_unknown_query(request: Request) -> None:
    """A route dependency: 422 for every query parameter the route does not read."""
    if not request.scope.get("query_string"):
        return
    known = route_query_parameters(request)
    if known is None:
        return
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        faults = [unknown_parameter(name, sorted(known)) for name in dict.fromkeys(unknown)]
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": fault.msg, "type": fault.type}
                for name, fault in zip(dict.fromkeys(unknown), faults, strict=True)
            ]
        )
