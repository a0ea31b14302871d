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
from heartwatch.services.errors import Conflict, Invalid, NotFound
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


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        where = str(error["loc"][0]) if error["loc"] else ""
        errors.setdefault(where if where in _NAMES else "", error["msg"])
    return errors


def _probe(parsed: ServiceCreate) -> registry.ProbeConfig | None:
    if not is_probe(parsed.type):
        return None
    if parsed.endpoint is None:
        raise _FieldProblem("endpoint", "required for this type")
    return registry.ProbeConfig(
        type=parsed.type, settings=parsed.checker_settings(), **parsed.probe_fields()
    )


class _FieldProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def _save(
    runtime: Runtime, body: dict[str, Any], editing: str | None = None
) -> dict[str, str]:
    """Create the service, or replace the configuration of `editing` (as PUT does:
    fields left empty go back to their defaults); the errors by field ("" for the form
    as a whole)."""
    try:
        parsed = ServiceCreate.model_validate(body)
    except ValidationError as exc:
        return _validation_errors(exc)
    try:
        probe = _probe(parsed)
        now = runtime.clock.now()
        async with runtime.db.writing() as session:
            if editing is None:
                await registry.create_service(
                    session,
                    key=parsed.key,
                    name=parsed.name,
                    description="",
                    expected_period_sec=parsed.expected_period_sec,
                    now=now,
                    probe=probe,
                    labels=registry.Labels(**parsed.labels()),
                    active=True,
                    resume_on_ping=None,
                    checkers=runtime.checkers,
                    allow_scripts=runtime.check_context.allow_scripts,
                )
            else:
                changes = registry.ServiceChanges(
                    key=parsed.key,
                    type=parsed.type,
                    name=parsed.name or parsed.key,
                    set_period=probe is None,
                    expected_period_sec=parsed.expected_period_sec,
                    probe={f: getattr(probe, f) for f in registry.PROBE_FIELDS} if probe else {},
                    settings=dict(probe.settings) if probe else {},
                    replace_settings=True,
                    labels={
                        "criticality": parsed.criticality or "medium",
                        "tags": tuple(parsed.tags or ()),
                        "sla_target": parsed.sla_target,
                    },
                )
                await registry.update_service(
                    session,
                    editing,
                    changes,
                    rules=runtime.rules,
                    now=now,
                    checkers=runtime.checkers,
                )
    except _FieldProblem as exc:
        return {exc.field: str(exc)}
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
    editing: str | None = None,
) -> Response:
    return render(
        request,
        viewer,
        "new.html",
        status,
        editing=editing,
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
    errors = await _save(runtime, _body(service_type, values))
    if errors:
        return _form(request, runtime, viewer, service_type, values, errors, 422)
    key = values.get("key", "").strip()
    return RedirectResponse(f"/ui/services/{quote(key, safe='')}?done=Created", 303)


def _values_of(row: Any) -> dict[str, str]:
    """A service's configuration as the form's fields."""
    settings = dict(row.check_settings or {})
    values = {
        "key": row.key,
        "name": row.name if row.name != row.key else "",
        "expected_period_sec": _number(row.expected_period_sec),
        "endpoint": row.endpoint or "",
        "check_interval_sec": _number(row.check_interval_sec),
        "timeout_ms": _number(row.timeout_ms),
        "retry_count": _number(row.retry_count) if is_probe(row.type) else "",
        "failure_threshold": _number(row.failure_threshold) if is_probe(row.type) else "",
        "expect_keyword": str(settings.get("expect_keyword") or ""),
        "tags": ", ".join(row.tags or ()),
        "criticality": row.criticality,
        "sla_target": _number(row.sla_target),
    }
    return values


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


@router.get("/ui/services/{id}/edit")
async def edit_service(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str
) -> Response:
    try:
        async with runtime.db.reading() as session:
            row = await registry.get_service(session, id)
    except NotFound as exc:
        return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))
    return _form(request, runtime, viewer, row.type, _values_of(row), {}, editing=row.key)


@router.post("/ui/services/{id}/edit")
async def save_service(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, id: str
) -> Response:
    values = await form_of(request)
    try:
        async with runtime.db.reading() as session:
            row = await registry.get_service(session, id)
    except NotFound as exc:
        return render(request, viewer, "error.html", 404, title="Not found", message=str(exc))
    errors = await _save(runtime, _body(row.type, values), editing=str(row.id))
    if errors:
        return _form(request, runtime, viewer, row.type, values, errors, 422, editing=row.key)
    key = values.get("key", "").strip()
    return RedirectResponse(f"/ui/services/{quote(key, safe='')}?done=Saved", 303)
