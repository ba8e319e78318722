"""SageMaker's container route, /invocations: answers as Accept asks (JSON, CSV, JSON Lines) line for line,
explanations on the custom attribute, MLflow's bodies, and what Batch Transform is told."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.conftest import HEALTHY, INVOCATIONS_ATTRIBUTES, SAMPLE, post_csv
from tests.readings import FIELD_NAMES, NOT_LINE_ENDS, mlflow_bodies


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
