"""The create-service form: one form per type (heartbeat, http, tcp, and script where
script checks are allowed), validated by the API's own rules (api.schemas.ServiceCreate,
then the registry and the checker's settings), each message shown next to its field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from heartwatch.api.deps import RuntimeDep
from heartwatch.api.schemas import ServiceCreate
from heartwatch.domain.service_types import is_probe
from heartwatch.runtime import Runtime
from heartwatch.services import registry
from heartwatch.services.errors import Conflict, Invalid
from heartwatch.web.access import ViewerDep, form_of
from heartwatch.web.templating import render

router = APIRouter(include_in_schema=False)

PROBES = ("http", "tcp", "script")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    kind: str  # the input's type, or "select"
    types: tuple[str, ...]  # the service types it belongs to
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()


ALL = ("heartbeat", *PROBES)
FIELDS = (
    Field("key", "Key", "text", ALL, "letters, digits, - _ . (1-100)", required=True),
    Field("name", "Name", "text", ALL, "shown instead of the key (optional)"),
    Field(
        "expected_period_sec",
        "Period (seconds)",
        "number",
        ("heartbeat",),
        "how often it reports in; empty: heartwatch learns it",
    ),
    Field("endpoint", "URL", "url", ("http",), "https://example.org/health", required=True),
    Field("endpoint", "Host and port", "text", ("tcp",), "db.internal:5432", required=True),
    Field("endpoint", "Command", "text", ("script",), "exit status 0 is up", required=True),
    Field("check_interval_sec", "Check every (seconds)", "number", PROBES, "1 to 86400"),
    Field("timeout_ms", "Timeout (ms)", "number", PROBES, "at least 100"),
    Field("retry_count", "Retries", "number", PROBES, "0 to 10"),
    Field("failure_threshold", "Down after failed checks", "number", PROBES, "1 to 100"),
    Field("expect_keyword", "Expected keyword", "text", ("http",), "in the response body"),
    Field("tags", "Tags", "text", ALL, "comma-separated"),
    Field(
        "criticality",
        "Criticality",
        "select",
        ALL,
        choices=("medium", "low", "high", "critical"),
    ),
    Field("sla_target", "SLA target (%)", "number", ALL, "e.g. 99.9"),
)
_NAMES = tuple(dict.fromkeys(f.name for f in FIELDS))


def types_for(runtime: Runtime) -> tuple[str, ...]:
    allowed = ("heartbeat", "http", "tcp")
    return (*allowed, "script") if runtime.check_context.allow_scripts else allowed


def _body(service_type: str, values: dict[str, str]) -> dict[str, Any]:
    """The API's request body from the form's non-empty fields of this type."""
    body: dict[str, Any] = {"type": service_type}
    for field in FIELDS:
        value = values.get(field.name, "").strip()
        if service_type in field.types and value:
            if field.name == "tags":
                body["tags"] = [t.strip() for t in value.split(",") if t.strip()]
            else:
                body[field.name] = value
    return body


def _field_of(message: str) -> str:
    """The field a registry or checker message is about (the first it names)."""
    for name in _NAMES:
        if name in message:
            return name
    return "endpoint" if "address" in message or "network" in message else ""


async def _create(runtime: Runtime, service_type: str, body: dict[str, Any]) -> dict[str, str]:
    """Create the service; the errors by field ("" for the form as a whole)."""
    try:
        parsed = ServiceCreate.model_validate(body)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(where if where in _NAMES else "", error["msg"])
        return errors
    try:
        probe = None
        if is_probe(parsed.type):
            if parsed.endpoint is None:
                return {"endpoint": "required for this type"}
            probe = registry.ProbeConfig(
                type=parsed.type, settings=parsed.checker_settings(), **parsed.probe_fields()
            )
        async with runtime.db.writing() as session:
            await registry.create_service(
                session,
                key=parsed.key,
                name=parsed.name,
                description="",
                expected_period_sec=parsed.expected_period_sec,
                now=runtime.clock.now(),
                probe=probe,
                labels=registry.Labels(**parsed.labels()),
                active=True,
                resume_on_ping=None,
                checkers=runtime.checkers,
                allow_scripts=runtime.check_context.allow_scripts,
            )
    except Conflict as exc:
        return {"key": str(exc)}
    except Invalid as exc:
        return {_field_of(str(exc)): str(exc)}
    return {}


def _form(
    request: Request,
    runtime: Runtime,
    viewer: ViewerDep,
    service_type: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render(
        request,
        viewer,
        "new.html",
        status,
        types=types_for(runtime),
        service_type=service_type,
        fields=[f for f in FIELDS if service_type in f.types],
        values=values,
        errors=errors,
    )


@router.get("/ui/new")
async def new_service(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, type: str = "heartbeat"
) -> Response:
    service_type = type if type in types_for(runtime) else "heartbeat"
    return _form(request, runtime, viewer, service_type, {}, {})


@router.post("/ui/new")
async def create_service(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    values = await form_of(request)
    service_type = values.get("type", "heartbeat")
    if service_type not in types_for(runtime):
        errors = {"": f"choose a type: {', '.join(types_for(runtime))}"}
        return _form(request, runtime, viewer, "heartbeat", values, errors, 422)
    errors = await _create(runtime, service_type, _body(service_type, values))
    if errors:
        return _form(request, runtime, viewer, service_type, values, errors, 422)
    key = values.get("key", "").strip()
    return RedirectResponse(f"/ui/services/{quote(key, safe='')}?done=Created", 303)
