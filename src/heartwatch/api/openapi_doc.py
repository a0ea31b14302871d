"""The OpenAPI document as the API really behaves, on top of what FastAPI derives:

- errors: every 422 documented with the body api/errors.py answers (`ValidationProblem`,
  not FastAPI's `HTTPValidationError`), a 413 on every operation that takes a body (the
  body limit), and every other refusal with `Problem` (`{"detail": ...}`);
- type-specific settings as unions: a service's body is one variant per service type,
  told apart by `type` (`discriminator`), each with its checker's own settings (`method`,
  `headers`, `expect_keyword`, `json_path`, ... for http), and a channel's `config` one
  variant per notifier type. The variants come from the registries this process runs
  with, so an installed plugin's type is documented too. Validation stays the API's own
  (the checker's and the notifier's settings models): this only documents it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from heartwatch.api.problems import MEANING, Problem, ProblemItem, ValidationProblem
from heartwatch.domain.service_types import ServiceType
from heartwatch.runtime import Runtime
from heartwatch.services.registry import PROBE_FIELDS

REF = "#/components/schemas/"
BODY_METHODS = frozenset({"post", "put", "patch"})
# The camelCase `timeout` (seconds) is a probe field too (stored as timeout_ms).
_PROBE_PROPERTIES = frozenset({*PROBE_FIELDS, "timeout"})
# Refused on a probe service (services.registry).
_HEARTBEAT_PROPERTIES = frozenset({"expected_period_sec", "resume_on_ping"})


def install_openapi(app: FastAPI, runtime: Runtime) -> None:
    """Make `app.openapi()` the documented one, with the runtime's checker and notifier
    types."""
    derived = app.openapi

    def documented() -> dict[str, Any]:
        if app.openapi_schema is None:
            checkers = {t: runtime.checkers.get(t).Settings for t in runtime.checkers.types()}
            notifiers = {t: runtime.notifiers.get(t).Settings for t in runtime.notifiers.types()}
            app.openapi_schema = document(derived(), checkers, notifiers)
        return app.openapi_schema

    app.openapi = documented  # type: ignore[method-assign]


def document(
    spec: dict[str, Any],
    checker_settings: Mapping[str, type[BaseModel]],
    notifier_settings: Mapping[str, type[BaseModel]],
) -> dict[str, Any]:
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, ProblemItem, ValidationProblem):
        add_model(schemas, model.__name__, model)
    _replace_refs(spec, f"{REF}HTTPValidationError", f"{REF}ValidationProblem")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for method, operation in operations(spec):
        _document_refusals(method, operation)
    if "ServiceCreate" in schemas:
        _service_unions(schemas, checker_settings)
    if "ChannelIn" in schemas:
        _channel_unions(schemas, notifier_settings)
    return spec


def operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path_item in spec.get("paths", {}).values():
        yield from path_item.items()


def add_model(schemas: dict[str, Any], name: str, model: type[BaseModel]) -> None:
    """`model`'s schema as component `name`, its nested models as components too."""
    schema = model.model_json_schema(ref_template=REF + "{model}")
    for nested, nested_schema in schema.pop("$defs", {}).items():
        schemas.setdefault(nested, nested_schema)
    schema["title"] = name
    schemas[name] = schema


def _replace_refs(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value == old:
                node[key] = new
            else:
                _replace_refs(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _replace_refs(item, old, new)


def _problem_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"{REF}Problem"}}}


