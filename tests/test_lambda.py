"""The Zappa package end to end, offline: built in a deploy virtualenv, its real handler fed API Gateway
events in a fresh process with only the zip and boto3 on the path (deploys: tests/test_deploy.py)."""

from __future__ import annotations

import base64
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE
from tests.lambda_harness import run_events as run_lambda

HOST = "abc123.execute-api.eu-west-1.amazonaws.com"

pytestmark = pytest.mark.slow


def run_events(
    lambda_path: str, events: list[dict[str, Any]], env: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], float]:
    """Responses of Zappa's handler in a fresh process, and the seconds from its start to the first answer."""
    run = run_lambda(lambda_path, events, env)
    assert "Traceback" not in run.stderr, run.stderr
    return run.responses, run.cold_start


def rest_event(
    method: str,
    path: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event, as a stage URL on execute-api delivers it."""
    encoded = isinstance(body, bytes)
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})},
        "multiValueHeaders": None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"stage": "dev", "requestId": "req-1", "httpMethod": method, "path": f"/dev{path}"},
        "body": base64.b64encode(body).decode() if isinstance(body, bytes) else body,
        "isBase64Encoded": encoded,
    }


def http_event(
    method: str, raw_path: str, body: str | None = None, headers: dict[str, str] | None = None, stage: str = "$default"
) -> dict[str, Any]:
    """An API Gateway HTTP API (v2) event."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"host": HOST, **(headers or {})},
        "requestContext": {"stage": stage, "requestId": "req-2", "http": {"method": method, "path": raw_path}},
        "body": body,
        "isBase64Encoded": False,
    }


def test_package_is_small_and_holds_only_what_serving_needs(package: Path) -> None:
    size = package.stat().st_size
    print(f"package: {size / 1e6:.2f} MB")
    assert size <= 10 * 1000 * 1000
    names = set(zipfile.ZipFile(package).namelist())
    for needed in (
        "handler.py",
        "zappa_settings.py",
        "app/wsgi.py",
        "app/model/model.json",
        "static/index.html",
        "static/app.js",
        "durationpy/__init__.py",
        "app/core/__pycache__/validation.cpython-311.pyc",
    ):
        assert needed in names
    tops = {name.split("/")[0] for name in names}
    for absent in (
        "boto3",
        "botocore",
        "sklearn",
        "numpy",
        "scipy",
        "pandas",
        "xgboost",
        "lightgbm",
        "onnx",
        "onnxruntime",
        "pytest",
        "moto",
        "troposphere",
        "pip",
        "tests",
        "bench",
        "build",
        ".venv-deploy",
    ):
        assert absent not in tops


