"""The OpenAPI document says what the API does: every operation described, with every
refusal it can give in the body it really has; type-specific settings as discriminated
unions; examples the API accepts, answered as shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from heartwatch.api import examples
from heartwatch.api.app import create_app
from heartwatch.api.openapi_doc import REF
from heartwatch.api.problems import Problem, ValidationProblem
from heartwatch.runtime import Runtime
from tests.api.conftest import with_key

PROBLEM_SCHEMAS = {f"{REF}Problem", f"{REF}ValidationProblem"}
# Answers whatever is asked of it, when the process answers at all.
CANNOT_FAIL = {"GET /healthz"}
BODY_METHODS = {"post", "put", "patch"}


@pytest.fixture
def spec(runtime: Runtime) -> dict[str, Any]:
    return create_app(runtime).openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].removeprefix(REF)]
    return schema


def test_every_operation_has_a_summary_a_description_and_its_refusals(
    spec: dict[str, Any],
) -> None:
    for name, operation in operations(spec):
        assert operation.get("summary"), name
        assert operation.get("description"), name
        responses = operation["responses"]
        refusals = {s for s in responses if s.startswith(("4", "5"))}
        assert refusals or name in CANNOT_FAIL, f"{name}: no error response"
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in refusals, name
        if "{" in name:
            assert "404" in refusals, name
        if name.split()[0].lower() in BODY_METHODS:
            assert "413" in refusals, name
        for status in refusals:
            assert responses[status].get("description"), (name, status)
            content = responses[status]["content"]
            assert content, (name, status)
            json_schema = content.get("application/json", {}).get("schema", {})
            if status == "422":
                assert json_schema == {"$ref": f"{REF}ValidationProblem"}, name
            elif "/api/push/" not in name or status != "404":  # Kuma's own 404 body
                assert json_schema.get("$ref") in PROBLEM_SCHEMAS, (name, status, content)


def test_fastapis_validation_error_is_not_documented(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(spec)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["ValidationProblem"]
    assert set(problem["properties"]) == {"detail", "errors"}
    item = resolve(spec, problem["properties"]["errors"]["items"])
    assert set(item["properties"]) == {"loc", "msg", "type"}


def test_path_parameters_have_meaningful_names(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["name"] not in {"first", "second", "third", "arg", "x"}, name
                assert len(parameter["name"]) > 1, name
    assert not [p for p in spec["paths"] if re.search(r"\{(first|second)\}", p)]


def test_every_request_body_has_examples_and_its_answer_one(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec):
        if "requestBody" not in operation:
            continue
        body = operation["requestBody"]["content"]["application/json"]
        assert body.get("examples"), name
        [answer] = [r for s, r in operation["responses"].items() if s.startswith("2")]
        schema = resolve(spec, answer["content"]["application/json"]["schema"])
        assert schema.get("examples") or answer["content"]["application/json"].get("example")


def test_service_bodies_are_a_union_discriminated_by_type(
    spec: dict[str, Any], runtime: Runtime
) -> None:
    schemas = spec["components"]["schemas"]
    create = schemas["ServiceCreate"]
    assert create["discriminator"]["propertyName"] == "type"
    mapping = create["discriminator"]["mapping"]
    assert set(mapping) == {"heartbeat", *runtime.checkers.types()}
    assert [v["$ref"] for v in create["oneOf"]] == list(mapping.values())
    http = resolve(spec, {"$ref": mapping["http"]})
    assert http["additionalProperties"] is False
    assert {"method", "headers", "expect_keyword", "json_path", "json_expected"} <= set(
        http["properties"]
    )
    assert http["properties"]["type"] == {"type": "string", "const": "http", "title": "Type"}
    assert {"key", "type", "endpoint"} <= set(http["required"])
    assert "expected_period_sec" not in http["properties"]
    heartbeat = resolve(spec, {"$ref": mapping["heartbeat"]})
    assert "expected_period_sec" in heartbeat["properties"]
    assert "endpoint" not in heartbeat["properties"] and "method" not in heartbeat["properties"]
    tcp = resolve(spec, {"$ref": mapping["tcp"]})
    assert "method" not in tcp["properties"]
    patch_variants = {v["$ref"] for v in schemas["ServicePatch"]["anyOf"]}
    assert f"{REF}HttpServicePatch" in patch_variants
    assert "json_path" in schemas["HttpServicePatch"]["properties"]


def test_channel_bodies_are_a_union_discriminated_by_type(
    spec: dict[str, Any], runtime: Runtime
) -> None:
    schemas = spec["components"]["schemas"]
    channel = schemas["ChannelIn"]
    mapping = channel["discriminator"]["mapping"]
    assert channel["discriminator"]["propertyName"] == "type"
    assert set(mapping) == set(runtime.notifiers.types())
    telegram = resolve(spec, {"$ref": mapping["telegram"]})
    config = resolve(spec, telegram["properties"]["config"])
    assert {"bot_token", "chat_id"} <= set(config["properties"])
    assert config["additionalProperties"] is False
    webhook = resolve(spec, resolve(spec, {"$ref": mapping["webhook"]})["properties"]["config"])
    assert "url" in webhook["properties"]


def _values(named: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [example["value"] for example in named.values()]


async def test_request_examples_are_accepted_and_answered_as_shown(
    client: httpx.AsyncClient,
) -> None:
    services = _values(examples.SERVICE_CREATE)
    created = [await client.post("/services", json=body) for body in services]
    for response in created:
        assert response.status_code == 201, response.text
    assert set(created[0].json()) == set(examples.SERVICE_OUT)
    for body in services:
        replaced = await client.put(f"/services/{body['key']}", json=body)
        assert replaced.status_code == 200, replaced.text
    rename, settings = _values(examples.SERVICE_PATCH)
    assert (await client.patch("/services/nightly-import", json=rename)).status_code == 200
    patched = await client.patch("/services/shop-api", json=settings)
    assert patched.status_code == 200, patched.text

    channels = [await client.post("/channels", json=body) for body in _values(examples.CHANNEL_IN)]
    for response in channels:
        assert response.status_code == 201, response.text
    assert set(channels[0].json()) == set(examples.CHANNEL_OUT)
    for body in _values(examples.CHANNEL_PATCH):
        assert (await client.patch("/channels/oncall", json=body)).status_code == 200

    for body in _values(examples.MUTE_IN):
        muted = await client.post("/services/nightly-import/mute", json=body)
        assert muted.status_code == 200, muted.text
        assert set(muted.json()) == set(examples.MUTE_OUT)

    for body in _values(examples.CLOCK_MOVE):
        moved = await client.post("/dev/clock", json=body)
        assert moved.status_code == 200, moved.text
        assert set(moved.json()) == set(examples.CLOCK_OUT)

    ack = await client.post("/heartbeat/billing")
    assert set(ack.json()) == set(examples.PING_ACK)

    # The first key turns access control on: the admin one first, then with it.
    read, admin = _values(examples.KEY_IN)
    made = await client.post("/keys", json=admin)
    assert made.status_code == 201, made.text
    assert set(made.json()) == set(examples.KEY_CREATED)
    made = await client.post("/keys", json=read, headers=with_key(made.json()["key"]))
    assert made.status_code == 201, made.text


async def test_refusals_come_in_the_documented_bodies(client: httpx.AsyncClient) -> None:
    invalid = await client.post("/services", json={"key": "k", "expected_period_sec": -1})
    assert invalid.status_code == 422
    ValidationProblem.model_validate(invalid.json(), strict=False)
    assert set(invalid.json()) == {"detail", "errors"}
    assert set(invalid.json()["errors"][0]) == {"loc", "msg", "type"}
    missing = await client.get("/services/nope")
    assert missing.status_code == 404 and set(missing.json()) == {"detail"}
    Problem.model_validate(missing.json())
    await client.post("/services", json={"key": "taken"})
    taken = await client.post("/services", json={"key": "taken"})
    assert taken.status_code == 409 and set(taken.json()) == {"detail"}


async def test_schedule_maintenance_and_status_page_examples_are_answered_as_shown(
    client: httpx.AsyncClient,
) -> None:
    for body in _values(examples.SCHEDULE_DRAFT):
        preview = await client.post("/schedule/preview", json=body)
        assert preview.status_code == 200, preview.text
        assert set(preview.json()) == set(examples.SCHEDULE_PREVIEW)
        assert set(preview.json()["runs"][0]) == set(examples.SCHEDULE_PREVIEW["runs"][0])
    nightly = await client.post("/schedule/preview", json=_values(examples.SCHEDULE_DRAFT)[0])
    assert nightly.json()["description"] == examples.SCHEDULE_PREVIEW["description"]

    await client.post("/services", json={"key": "db", "tags": ["db"]})
    for body in _values(examples.WINDOW_IN):
        window = await client.post("/maintenance", json=body)
        assert window.status_code == 201, window.text
        assert set(window.json()) == set(examples.WINDOW_OUT)

    for key in ("shop-api", "postgres"):
        await client.post("/services", json={"key": key})
    for body in _values(examples.STATUS_PAGE_IN):
        page = await client.post("/status-pages", json=body)
        assert page.status_code == 201, page.text
        assert set(page.json()) == set(examples.STATUS_PAGE_OUT)
    for body in _values(examples.STATUS_PAGE_PATCH):
        slug = (await client.get("/status-pages")).json()["items"][0]["slug"]
        patched = await client.patch(f"/status-pages/{slug}", json=body)
        assert patched.status_code == 200, patched.text