def _document_refusals(method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if method in BODY_METHODS and "413" not in responses:
        responses["413"] = {"description": MEANING[413]}
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        if "content" not in response:
            response["content"] = _problem_content()
        _problems_as_json(response["content"])
        if status == "422":
            response["description"] = MEANING[422]


def _problems_as_json(content: dict[str, Any]) -> None:
    """A refusal is JSON even from a route that answers plain text (the Healthchecks
    pings), where FastAPI files a declared model under the route's own media type."""
    for media_type in [m for m in content if m != "application/json"]:
        ref = content[media_type].get("schema", {}).get("$ref", "")
        if ref.removeprefix(REF) in {"Problem", "ValidationProblem"}:
            content.setdefault("application/json", content.pop(media_type))


def _type_name(type_name: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", type_name)) + suffix


def _settings_schema(schemas: dict[str, Any], name: str, model: type[BaseModel]) -> dict[str, Any]:
    """The settings model's schema (its nested models as components)."""
    add_model(schemas, name, model)
    schema: dict[str, Any] = schemas[name]
    return schema


def _variant(
    base: Mapping[str, Any],
    type_name: str | None,
    settings: Mapping[str, Any] | None,
    *,
    probe: bool,
    title: str,
) -> dict[str, Any]:
    """One service type's body: the common fields (the probe ones only for probe types),
    the type's settings, nothing else."""
    properties = {
        name: schema
        for name, schema in base["properties"].items()
        if name not in (_HEARTBEAT_PROPERTIES if probe else _PROBE_PROPERTIES) and name != "type"
    }
    required = [r for r in base.get("required", []) if r in properties]
    if type_name is not None:
        properties["type"] = {"type": "string", "const": type_name, "title": "Type"}
        required.append("type")
    if probe and type_name is not None and "endpoint" in properties:
        properties["endpoint"] = {
            "type": "string",
            "minLength": 1,
            "maxLength": 2000,
            "title": "Endpoint",
            "description": "what to check: a URL (http), host:port (tcp), a command (script)",
        }
        required.append("endpoint")
    if settings is not None:
        properties.update(settings.get("properties", {}))
    variant: dict[str, Any] = {
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        variant["required"] = required
    return variant


def _service_unions(
    schemas: dict[str, Any], checker_settings: Mapping[str, type[BaseModel]]
) -> None:
    create = schemas["ServiceCreate"]
    patch = schemas.get("ServicePatch")
    kinds: dict[str, dict[str, Any] | None] = {ServiceType.HEARTBEAT.value: None}
    for type_name, model in sorted(checker_settings.items()):
        kinds[type_name] = _settings_schema(schemas, _type_name(type_name, "Settings"), model)
    create_refs: dict[str, str] = {}
    patch_refs: list[dict[str, str]] = []
    for type_name, settings in kinds.items():
        probe = settings is not None
        name = _type_name(type_name, "ServiceCreate")
        schemas[name] = _variant(create, type_name, settings, probe=probe, title=name)
        create_refs[type_name] = f"{REF}{name}"
        if patch is not None:
            name = _type_name(type_name, "ServicePatch")
            schemas[name] = _variant(patch, None, settings, probe=probe, title=name)
            patch_refs.append({"$ref": f"{REF}{name}"})
    schemas["ServiceCreate"] = {
        "title": "ServiceCreate",
        "description": "A service, by its `type`: `heartbeat` (the default when `type` is "
        "left out) reports in itself; the others are checked by heartwatch, with their "
        "checker's settings as fields of the body.",
        "oneOf": [{"$ref": ref} for ref in create_refs.values()],
        "discriminator": {"propertyName": "type", "mapping": create_refs},
    }
    if patch is not None:
        schemas["ServicePatch"] = {
            "title": "ServicePatch",
            "description": "Only the fields given change. The settings a body may carry are "
            "those of the service's own type (which a PATCH cannot change): one of these.",
            "anyOf": patch_refs,
        }


def _channel_unions(
    schemas: dict[str, Any], notifier_settings: Mapping[str, type[BaseModel]]
) -> None:
    channel_in = schemas["ChannelIn"]
    refs: dict[str, str] = {}
    configs: list[dict[str, str]] = []
    for type_name, model in sorted(notifier_settings.items()):
        config_name = _type_name(type_name, "ChannelConfig")
        _settings_schema(schemas, config_name, model)
        configs.append({"$ref": f"{REF}{config_name}"})
        name = _type_name(type_name, "ChannelIn")
        properties = dict(channel_in["properties"])
        properties["type"] = {"type": "string", "const": type_name, "title": "Type"}
        properties["config"] = {"$ref": f"{REF}{config_name}"}
        schemas[name] = {
            **channel_in,
            "title": name,
            "properties": properties,
            "required": sorted({*channel_in.get("required", []), "type"}),
        }
        refs[type_name] = f"{REF}{name}"
    schemas["ChannelIn"] = {
        "title": "ChannelIn",
        "description": "A notification channel, by its `type`, with that type's `config`.",
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "type", "mapping": refs},
    }
    patch = schemas.get("ChannelPatch")
    if patch is not None:
        patch["properties"]["config"] = {
            "anyOf": [*configs, {"type": "null"}],
            "description": "the channel type's settings; secrets shown masked may be sent "
            "back masked: they are kept",
        }