def test_rest_api_events(lambda_path: str) -> None:
    origin = {"Origin": "https://dashboard.example"}
    events = [
        rest_event("POST", "/", SAMPLE, {"Content-Type": "text/csv", **origin}),
        rest_event("POST", "/", SAMPLE.encode(), {"Content-Type": "text/csv"}),
        rest_event(
            "OPTIONS",
            "/",
            None,
            {**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        ),
        rest_event("GET", "/"),
        rest_event("GET", "/static/app.js"),
        rest_event("GET", "/v1/model"),
        rest_event("POST", "/v1/predictions", SAMPLE.replace("NE", "<b>"), {"Content-Type": "text/csv", **origin}),
        rest_event("POST", "/v1/predictions", SAMPLE, {"Content-Type": "text/csv"}, {"explain": "true"}),
        rest_event("DELETE", "/ping"),
    ]
    responses, _ = run_events(lambda_path, events)
    classic, encoded, preflight, page, script, model, bad, explained, wrong_method = responses

    assert classic["statusCode"] == 200
    [prediction] = json.loads(classic["body"])["predictions"]
    assert prediction["predicted_label"] == 1 and prediction["score"] > 0.9
    assert classic["headers"]["Access-Control-Allow-Origin"] == "*"
    assert json.loads(encoded["body"]) == json.loads(classic["body"])
    assert preflight["statusCode"] == 200 and "POST" in preflight["headers"]["Access-Control-Allow-Methods"]
    assert page["statusCode"] == 200 and '<base href="/dev/">' in page["body"]
    assert "script-src 'self'" in page["headers"]["Content-Security-Policy"]
    assert script["statusCode"] == 200 and "textContent" in script["body"]
    assert json.loads(model["body"])["backend"] == "embedded"
    assert bad["statusCode"] == 400 and bad["headers"]["Access-Control-Allow-Origin"] == "*"
    assert json.loads(bad["body"])["details"][0] == {
        "row": 1,
        "field": "wind_direction",
        "message": "'<b>' is not one of N, NE, E, SE, S, SW, W, NW",
    }
    assert len(json.loads(explained["body"])["predictions"][0]["contributions"]) == 11
    assert wrong_method["statusCode"] == 405 and json.loads(wrong_method["body"])["error"] == "method_not_allowed"
    assert "Traceback" not in wrong_method["body"]


def test_http_api_events_with_and_without_a_stage_prefix(lambda_path: str) -> None:
    events = [
        http_event("POST", "/", SAMPLE, {"content-type": "text/csv"}),
        http_event("POST", "/dev/", SAMPLE, {"content-type": "text/plain"}, stage="dev"),
        http_event("GET", "/dev/v1/model", stage="dev"),
        http_event("POST", "/v1/predictions", "TID008", {"content-type": "text/csv"}),
    ]
    responses, _ = run_events(lambda_path, events)
    plain, staged, model, bad = responses
    assert plain["statusCode"] == staged["statusCode"] == 200
    assert json.loads(plain["body"]) == json.loads(staged["body"])
    assert json.loads(model["body"])["schema"]["fields"][0]["name"] == "turbine_id"
    assert bad["statusCode"] == 400 and "expected 11 values" in bad["body"]


def test_model_path_alone_serves_another_model_from_the_package(lambda_path: str, ai4i_model: Path) -> None:
    """An artifact put under app/ in the package, named by MODEL_PATH in the function's environment."""
    artifact = Path(lambda_path.split(":")[0]) / "app" / "model" / "ai4i.json"
    shutil.copy(ai4i_model, artifact)
    events = [
        rest_event("POST", "/", "L, 298.4, 308.2, 1582, 70.7, 216", {"Content-Type": "text/csv"}),
        rest_event("POST", "/", SAMPLE, {"Content-Type": "text/csv"}),
        rest_event("GET", "/v1/model"),
    ]
    try:
        (scored, turbine, model), _ = run_events(lambda_path, events, {"MODEL_PATH": str(artifact)})
    finally:
        artifact.unlink()
    assert scored["statusCode"] == 200 and len(json.loads(scored["body"])["predictions"]) == 1
    assert turbine["statusCode"] == 400 and "expected 6 values" in turbine["body"]
    assert json.loads(model["body"])["schema"]["fields"][0]["name"] == "type"


def test_an_imported_xgboost_model_serves_from_the_package_without_xgboost(lambda_path: str, tmp_path: Path) -> None:
    """The Lambda case: the trees are scored in pure Python, with the library's scores."""
    from app import create_app
    from tests.test_importing import NAMES, edge_rows, forty_trees, import_model, matrix

    booster = forty_trees()

    model = tmp_path / "model.json"
    booster.save_model(str(model))
    assert import_model(create_app(), tmp_path, model).exit_code == 0
    artifact = Path(lambda_path.split(":")[0]) / "app" / "model" / "imported.json"
    shutil.copy(tmp_path / "imported.json", artifact)
    rows = edge_rows(booster, 50)
    body = json.dumps([dict(zip(NAMES, row, strict=True)) for row in rows])
    try:
        [scored], _ = run_events(
            lambda_path,
            [rest_event("POST", "/", body, {"Content-Type": "application/json"})],
            {"MODEL_PATH": str(artifact)},
        )
    finally:
        artifact.unlink()
    assert scored["statusCode"] == 200, scored["body"][:300]
    scores = [p["score"] for p in json.loads(scored["body"])["predictions"]]
    assert max(abs(s - float(e)) for s, e in zip(scores, booster.predict(matrix(rows)), strict=True)) <= 1e-6


def test_cold_start_from_the_zip_alone(lambda_path: str) -> None:
    responses, cold_start = run_events(lambda_path, [rest_event("POST", "/", SAMPLE, {"Content-Type": "text/csv"})])
    print(f"cold start (process start to first response): {cold_start * 1000:.0f} ms")
    assert responses[0]["statusCode"] == 200
