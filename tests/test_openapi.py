"""The OpenAPI document, and the running app fuzzed against it with schemathesis, every check: no 5xx, every
answer conforms, what the document allows is accepted and what it forbids is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from app.openapi import csv_pattern
from app.schema import turbine_schema
from app.security import hash_key

TURBINE = turbine_schema()
FIELD_NAMES = TURBINE.names


KEY = "fuzz-key"
# The default configuration, and one with keys and limits (the fuzzer sends the key).
default = schemathesis.openapi.from_wsgi("/openapi.json", create_app())
keyed = schemathesis.openapi.from_wsgi(
    "/openapi.json", create_app({"API_KEYS": (hash_key(KEY),), "RATELIMIT_DEFAULT": "1000000 per minute"})
)


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
    assert {"400", "413", "415", "429", "500", "502", "503", "504"} <= set(post["responses"])


def test_docs_page_needs_no_cdn(client: FlaskClient) -> None:
    html = client.get("/docs").get_data(as_text=True)
    assert 'src="static/docs.js"' in html and "http" not in html.split("<body>")[0].replace('href="data:,"', "")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(csv_pattern(TURBINE), fullmatch=True))
def test_every_body_the_csv_pattern_allows_is_accepted(body: str) -> None:
    assert len(TURBINE.parse_body(body.encode(), "text/csv", None, 10_000)) >= 1


@pytest.mark.parametrize(
    "line", ["TID008,VAWT,250.1,80,46.0,21,55,55,7,34,NE", "TID011,VAWT,64,80,46,21,55,55,7,34,NE"]
)
def test_the_csv_pattern_refuses_what_the_api_refuses(line: str) -> None:
    assert not re.search(csv_pattern(TURBINE), line)


@default.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_default_configuration_conforms_to_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate()


@keyed.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_configuration_with_keys_and_limits_conforms_to_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"X-API-Key": KEY})


@pytest.mark.parametrize("keys", [True, False])
def test_security_is_declared_only_when_keys_are_on(keys: bool) -> None:
    """Swagger UI shows "Authorize" and locks from the document's security: only when keys are configured."""
    config = {"API_KEYS": (hash_key(KEY),)} if keys else {}
    document = create_app(config).test_client().get("/openapi.json").get_json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert ("securitySchemes" in document["components"]) is keys
    assert any("security" in op for op in operations) is keys
    assert any("401" in op["responses"] for op in operations) is keys
