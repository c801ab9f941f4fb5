"""An OpenAPI document that teaches: a description on every field and query parameter (from
`glossary`), an example of every event type and answer (from `examples`), and each problem an
operation can answer listed with what it means and where its page is."""

from __future__ import annotations

from typing import Any

from app.api import examples, glossary
from app.api.problem_pages import CATALOGUE

_SHOWN_IDENTIFIERS = {
    scheme: {"type": "string", "pattern": pattern, "description": glossary.IDENTIFIERS[scheme]}
    for scheme, pattern in (
        ("nomis", glossary.NOMIS),
        ("crn", glossary.CRN),
        ("nhs", glossary.NHS),
        ("pnc", glossary.PNC),
    )
}


def teach(spec: dict[str, Any]) -> None:
    """Fill in what the models and routes left unsaid, in place."""
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        _describe_fields(name, schema)
        if name in examples.ANSWERS:
            schema["examples"] = [examples.ANSWERS[name]]
    for operation in (op for item in spec["paths"].values() for op in item.values()):
        for parameter in operation.get("parameters", []):
            parameter.setdefault("description", glossary.PARAMETERS.get(parameter["name"], ""))
        for status, response in operation["responses"].items():
            if status.isdigit() and int(status) >= 400:
                response["description"] = _problems_said(response.get("description", ""))
        _event_examples(operation)


def _describe_fields(name: str, schema: dict[str, Any]) -> None:
    properties = schema.get("properties", {})
    event_type = properties.get("type", {}).get("const")
    if event_type in examples.EVENTS:
        schema["examples"] = [examples.EVENTS[event_type]]
    for field, prop in properties.items():
        said = glossary.PER_SCHEMA.get((name, field)) or glossary.FIELDS.get(field)
        if event_type and field == "type":
            said = f"The event type: always `{event_type}` for this shape"
        elif event_type and field == "data":
            said = f"The fields of a `{event_type}` event (CONTRACT §3.2); others are refused"
        if said and "description" not in prop:
            prop["description"] = said
        if field == "identifiers" and prop.get("type") == "object":
            # As joinup shows them: normalised, so each matches its scheme's pattern exactly.
            prop["properties"] = _SHOWN_IDENTIFIERS


def _problems_said(description: str) -> str:
    """`"identity-conflict, event-id-conflict"` said out: each problem, its meaning and page."""
    slugs = [part.strip() for part in description.split(",")]
    if not all(slug in CATALOGUE for slug in slugs):
        return description
    return "\n".join(f"- [`{slug}`](/problems/{slug}): {CATALOGUE[slug].meaning}" for slug in slugs)


def _event_examples(operation: dict[str, Any]) -> None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    if ref.endswith("/EventCreate"):
        content["examples"] = {
            type_: {"summary": type_, "value": envelope}
            for type_, envelope in examples.EVENTS.items()
        }
    elif ref.endswith("/BatchCreate"):
        pair = [examples.EVENTS["prison.treatment.started"], examples.EVENTS["prison.released"]]
        content["examples"] = {"two events": {"value": {"events": pair, "atomic": False}}}
