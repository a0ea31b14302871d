"""The error bodies as OpenAPI documents them: what api/errors.py (and the body limit, the
access control and the ping parser) really answer, so generated clients parse them.

Routes declare the refusals they can give with `problems(404, 409)`; api/openapi_doc.py
adds what every route of a kind can answer (422, 413, and the access control's)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """Every 4xx: what is wrong, in one sentence."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"detail": "service 'billing' not found"}]}
    )

    detail: str = Field(description="what is wrong, and what to do about it")


class ProblemItem(BaseModel):
    """One thing wrong with a request (pydantic's location, message and error type)."""

    loc: list[str | int] = Field(description='where: ["body", "expected_period_sec"], ...')
    msg: str
    type: str = Field(description="the kind of error, e.g. greater_than, missing")


class ValidationProblem(BaseModel):
    """A 422: the request's parts that are wrong, summed up in `detail`, one by one in
    `errors`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "expected_period_sec: Input should be greater than 0",
                    "errors": [
                        {
                            "loc": ["body", "expected_period_sec"],
                            "msg": "Input should be greater than 0",
                            "type": "greater_than",
                        }
                    ],
                }
            ]
        }
    )

    detail: str = Field(description="every error, `where: what` joined by `; `")
    errors: list[ProblemItem] = Field(
        default_factory=list, description="absent for a refusal that is not about one field"
    )


MEANING: dict[int, str] = {
    400: "a malformed request (e.g. two different API keys)",
    401: "no API key, or an unknown, revoked or expired one (the ping key: missing or wrong)",
    403: "the API key's role may not do this",
    404: "no such service, channel or key",
    409: "conflicts with what exists (a key or name taken, the registry full)",
    413: "the request body is over HEARTWATCH_MAX_REQUEST_BYTES",
    422: "the request is not valid: `detail` says why, `errors` field by field",
    429: "too many failed API keys from this address: retry after `Retry-After` seconds",
    503: "the database cannot be reached",
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    model = ValidationProblem if status == 422 else Problem
    return {"model": model, "description": description or MEANING[status]}


def problems(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for the refusals it gives beyond the usual ones;
    `described` overrides a status's meaning: `problems(404, s409="...")`."""
    out: dict[int | str, dict[str, Any]] = {s: problem_response(s) for s in statuses}
    for name, text in described.items():
        status = int(name.removeprefix("s"))
        out[status] = problem_response(status, text)
    return out
