"""The HTTP contract: every route, input format and error status, with CORS."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence

import pytest
from flask import Response, abort, request, request_started
from flask.testing import FlaskClient

from app import create_app
from app.core.prediction import Predictions
from app.core.schemas import turbine_schema
from app.core.table import Reading
from app.web.security import hash_key
from tests.conftest import HEALTHY, SAMPLE
from tests.readings import NOT_LINE_ENDS, TOO_MANY_VALUES, mlflow_bodies

INVOCATIONS_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"

TURBINE = turbine_schema()
FIELD_NAMES = TURBINE.names

ORIGIN = "https://dashboard.example"


def post_csv(client: FlaskClient, body: str | bytes, path: str = "/", **kwargs: object) -> object:
    return client.post(path, data=body, content_type="text/csv", **kwargs)


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


def test_page_is_served_with_a_csp_and_a_base_for_stage_prefixes(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<base href="/">' in response.get_data(as_text=True)
    staged = client.get("/", environ_overrides={"SCRIPT_NAME": "/dev"})
    assert '<base href="/dev/">' in staged.get_data(as_text=True)


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


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/nowhere", 404, "not_found"),
        ("put", "/", 405, "method_not_allowed"),
        ("get", "/v1/predictions", 405, "method_not_allowed"),
        ("delete", "/ping", 405, "method_not_allowed"),
    ],
)
def test_http_errors_share_the_json_shape(client: FlaskClient, method: str, path: str, status: int, code: str) -> None:
    response = getattr(client, method)(path, headers={"Origin": ORIGIN})
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["message"] and body["details"] == []
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    if status == 405:
        assert "POST" in response.headers["Allow"] or "GET" in response.headers["Allow"]


def test_body_limit_is_a_413() -> None:
    client = create_app({"MAX_CONTENT_LENGTH": 1000}).test_client()
    response = post_csv(client, "\n".join([SAMPLE] * 50))
    assert response.status_code == 413
    assert response.get_json()["message"] == "The request body is larger than the limit of 1000 bytes."


def test_body_shorter_than_its_content_length_is_a_400(client: FlaskClient) -> None:
    response = post_csv(client, SAMPLE, environ_overrides={"CONTENT_LENGTH": "100"})
    assert response.status_code == 400
    assert response.get_json()["message"] == "The body ended before the length its Content-Length announced."


@pytest.mark.parametrize(("limit", "status"), [(1000, 200), (len(SAMPLE), 200), (len(SAMPLE) - 1, 413), (10, 413)])
def test_chunked_body_is_read_within_the_limit(limit: int, status: int) -> None:
    """A body without Content-Length, as a server that decodes chunked transfer passes it on: never cut short."""
    client = create_app({"MAX_CONTENT_LENGTH": limit}).test_client()
    response = client.post(
        "/",
        input_stream=io.BytesIO(SAMPLE.encode()),
        content_type="text/csv",
        environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["predictions"][0]["predicted_label"] == 1


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


class BrokenBackend:
    name = "broken"
    schema = TURBINE

    def predict(self, rows: Sequence[Reading], explain: bool = False, inference_id: str | None = None) -> Predictions:
        raise RuntimeError("secret internal detail")

    def describe(self) -> dict[str, object]:
        return {"backend": self.name}


@pytest.mark.parametrize("headers", [{"Origin": ORIGIN}, {}])
def test_unexpected_errors_are_a_generic_500_without_traceback(
    capsys: pytest.CaptureFixture[str], headers: dict[str, str]
) -> None:
    client = create_app(model=BrokenBackend()).test_client()
    response = post_csv(client, SAMPLE, headers=headers)
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal_error", "message": "Internal server error.", "details": []}
    assert b"secret" not in response.data and b"Traceback" not in response.data
    assert response.headers.get("Access-Control-Allow-Origin") == ("*" if headers else None)
    assert "secret internal detail" in capsys.readouterr().err  # the traceback, in the log's JSON record


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


def test_static_assets_are_served(client: FlaskClient) -> None:
    with client.get("/static/index.html") as response:
        assert response.status_code == 200
        assert b"<html" in response.data
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/", "/ping", "/nowhere", "/static/app.js"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_json_numbers_sent_as_strings_are_rejected(client: FlaskClient) -> None:
    response = client.post("/", data=json.dumps({"instances": [SAMPLE.split(",")]}), content_type="application/json")
    assert response.status_code == 400
    assert [d["field"] for d in response.get_json()["details"]] == list(FIELD_NAMES[2:10])


def test_cors_headers_answer_an_origin_only(client: FlaskClient) -> None:
    assert "Access-Control-Allow-Origin" not in post_csv(client, SAMPLE).headers
    assert post_csv(client, SAMPLE, headers={"Origin": ORIGIN}).headers["Access-Control-Allow-Origin"] == "*"


# SageMaker's /invocations: the same readings, answered in the type Accept asks for.


def test_invocations_answers_as_post_root_does(client: FlaskClient) -> None:
    body = f"{SAMPLE}\n{HEALTHY}"
    for accept in (
        None,
        "application/json",
        "*/*",
        "application/json; q=0.9, text/html",
        "application/json; charset=utf-8",
    ):
        headers = {"Accept": accept} if accept else {}
        response = post_csv(client, body, "/invocations", headers=headers)
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.data == post_csv(client, body).data


def test_invocations_answers_csv_and_json_lines_line_for_line(client: FlaskClient) -> None:
    lines = [SAMPLE, HEALTHY] * 5000
    body = "\n".join(lines)
    expected = post_csv(client, body).get_json()["predictions"]
    csv_answer = post_csv(client, body, "/invocations", headers={"Accept": "text/csv"})
    assert csv_answer.mimetype == "text/csv"
    rows = csv_answer.get_data(as_text=True).split("\n")  # no trailing newline: AssembleWith=Line adds one
    assert [(float(score), int(label)) for score, label in (row.split(",") for row in rows)] == [
        (p["score"], p["predicted_label"]) for p in expected
    ]
    lines_answer = post_csv(client, body, "/invocations", headers={"Accept": "application/jsonlines"})
    assert lines_answer.mimetype == "application/jsonlines"
    assert [json.loads(line) for line in lines_answer.get_data(as_text=True).split("\n")] == expected


@pytest.mark.parametrize("character", NOT_LINE_ENDS)
def test_batch_transform_gets_one_answer_line_per_input_line(character: str) -> None:
    """AssembleWith=Line pairs answers with input lines by position: only a newline ends a line, so readings joined
    by another line break are one bad line, and such a character after a line's last value is padding."""
    client = create_app({"TESTING": True, "SAGEMAKER_BATCH": True}).test_client()
    csv_answer = {"Accept": "text/csv"}
    joined = post_csv(client, f"{SAMPLE}{character}{HEALTHY}\n{HEALTHY}", "/invocations", headers=csv_answer)
    assert joined.status_code == 400
    assert [(d["row"], d["field"]) for d in joined.get_json()["details"]] == [(1, None)]
    padded = post_csv(client, f"{SAMPLE}{character}\n\n{HEALTHY}\r\n", "/invocations", headers=csv_answer)
    assert [line.split(",")[1] for line in padded.get_data(as_text=True).split("\n")] == ["1", "0"]


