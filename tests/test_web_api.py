"""The service's own routes: the classic POST /, /v1/predictions with labels and explanations, /ping and
/v1/model; their limits and refusals, CORS, and hooks added after the factory."""

from __future__ import annotations

import json
import math

import pytest
from flask import Response, abort, request, request_started
from flask.testing import FlaskClient

from app import create_app
from app.web.security import hash_key
from tests.conftest import HEALTHY, INVOCATIONS_ATTRIBUTES, ORIGIN, SAMPLE, post_csv
from tests.readings import FIELD_NAMES, TOO_MANY_VALUES


@pytest.mark.parametrize("path", ["/", "/v1/predictions"])
@pytest.mark.parametrize(
    "content_type", ["text/csv", "text/plain", "text/plain;charset=UTF-8", "text/csv; charset=utf-8"]
)
def test_classic_sample_needs_maintenance(client: FlaskClient, path: str, content_type: str) -> None:
    response = client.post(path, data=SAMPLE, content_type=content_type)
    assert response.status_code == 200
    prediction = response.get_json()["predictions"][0]
    assert prediction["score"] > 0.9
    assert prediction["predicted_label"] == 1


def test_classic_route_answers_the_linear_learner_shape(client: FlaskClient) -> None:
    response = post_csv(client, f"{SAMPLE}\n{HEALTHY}")
    body = response.get_json()
    assert list(body) == ["predictions"]
    assert [list(p) for p in body["predictions"]] == [["score", "predicted_label"]] * 2
    assert [p["predicted_label"] for p in body["predictions"]] == [1, 0]
    assert response.data.startswith(b'{"predictions":[{"score":')


def test_json_batch_in_input_order(client: FlaskClient) -> None:
    rows = [dict(zip(FIELD_NAMES, line.split(","), strict=True)) for line in (HEALTHY, SAMPLE, HEALTHY)]
    for row in rows:
        for name in FIELD_NAMES[2:10]:
            row[name] = float(row[name])
    response = client.post("/", json={"instances": rows})
    assert [p["predicted_label"] for p in response.get_json()["predictions"]] == [0, 1, 0]


def test_versioned_route_adds_label_and_model(client: FlaskClient) -> None:
    body = post_csv(client, f"{SAMPLE}\n{HEALTHY}", "/v1/predictions").get_json()
    assert [p["label"] for p in body["predictions"]] == ["maintenance_required", "healthy"]
    assert body["model"]["backend"] == "embedded"
    assert body["model"]["version"]
    assert "contributions" not in body["predictions"][0]


def test_explain_gives_each_fields_contribution(client: FlaskClient) -> None:
    body = post_csv(client, SAMPLE, "/v1/predictions?explain=true").get_json()
    prediction = body["predictions"][0]
    assert list(prediction["contributions"]) == list(FIELD_NAMES)
    baseline = client.get("/v1/model").get_json()["baseline"]
    log_odds = baseline + sum(prediction["contributions"].values())
    assert 1 / (1 + math.exp(-log_odds)) == pytest.approx(prediction["score"], abs=1e-12)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/predictions?explain=true", {}),
        ("/invocations", {INVOCATIONS_ATTRIBUTES: "explain=true"}),
    ],
)
def test_explained_readings_are_bounded_on_every_route_that_explains(path: str, headers: dict[str, str]) -> None:
    bounded = create_app({"TESTING": True, "MAX_EXPLAIN_ROWS": 3, "SAGEMAKER_BATCH": True}).test_client()
    assert post_csv(bounded, "\n".join([SAMPLE] * 3), path, headers=headers).status_code == 200
    response = post_csv(bounded, "\n".join([SAMPLE] * 4), path, headers=headers)
    assert response.status_code == 413
    message = response.get_json()["message"]
    assert message.startswith(
        "4 readings sent to be explained; at most 3 are explained in one request (MAX_EXPLAIN_ROWS): send 3 or "
        "fewer per request"
    )
    unexplained = post_csv(bounded, "\n".join([SAMPLE] * 4), path.partition("?")[0])
    assert unexplained.status_code == 200  # the bound is the explanations', not the route's


def test_explain_must_be_true_or_false(client: FlaskClient) -> None:
    response = post_csv(client, SAMPLE, "/v1/predictions?explain=yes")
    assert response.status_code == 400
    assert response.get_json()["details"] == [
        {"row": None, "field": "explain", "message": "'yes' is not true or false"}
    ]


