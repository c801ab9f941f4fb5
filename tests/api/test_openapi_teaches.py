"""The OpenAPI document teaches: every field and query parameter described, an example of every
event type (each one the API accepts) and of every answer (each one the models accept), and
every problem an operation answers listed with its page."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.domain.vocabulary import EventType
from app.schemas import api as schemas
from app.schemas import audit as audit_schemas
from app.schemas import keys as key_schemas
from app.schemas import notifications as notification_schemas
from app.schemas.events import EVENT_ADAPTER
from tests.support.api import Api


def _spec(api: Api) -> dict[str, Any]:
    answer = api.client.get("/openapi.json")
    assert answer.status_code == 200
    spec: dict[str, Any] = answer.json()
    return spec


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_every_field_and_parameter_is_described(api: Api) -> None:
    spec = _spec(api)
    bare = [
        f"{name}.{field}"
        for name, schema in spec["components"]["schemas"].items()
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert bare == []
    undescribed = [
        f"{where} {parameter['name']}"
        for where, operation in _operations(spec)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []


def test_every_event_type_has_an_example_the_api_accepts(api: Api) -> None:
    spec = _spec(api)
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    shown = {name: example["value"] for name, example in body["examples"].items()}
    assert list(shown) == list(EventType)
    for type_, envelope in shown.items():
        assert EVENT_ADAPTER.validate_python(envelope).type == type_
        answer = api.post(envelope)
        assert answer.status_code == 201, (type_, answer.text)
    variants = [s for s in spec["components"]["schemas"].values() if "const" in _type_of(s)]
    assert sorted(s["examples"][0]["type"] for s in variants) == sorted(EventType)


def _type_of(schema: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = schema.get("properties", {}).get("type", {})
    return found


def _models() -> dict[str, type[BaseModel]]:
    found = {}
    for module in (schemas, audit_schemas, key_schemas, notification_schemas):
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found[name] = value
    return found


def test_every_answer_has_an_example_its_model_accepts(api: Api) -> None:
    spec = _spec(api)
    components = spec["components"]["schemas"]
    answered = set()
    for _, operation in _operations(spec):
        for response in operation["responses"].values():
            for content in response.get("content", {}).values():
                ref = content.get("schema", {}).get("$ref") or ""
                items = content.get("schema", {}).get("items", {}).get("$ref") or ""
                answered |= {r.rsplit("/", 1)[1] for r in (ref, items) if r}
    assert {"EventAccepted", "BatchResult", "PersonView", "Metrics", "Problem"} <= answered
    models = _models()
    for name in answered:
        (example,) = components[name]["examples"]
        models[name].model_validate(example)


def test_every_problem_an_operation_answers_is_listed_with_its_page(api: Api) -> None:
    spec = _spec(api)
    conflicts = spec["paths"]["/v1/events"]["post"]["responses"]["409"]["description"]
    for slug in ("identity-conflict", "event-id-conflict", "already-corrected"):
        assert f"[`{slug}`](/problems/{slug}): " in conflicts
    assert "correction-type-mismatch" in conflicts
    retraction = spec["paths"]["/v1/events/{event_id}/retraction"]["post"]["responses"]["409"]
    assert "(/problems/event-superseded)" in retraction["description"]
    for where, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status.isdigit() and int(status) >= 400:
                assert "/problems/" in response["description"], (where, status)
    for link in {"/problems/event-id-conflict", "/problems/identity-conflict"}:
        assert api.client.get(link).status_code == 200
