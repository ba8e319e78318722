"""The OpenAPI 3.1 description of the API, assembled: paths and operations from the routes table, each body's schema
from the codec that reads or writes it, and the errors, parameters and security that only the web layer knows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.codecs import classic, csv, inference_protocol, json, mlflow, sagemaker
from app.codecs.json import JSON_TYPE
from app.core.errors import MAX_DETAILS
from app.core.fields import Schema
from app.core.prediction import BINARY, MAINTENANCE, Task
from app.web.routes import Route

# Schemas by media type: each body the routes table names, as the codec reading or writing it describes it.
Bodies = Mapping[str, dict[str, Any]]

ERROR_STATUSES = {
    "400": "A bad reading or body; details name each bad row and field.",
    "401": "API keys are configured and X-API-Key is missing or wrong.",
    "404": "No such file, or (/v2) no such model or version: the path names the model /v1/model describes.",
    "413": "The body is over MAX_CONTENT_LENGTH bytes, holds more than MAX_ROWS readings, or is JSON of more values "
    "than MAX_ROWS readings hold.",
    "406": "Accept names none of the answer's media types.",
    "409": "Capture is off (CAPTURE_URI is not set), so there is nowhere to keep ground truth.",
    "415": "A content type other than text/csv, text/plain or application/json, or a charset other than UTF-8.",
    "429": "The rate limit for this key or client address is used up; see Retry-After.",
    "500": "An unexpected server error (no traceback is given).",
    "502": "The SageMaker endpoint failed or gave an unusable answer.",
    "503": "The SageMaker endpoint throttled, or the service has no AWS credentials or access.",
    "504": "The SageMaker endpoint did not answer in time.",
}
EXPLAIN = {
    "name": "explain",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["true", "false"]},
    "description": "true adds each field's contribution (embedded model only).",
}
PATH_PARAMETER = re.compile(r"<(\w+)>")  # Flask's <name>, OpenAPI's {name}
TEXT = {"type": "string"}  # an answer that is not JSON and that no codec describes: HTML, CSS, an octet stream
READINGS_JSON = (
    "A reading, a list of readings, or a wrapper: instances (SageMaker, TF Serving), or MLflow's "
    'inputs, dataframe_records and dataframe_split (pandas\' orient="split"; its index only names '
    "rows). The schemas give the plain forms; the API also takes inputs as one list per field, a value "
    "per reading, and dataframe_split's columns in any order. Answers follow the order of the readings."
)
ACCEPTED = {"type": "object", "properties": {"accepted": {"type": "integer", "minimum": 1}}, "required": ["accepted"]}
ERROR = {  # the one error shape, which app/web/errors.py renders
    "type": "object",
    "properties": {
        "error": {
            "type": "string",
            "description": (
                "A short code, such as invalid_input; on the /v2 routes the message, as the Open Inference "
                "Protocol has it."
            ),
        },
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
API_KEY = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": "Required: the service is configured with API_KEYS.",
}


def build_document(
    model: tuple[str, str],
    schema: Schema,
    routes: Iterable[Route],
    keys: bool = False,
    max_rows: int = 10_000,
    task: Task | None = None,
) -> dict[str, Any]:
    """The OpenAPI document for these routes of the model (name, version) whose readings have these fields and
    who does this task (by default, the turbine model's)."""
    task = task or Task(BINARY, MAINTENANCE)
    requests, answers = _requests(schema, task, max_rows), _answers(model, task)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.documented:
            operation = _operation(route, model, keys, requests, answers)
            paths.setdefault(PATH_PARAMETER.sub(r"{\1}", route.rule), {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "turbine-status",
            "version": model[1],
            "description": "Breakdown scores and maintenance labels for wind-turbine sensor readings.",
        },
        "paths": paths,
        "components": {
            "schemas": {**json.reading_schemas(schema), "Error": ERROR},
            **({"securitySchemes": {"apiKey": API_KEY}} if keys else {}),
        },
    }


def _requests(schema: Schema, task: Task, max_rows: int) -> dict[str, Bodies]:
    """The request bodies by the names the routes table gives them."""
    # The feedback's code loads with the document, not at start-up.
    from app.monitoring.feedback import request_schema

    csv_body = csv.body_schema(schema)
    readings = {
        **dict.fromkeys(csv.CSV_TYPES, csv_body),
        JSON_TYPE: {"description": READINGS_JSON, "oneOf": [*json.body_shapes(), *mlflow.body_shapes(schema)]},
    }
    return {
        "readings": readings,
        "infer": {JSON_TYPE: inference_protocol.infer_request_schema(schema, task)},
        "feedback": {JSON_TYPE: request_schema(max_rows)},
    }


def _answers(model: tuple[str, str], task: Task) -> dict[str, Bodies]:
    """The successful answers' bodies by the names the routes table gives them; a media type not named is TEXT."""
    return {
        "accepted": {JSON_TYPE: ACCEPTED},
        "classic": {JSON_TYPE: classic.answer_schema()},
        "versioned": {JSON_TYPE: json.versioned_schema()},
        "invocations": sagemaker.answer_schemas(),
        "infer": {JSON_TYPE: inference_protocol.infer_answer_schema(*model, task)},
        "object": {JSON_TYPE: {"type": "object"}},
        "text": {},
    }


def _operation(
    route: Route, model: tuple[str, str], keys: bool, requests: Mapping[str, Bodies], answers: Mapping[str, Bodies]
) -> dict[str, Any]:
    """A route's operation: its parameters, its request body, its answer and the errors it may give."""
    # Security is declared only when API keys are on, so /docs offers "Authorize" only then.
    guarded = keys and route.keyed
    parameters = _parameters(route, *model)
    content = {t: {"schema": requests[route.body][t]} for t in route.bodies}
    return {
        "summary": route.summary,
        **({"description": f"Served only with {route.when[0]}={route.when[1]}."} if route.when else {}),
        **({"security": [{}, {"apiKey": []}]} if guarded else {}),
        **({"parameters": parameters} if parameters else {}),
        **({"requestBody": {"required": True, "content": content}} if content else {}),
        "responses": {
            route.answer.status: _answer(route, answers[route.answer.body]),
            **_errors(*sorted({*route.errors, *(("401",) if guarded else ())})),
        },
    }


def _parameters(route: Route, name: str, version: str) -> list[dict[str, Any]]:
    """The route's path parameters (the served model's name and version: any other is a 404), then its query and
    header parameters."""
    served = {"name": name, "version": version}
    path = [
        {"name": key, "in": "path", "required": True, "schema": {"type": "string", "enum": [served[key]]}}
        for key in PATH_PARAMETER.findall(route.rule)
    ]
    named = {"explain": EXPLAIN, sagemaker.CUSTOM_ATTRIBUTES: sagemaker.custom_attributes_parameter()}
    return path + [named[key] for key in route.parameters]


def _answer(route: Route, bodies: Bodies) -> dict[str, Any]:
    """The route's successful answer, in each of its media types."""
    answer = route.answer
    return {
        "description": answer.description,
        "content": {t: {"schema": bodies.get(t, TEXT)} for t in answer.media_types},
    }


def _errors(*statuses: str) -> dict[str, Any]:
    """The error answers by status, each in the one error shape."""
    return {
        s: {"description": ERROR_STATUSES[s], "content": {JSON_TYPE: {"schema": json.component("Error")}}}
        for s in statuses
    }