def test_bad_reading_is_a_400_naming_row_and_field(client: FlaskClient) -> None:
    response = post_csv(client, f"{SAMPLE}\n{SAMPLE.replace('NE', 'UP')}", headers={"Origin": ORIGIN})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_input"
    assert body["details"] == [
        {"row": 2, "field": "wind_direction", "message": "'UP' is not one of N, NE, E, SE, S, SW, W, NW"}
    ]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/", "/v1/predictions"])
def test_preflight(client: FlaskClient, path: str) -> None:
    response = client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, X-API-Key",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert set(response.headers["Access-Control-Allow-Headers"].lower().split(", ")) == {"content-type", "x-api-key"}
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_configured_origins_are_the_only_ones_allowed() -> None:
    client = create_app({"CORS_ORIGINS": [ORIGIN]}).test_client()
    allowed = post_csv(client, SAMPLE, headers={"Origin": ORIGIN})
    other = post_csv(client, SAMPLE, headers={"Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Origin" not in other.headers


def test_ping(client: FlaskClient) -> None:
    response = client.get("/ping")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "backend": "embedded", "model": "turbine-breakdown-logistic"}


def test_model_metadata(client: FlaskClient) -> None:
    body = client.get("/v1/model").get_json()
    assert body["backend"] == "embedded"
    assert body["threshold"] == 0.5
    assert {"roc_auc", "accuracy", "precision", "recall", "confusion_matrix"} <= set(body["metrics"])
    assert [f["name"] for f in body["schema"]["fields"]] == list(FIELD_NAMES)
    assert body["sample"] == SAMPLE


def test_row_limit_is_a_413() -> None:
    client = create_app({"MAX_ROWS": 2}).test_client()
    response = post_csv(client, "\n".join([SAMPLE] * 3))
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_default_row_limit_accepts_ten_thousand_rows(client: FlaskClient) -> None:
    response = post_csv(client, "\n".join([SAMPLE, HEALTHY] * 5000))
    assert response.status_code == 200
    assert len(response.get_json()["predictions"]) == 10_000
    assert post_csv(client, "\n".join([SAMPLE] * 10_001)).status_code == 413


@pytest.mark.parametrize("path", ["/", "/v1/predictions", "/invocations"])
def test_a_body_of_more_lines_or_values_than_max_rows_readings_hold_is_a_413(path: str) -> None:
    client = create_app({"TESTING": True, "MAX_ROWS": 10}).test_client()
    lines = post_csv(client, "\r\n\n".join(["1"] * 11), path)
    assert lines.status_code == 413
    assert lines.get_json()["message"].startswith("11 readings sent; at most 10 are accepted per request.")
    for document in TOO_MANY_VALUES.values():
        answer = client.post(path, json=document)
        assert answer.status_code == 413
        assert answer.get_json()["message"].startswith("The JSON body holds more values than 10 readings: ")
    if path == "/invocations":  # Batch Transform is told what to change, as for too many lines
        hint = "For Batch Transform, raise MAX_ROWS: even MaxPayloadInMB=1 sends more."
        assert lines.get_json()["message"].endswith(hint) and answer.get_json()["message"].endswith(hint)


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("application/x-www-form-urlencoded", 415), ("text/csv; charset=latin-1", 415), ("application/xml", 415)],
)
def test_other_content_types_are_a_415(client: FlaskClient, content_type: str, status: int) -> None:
    response = client.post("/", data=SAMPLE, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["error"] == "unsupported_media_type"


def test_undecodable_bytes_are_a_400(client: FlaskClient) -> None:
    response = post_csv(client, SAMPLE.encode().replace(b"NE", b"N\xe9"))
    assert response.status_code == 400
    assert "not valid UTF-8" in response.get_json()["message"]


SCORING_ROUTES = ["/", "/v1/predictions"]


@pytest.mark.parametrize("path", SCORING_ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Origin": ORIGIN}])
def test_hooks_and_handlers_registered_after_the_factory_apply_to_scoring(path: str, headers: dict[str, str]) -> None:
    """Every request goes through Flask's dispatch, so what a user adds to the app later applies to it."""
    app = create_app()

    @app.before_request
    def refuse_on_sunday() -> None:
        if request.headers.get("X-Day") == "sunday":
            abort(403)

    @app.after_request
    def stamp(response: Response) -> Response:
        response.headers["X-Stamped"] = "yes"
        return response

    @app.errorhandler(403)
    def closed(error: Exception) -> tuple[dict[str, str], int]:
        return {"error": "closed"}, 403

    started: list[str] = []
    client = app.test_client()
    with request_started.connected_to(lambda sender, **extra: started.append(request.path), app):
        refused = post_csv(client, SAMPLE, path, headers={**headers, "X-Day": "sunday"})
        scored = post_csv(client, SAMPLE, path, headers=headers)
    assert refused.status_code == 403 and refused.get_json() == {"error": "closed"}
    assert scored.status_code == 200 and scored.headers["X-Stamped"] == "yes"
    assert started == [path, path]


@pytest.mark.parametrize("path", [*SCORING_ROUTES, "/v1/model"])
@pytest.mark.parametrize("headers", [{}, {"Origin": ORIGIN}])
def test_api_keys_are_checked_before_hooks_added_later(path: str, headers: dict[str, str]) -> None:
    """With keys configured, a refused request never reaches a hook the user adds after create_app()."""
    app = create_app({"API_KEYS": (hash_key("k"),)})
    seen: list[str | None] = []
    app.before_request(lambda: seen.append(request.headers.get("X-API-Key")))
    client = app.test_client()
    method = client.get if path == "/v1/model" else client.post
    assert method(path, data=SAMPLE, content_type="text/csv", headers=headers).status_code == 401
    assert (
        method(path, data=SAMPLE, content_type="text/csv", headers={**headers, "X-API-Key": "wrong"}).status_code == 401
    )
    answer = method(path, data=SAMPLE, content_type="text/csv", headers={**headers, "X-API-Key": "k"})
    assert answer.status_code == 200
    assert seen == ["k"]


@pytest.mark.parametrize(
    ("body", "content_type", "environ"),
    [
        (SAMPLE, "text/csv", {}),
        (f"{SAMPLE}\n{HEALTHY}\n", "text/plain; charset=utf-8", {}),
        (json.dumps({"instances": [SAMPLE.split(",")]}), "application/json", {}),
        (SAMPLE.replace("64", "-1"), "text/csv", {}),
        (SAMPLE + ",extra", "text/csv", {}),
        ("", "text/csv", {}),
        (SAMPLE, "application/xml", {}),
        (SAMPLE, "text/csv; charset=latin-1", {}),
        (SAMPLE, "text/csv", {"CONTENT_LENGTH": "100"}),
        ("\n".join([SAMPLE] * 3), "text/csv", {}),
    ],
)
def test_classic_answer_is_the_same_with_or_without_an_origin(
    body: str, content_type: str, environ: dict[str, str]
) -> None:
    """An Origin adds CORS headers and changes nothing else, for good and bad requests alike."""
    client = create_app({"MAX_ROWS": 2}).test_client()
    answers = [
        client.post("/", data=body, content_type=content_type, headers=headers, environ_overrides=environ)
        for headers in ({}, {"Origin": ORIGIN})
    ]
    cors = ("Access-Control-", "Vary", "X-Request-Id", "X-Inference-Id")  # the ids differ per request
    plain, with_origin = ((a.status, a.data, [h for h in a.headers if not h[0].startswith(cors)]) for a in answers)
    assert plain == with_origin
    assert answers[1].headers["Access-Control-Allow-Origin"] == "*"


def test_json_numbers_sent_as_strings_are_rejected(client: FlaskClient) -> None:
    response = client.post("/", data=json.dumps({"instances": [SAMPLE.split(",")]}), content_type="application/json")
    assert response.status_code == 400
    assert [d["field"] for d in response.get_json()["details"]] == list(FIELD_NAMES[2:10])


def test_cors_headers_answer_an_origin_only(client: FlaskClient) -> None:
    assert "Access-Control-Allow-Origin" not in post_csv(client, SAMPLE).headers
    assert post_csv(client, SAMPLE, headers={"Origin": ORIGIN}).headers["Access-Control-Allow-Origin"] == "*"


def test_a_preflight_allows_the_protocols_headers(client: FlaskClient) -> None:
    asked = "x-amzn-sagemaker-custom-attributes, inference-header-content-length, content-type"
    response = client.options(
        "/invocations",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": asked},
    )
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= {h.strip() for h in asked.split(",")}
