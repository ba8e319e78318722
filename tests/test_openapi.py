"""The OpenAPI document, and the running app fuzzed against it with schemathesis: no 5xx, every answer conforms."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.schema import FIELD_NAMES

app = create_app({"RATELIMIT_DEFAULT": "1000000 per minute"})
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@schemathesis.serializer("text/csv", "text/plain")
def csv_body(ctx: Any, value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


def test_document_describes_every_route(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/", "/v1/predictions", "/ping", "/v1/model", "/openapi.json", "/docs"}
    reading = document["components"]["schemas"]["Reading"]
    assert list(reading["properties"]) == list(FIELD_NAMES)
    assert reading["properties"]["rpm_blade"]["title"] == "RPM blade"
    post = document["paths"]["/"]["post"]
    assert set(post["requestBody"]["content"]) == {"text/csv", "text/plain", "application/json"}
    assert {"400", "401", "413", "415", "429", "500", "502", "503", "504"} <= set(post["responses"])


def test_docs_page_needs_no_cdn(client: FlaskClient) -> None:
    html = client.get("/docs").get_data(as_text=True)
    assert 'src="static/docs.js"' in html and "http" not in html.split("<body>")[0].replace('href="data:,"', "")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_app_conforms_to_its_document(case: schemathesis.Case) -> None:
    # A CSV body's schema is "a string", so acceptance of schema-valid data is not a check that can hold.
    case.call_and_validate(checks=CHECKS)