def test_invocations_refuses_an_accept_it_cannot_honour(client: FlaskClient) -> None:
    response = post_csv(client, SAMPLE, "/invocations", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert response.get_json()["details"] == [{"row": None, "field": "Accept", "message": "'text/html' matches none"}]


def test_invocations_explains_on_sagemakers_custom_attribute(client: FlaskClient) -> None:
    explained = post_csv(client, SAMPLE, "/v1/predictions?explain=true").get_json()["predictions"][0]
    headers = {INVOCATIONS_ATTRIBUTES: "trace-id=abc, explain=true"}
    item = post_csv(client, SAMPLE, "/invocations", headers=headers).get_json()["predictions"][0]
    assert item == {k: explained[k] for k in ("score", "predicted_label", "contributions")}
    csv_line = post_csv(client, SAMPLE, "/invocations", headers={**headers, "Accept": "text/csv"}).get_data(
        as_text=True
    )
    assert [float(v) for v in csv_line.split(",")] == [
        explained["score"],
        explained["predicted_label"],
        *(explained["contributions"][name] for name in FIELD_NAMES),
    ]
    plain = post_csv(client, SAMPLE, "/invocations", headers={INVOCATIONS_ATTRIBUTES: "explain=false"}).get_json()
    assert list(plain["predictions"][0]) == ["score", "predicted_label"]


@pytest.mark.parametrize("attributes", ["explain=yes", "explain=true,explain=", "trace=1, explain = on"])
def test_invocations_explain_attribute_must_be_true_or_false(client: FlaskClient, attributes: str) -> None:
    response = post_csv(client, SAMPLE, "/invocations", headers={INVOCATIONS_ATTRIBUTES: attributes})
    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == "explain"


def test_invocations_413_names_the_max_payload_to_set() -> None:
    limited = create_app({"TESTING": True, "MAX_CONTENT_LENGTH": 3 * 1024 * 1024, "MAX_ROWS": 1_000_000})
    body = "\n".join([SAMPLE] * 100_000)  # about 4 MB
    response = post_csv(limited.test_client(), body, "/invocations")
    assert response.status_code == 413
    assert response.get_json()["message"].endswith("For Batch Transform, set MaxPayloadInMB to at most 3.")
    assert "MaxPayloadInMB" not in post_csv(limited.test_client(), body).get_json()["message"]


def test_invocations_413_for_rows_names_what_would_fit() -> None:
    rows = create_app({"TESTING": True, "MAX_ROWS": 40_000})
    body = "\n".join([SAMPLE] * 100_000)  # 4.0 MB: 40,000 of these lines take 1.6 MB
    message = post_csv(rows.test_client(), body, "/invocations").get_json()["message"]
    assert message == (
        "100000 readings sent; at most 40000 are accepted per request. "
        "For Batch Transform, set MaxPayloadInMB to at most 1."
    )
    few = create_app({"TESTING": True, "MAX_ROWS": 3})
    message = post_csv(few.test_client(), body, "/invocations").get_json()["message"]
    assert message.endswith("For Batch Transform, raise MAX_ROWS: even MaxPayloadInMB=1 sends more.")


def test_invocations_takes_mlflows_request_formats_and_a_header_row(client: FlaskClient) -> None:
    """An MLflow client switches by changing its URL: its bodies, written by MLflow's serializer, get the answer
    POST / gives the same readings as CSV."""
    expected = post_csv(client, f"{SAMPLE}\n{HEALTHY}").get_json()
    for shape, body in mlflow_bodies().items():
        response = client.post("/invocations", data=body, content_type="application/json")
        assert response.get_json() == expected, shape
    with_header = post_csv(client, f"{','.join(FIELD_NAMES)}\n{SAMPLE}\n{HEALTHY}", "/invocations")
    assert with_header.get_json() == expected


def test_invocations_accept_parameters_do_not_change_the_type(client: FlaskClient) -> None:
    for accept in ("text/csv; charset=utf-8", "text/csv;header=present"):
        response = post_csv(client, SAMPLE, "/invocations", headers={"Accept": accept})
        assert (response.status_code, response.mimetype) == (200, "text/csv"), accept


def test_a_preflight_allows_the_protocols_headers(client: FlaskClient) -> None:
    asked = "x-amzn-sagemaker-custom-attributes, inference-header-content-length, content-type"
    response = client.options(
        "/invocations",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": asked},
    )
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= {h.strip() for h in asked.split(",")}
