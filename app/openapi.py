"""The OpenAPI 3.1 description of the API, built from the schema module's fields."""

from __future__ import annotations

from typing import Any

from app.schema import FIELDS, MAX_DETAILS, SAMPLE_CSV, Field

ERROR_STATUSES = {
    "400": "A bad reading or body; details name each bad row and field.",
    "401": "API keys are configured and X-API-Key is missing or wrong.",
    "413": "The body is over MAX_CONTENT_LENGTH bytes or holds more than MAX_ROWS readings.",
    "415": "A content type other than text/csv, text/plain or application/json, or a charset other than UTF-8.",
    "429": "The rate limit for this key or client address is used up; see Retry-After.",
    "500": "An unexpected server error (no traceback is given).",
    "502": "The SageMaker endpoint failed or gave an unusable answer.",
    "503": "The SageMaker endpoint throttled, or the service has no AWS credentials or access.",
    "504": "The SageMaker endpoint did not answer in time.",
}


def _field_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": field.label, "description": field.description}
    if field.categories:
        schema.update(type="string", enum=list(field.categories))
    else:
        schema.update(type="number", minimum=field.minimum, maximum=field.maximum)
        if field.unit:
            schema["description"] += f" Unit: {field.unit}."
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: {"description": ERROR_STATUSES[s], "content": _json(_ref("Error"))} for s in statuses}


def build_document(version: str) -> dict[str, Any]:
    """The OpenAPI document; `version` is the service's model version."""
    reading = {
        "type": "object",
        "properties": {f.name: _field_schema(f) for f in FIELDS},
        "required": [f.name for f in FIELDS],
        "additionalProperties": False,
    }
    reading_array = {
        "type": "array",
        "description": "The 11 values in field order.",
        "prefixItems": [_field_schema(f) for f in FIELDS],
        "minItems": len(FIELDS),
        "maxItems": len(FIELDS),
    }
    item = {"oneOf": [_ref("Reading"), _ref("ReadingArray")]}
    csv_body = {
        "type": "string",
        "description": "One reading per line, 11 comma-separated values in field order; an optional header line.",
        "example": SAMPLE_CSV,
    }
    request_body = {
        "required": True,
        "content": {
            "text/csv": {"schema": csv_body},
            "text/plain": {"schema": csv_body},
            "application/json": {
                "schema": {
                    "oneOf": [
                        _ref("Reading"),
                        {"type": "array", "items": item, "minItems": 1},
                        {
                            "type": "object",
                            "properties": {"instances": {"type": "array", "items": item, "minItems": 1}},
                            "required": ["instances"],
                            "additionalProperties": False,
                        },
                    ]
                }
            },
        },
    }
    score = {"type": "number", "minimum": 0, "maximum": 1, "description": "Probability of a breakdown."}
    label = {"type": "integer", "enum": [0, 1], "description": "1: maintenance required."}
    classic = {
        "type": "object",
        "properties": {
            "predictions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"score": score, "predicted_label": label},
                    "required": ["score", "predicted_label"],
                },
            }
        },
        "required": ["predictions"],
    }
    versioned_item = {
        "type": "object",
        "properties": {
            "score": score,
            "predicted_label": label,
            "label": {"type": "string", "enum": ["maintenance_required", "healthy"]},
            "contributions": {
                "type": "object",
                "description": "Each field's contribution to the log-odds against an average reading.",
                "additionalProperties": {"type": "number"},
            },
        },
        "required": ["score", "predicted_label", "label"],
    }
    versioned = {
        "type": "object",
        "properties": {
            "predictions": {"type": "array", "items": versioned_item},
            "model": {"type": "object"},
        },
        "required": ["predictions", "model"],
    }
    error = {
        "type": "object",
        "properties": {
            "error": {"type": "string", "description": "A short code, such as invalid_input."},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "maxItems": MAX_DETAILS,
                "items": {
                    "type": "object",
                    "properties": {
                        "row": {"type": ["integer", "null"]},
                        "field": {"type": ["string", "null"]},
                        "message": {"type": "string"},
                    },
                    "required": ["row", "field", "message"],
                },
            },
        },
        "required": ["error", "message", "details"],
    }
    keyed: list[dict[str, list[str]]] = [{}, {"apiKey": []}]
    html = {"text/html": {"schema": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "turbine-status",
            "version": version,
            "description": "Breakdown scores and maintenance labels for wind-turbine sensor readings.",
        },
        "paths": {
            "/": {
                "get": {"summary": "The demo page", "responses": {"200": {"description": "HTML", "content": html}}},
                "post": {
                    "summary": "Score readings (SageMaker linear-learner answer shape)",
                    "security": keyed,
                    "requestBody": request_body,
                    "responses": {
                        "200": {"description": "One prediction per reading, in input order", "content": _json(classic)},
                        **_errors("400", "401", "413", "415", "429", "500", "502", "503", "504"),
                    },
                },
            },
            "/v1/predictions": {
                "post": {
                    "summary": "Score readings, with text labels and optional explanations",
                    "security": keyed,
                    "parameters": [
                        {
                            "name": "explain",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["true", "false"]},
                            "description": "true adds each field's contribution (embedded model only).",
                        }
                    ],
                    "requestBody": request_body,
                    "responses": {
                        "200": {
                            "description": "One prediction per reading, in input order",
                            "content": _json(versioned),
                        },
                        **_errors("400", "401", "413", "415", "429", "500", "502", "503", "504"),
                    },
                }
            },
            "/ping": {
                "get": {
                    "summary": "Health: 200 once the model is loaded",
                    "responses": {"200": {"description": "Up", "content": _json({"type": "object"})}},
                }
            },
            "/v1/model": {
                "get": {
                    "summary": "The model, its metrics and the reading's fields",
                    "security": keyed,
                    "responses": {
                        "200": {"description": "Model description", "content": _json({"type": "object"})},
                        **_errors("401", "429"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}},
                }
            },
            "/docs": {
                "get": {
                    "summary": "Human-readable API docs",
                    "responses": {"200": {"description": "HTML", "content": html}},
                }
            },
        },
        "components": {
            "schemas": {"Reading": reading, "ReadingArray": reading_array, "Error": error},
            "securitySchemes": {
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "Required only when the service is configured with API_KEYS.",
                }
            },
        },
    }
