"""The OpenAPI document, and the running app fuzzed against it with schemathesis, every check: no 5xx, every
answer conforms, what the document allows is accepted and what it forbids is refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from app.codecs.csv import csv_pattern
from app.codecs.sagemaker import CUSTOM_ATTRIBUTES_LIMIT, custom_attributes_parameter, explain_attribute
from app.core.errors import ReadingsError
from app.core.schemas import turbine_schema
from app.web.openapi import ERROR_STATUSES, PATH_PARAMETER
from app.web.routes import ROUTES
from app.web.security import hash_key
from tests.conftest import read_body

TURBINE = turbine_schema()
FIELD_NAMES = TURBINE.names


KEY = "fuzz-key"
# The default configuration, and one with keys, limits and /metrics (the fuzzer sends the key).
default = schemathesis.openapi.from_wsgi("/openapi.json", create_app())
keyed = schemathesis.openapi.from_wsgi(
    "/openapi.json",
    create_app({"API_KEYS": (hash_key(KEY),), "RATELIMIT_DEFAULT": "1000000 per minute", "METRICS": "prometheus"}),
)
# Keys and metrics, each on and off: the routes served and the document's paths change with both.
CONFIGURATIONS = [
    {},
    {"API_KEYS": (hash_key(KEY),)},
    {"METRICS": "prometheus"},
    {"API_KEYS": (hash_key(KEY),), "METRICS": "prometheus"},
]


@schemathesis.serializer("text/csv", "text/plain")
def csv_body(ctx: Any, value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


def _served(app: Flask) -> set[tuple[str, str, str]]:
    """Every rule of the URL map but Flask's static files, as (rule, endpoint, method)."""
    return {
        (rule.rule, rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


@pytest.mark.parametrize("config", CONFIGURATIONS)
def test_the_routes_table_is_the_url_map(config: dict[str, Any]) -> None:
    app = create_app(config)
    assert _served(app) == {(r.rule, r.endpoint, r.method) for r in ROUTES if r.served(app.config)}


@pytest.mark.parametrize("config", CONFIGURATIONS)
def test_document_describes_every_route_but_page_files(config: dict[str, Any]) -> None:
    app = create_app(config)
    document = app.test_client().get("/openapi.json").get_json()
    internal = {r.endpoint for r in ROUTES if not r.documented}
    described = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    served = {
        (PATH_PARAMETER.sub(r"{\1}", rule), method)
        for rule, endpoint, method in _served(app)
        if endpoint not in internal
    }
    assert described == served
    assert ("/metrics" in document["paths"]) is (config.get("METRICS") == "prometheus")


def test_every_error_status_in_the_table_is_described() -> None:
    assert {status for r in ROUTES for status in r.errors} <= set(ERROR_STATUSES)


def test_document_content(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    reading = document["components"]["schemas"]["Reading"]
    assert list(reading["properties"]) == list(FIELD_NAMES)
    assert reading["properties"]["rpm_blade"]["title"] == "RPM blade"
    post = document["paths"]["/"]["post"]
    assert set(post["requestBody"]["content"]) == {"text/csv", "text/plain", "application/json"}
    assert {"400", "413", "415", "429", "500", "502", "503", "504"} <= set(post["responses"])
    assert document["paths"]["/v1/predictions"]["post"]["parameters"][0]["name"] == "explain"


def test_document_is_built_once_per_app(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.web import pages as api

    calls: list[tuple[Any, ...]] = []
    build = api.build_document

    def counted(*args: Any) -> dict[str, Any]:
        calls.append(args)
        return build(*args)

    monkeypatch.setattr(api, "build_document", counted)
    client = create_app().test_client()
    first, second = client.get("/openapi.json"), client.get("/openapi.json")
    assert first.get_data() == second.get_data() and len(calls) == 1


def test_docs_page_needs_no_cdn(client: FlaskClient) -> None:
    html = client.get("/docs").get_data(as_text=True)
    assert 'src="static/docs.js"' in html and "http" not in html.split("<body>")[0].replace('href="data:,"', "")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(csv_pattern(TURBINE), fullmatch=True))
def test_every_body_the_csv_pattern_allows_is_accepted(body: str) -> None:
    assert len(read_body(body.encode(), "text/csv", None, 10_000)) >= 1


@pytest.mark.parametrize(
    "line", ["TID008,VAWT,250.1,80,46.0,21,55,55,7,34,NE", "TID011,VAWT,64,80,46,21,55,55,7,34,NE"]
)
def test_the_csv_pattern_refuses_what_the_api_refuses(line: str) -> None:
    assert not re.search(csv_pattern(TURBINE), line)


ATTRIBUTES = re.compile(custom_attributes_parameter()["schema"]["pattern"])


@settings(max_examples=300, deadline=None)
@given(st.from_regex(ATTRIBUTES, fullmatch=True).filter(lambda header: len(header) <= CUSTOM_ATTRIBUTES_LIMIT))
def test_every_custom_attributes_header_the_pattern_allows_is_accepted(header: str) -> None:
    explain_attribute(header)  # raises ReadingsError when refused


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("explain=true", True),
        (" explain = false ,trace=a=b,,Explain=yes", True),
        ("explain", True),
        ("explain=yes", False),
        ("a=1,explain=true,explain=", False),
        ("explain=true" + " " * CUSTOM_ATTRIBUTES_LIMIT, False),
    ],
)
def test_the_custom_attributes_pattern_allows_what_sagemaker_accepts(header: str, accepted: bool) -> None:
    try:
        explain_attribute(header)
    except ReadingsError:
        refused = True
    else:
        refused = False
    assert refused is not accepted
    assert (bool(ATTRIBUTES.fullmatch(header)) and len(header) <= CUSTOM_ATTRIBUTES_LIMIT) is accepted


@pytest.mark.parametrize("output", ["score", "predicted_label", "predict", "predict_proba", "label"])
def test_an_infer_request_may_ask_for_the_outputs_the_api_gives(client: FlaskClient, output: str) -> None:
    """MLServer's names for the outputs (predict, predict_proba) included."""
    path = "/v2/models/{name}/infer"
    operation = client.get("/openapi.json").get_json()["paths"][path]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    allowed = request["properties"]["outputs"]["items"]["properties"]["name"]["enum"]
    inputs = [
        {
            "name": f.name,
            "shape": [1],
            "datatype": "BYTES" if f.categories else "FP64",
            "data": [v if f.categories else float(v)],
        }
        for f, v in zip(TURBINE.fields, TURBINE.sample.split(","), strict=True)
    ]
    name = operation["parameters"][0]["schema"]["enum"][0]
    answer = client.post(path.format(name=name), json={"inputs": inputs, "outputs": [{"name": output}]})
    assert (answer.status_code == 200) is (output in allowed)


@default.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_default_configuration_conforms_to_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate()


@keyed.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_configuration_with_keys_and_limits_conforms_to_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"X-API-Key": KEY})


@pytest.mark.parametrize("config", CONFIGURATIONS)
def test_security_is_declared_only_when_keys_are_on(config: dict[str, Any]) -> None:
    """Swagger UI shows "Authorize" and locks from the document's security: only when keys are configured."""
    keys = "API_KEYS" in config
    document = create_app(config).test_client().get("/openapi.json").get_json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert ("securitySchemes" in document["components"]) is keys
    assert any("security" in op for op in operations) is keys
    assert any("401" in op["responses"] for op in operations) is keys
