"""The SageMaker backend: answers through moto's sagemaker-runtime, failures through botocore's Stubber."""

from __future__ import annotations

import functools
import io
import json
import re
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from app import create_app
from app.config import ConfigError
from app.examples import ai4i
from app.models.sagemaker import CALLER_MESSAGES, SageMakerModel, make_client, parse_answer
from tests.conftest import HEALTHY, SAMPLE

REGION = "eu-west-1"
ENDPOINT = "turbine-endpoint"
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/turbine-status-dev/turbine-status-dev"
RESULTS_URL = "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results"


def queue_answer(body: str, content_type: str) -> None:
    """Make moto's next new InvokeEndpoint call answer with this body."""
    results = {"region": REGION, "results": [{"Body": body, "ContentType": content_type}]}
    assert requests.post(RESULTS_URL, json=results, timeout=5).status_code == 201


@pytest.fixture
def moto_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("MODEL_BACKEND", "sagemaker")
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
    with mock_aws():
        yield create_app().test_client()


def npy(values: list[float], shape: tuple[int, ...]) -> bytes:
    header = repr({"descr": "<f8", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + struct.pack(f"<{len(values)}d", *values)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            json.dumps({"predictions": [{"score": 0.97, "predicted_label": 1}, {"score": 0.1, "predicted_label": 0}]}),
            "application/json",
            [(0.97, 1), (0.1, 0)],
        ),
        ("0.97\n0.1\n", "text/csv", [(0.97, 1), (0.1, 0)]),
        ("0.97\n0.1", "text/csv; charset=utf-8", [(0.97, 1), (0.1, 0)]),
        (json.dumps([0.97, 0.1]), "application/json", [(0.97, 1), (0.1, 0)]),
        (json.dumps([[0.03, 0.97], [0.9, 0.1]]), "application/json", [(0.97, 1), (0.1, 0)]),
        (json.dumps({"predictions": [{"score": 0.6}, {"score": 0.4}]}), "application/json", [(0.6, 1), (0.4, 0)]),
    ],
)
def test_answer_formats_through_moto(
    moto_client: FlaskClient, body: str, content_type: str, expected: list[tuple[float, int]]
) -> None:
    queue_answer(body, content_type)
    response = moto_client.post("/", data=f"{SAMPLE}\n{HEALTHY}", content_type="text/csv")
    assert response.status_code == 200
    predictions = response.get_json()["predictions"]
    assert [(p["score"], p["predicted_label"]) for p in predictions] == expected


def test_ping_and_model_name_the_endpoint(moto_client: FlaskClient) -> None:
    assert moto_client.get("/ping").get_json() == {"status": "ok", "backend": "sagemaker", "model": ENDPOINT}
    body = moto_client.get("/v1/model").get_json()
    assert body["backend"] == "sagemaker" and body["endpoint"] == ENDPOINT and body["region"] == REGION
    assert len(body["schema"]["fields"]) == 11


def test_versioned_route_through_moto(moto_client: FlaskClient) -> None:
    queue_answer("0.8\n", "text/csv")
    body = moto_client.post("/v1/predictions", data=SAMPLE, content_type="text/csv").get_json()
    assert body["predictions"] == [{"score": 0.8, "predicted_label": 1, "label": "maintenance_required"}]
    assert body["model"]["backend"] == "sagemaker"


def test_threshold_applies_where_only_scores_come_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_THRESHOLD", "0.9")
    monkeypatch.setenv("MODEL_BACKEND", "sagemaker")
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
    with mock_aws():
        queue_answer("0.8\n", "text/csv")
        body = create_app().test_client().post("/", data=SAMPLE, content_type="text/csv").get_json()
    assert body["predictions"] == [{"score": 0.8, "predicted_label": 0}]


def test_npy_answers() -> None:
    assert parse_answer(npy([0.97, 0.1], (2,)), "application/x-npy") == [(0.97, None), (0.1, None)]
    assert parse_answer(npy([0.03, 0.97, 0.9, 0.1], (2, 2)), "application/x-npy") == [(0.97, None), (0.1, None)]


@pytest.fixture
def stubbed() -> Iterator[tuple[FlaskClient, Stubber]]:
    client = make_client(REGION)
    with Stubber(client) as stubber:
        yield create_app(model=SageMakerModel(ENDPOINT, client)).test_client(), stubber
        stubber.assert_no_pending_responses()


def answer(payload: bytes, content_type: str) -> dict[str, Any]:
    return {"Body": StreamingBody(io.BytesIO(payload), len(payload)), "ContentType": content_type}


def test_readings_are_sent_as_headerless_csv_in_field_order(stubbed: tuple[FlaskClient, Stubber]) -> None:
    client, stubber = stubbed
    expected = {
        "EndpointName": ENDPOINT,
        "ContentType": "text/csv",
        "Accept": "application/json",
        "Body": "TID008,VAWT,64.0,80.0,46.0,21.0,55.0,55.0,7.0,34.0,NE",
        "InferenceId": ANY,  # the answer's X-Inference-Id: test_the_inference_id_goes_to_the_endpoint
    }
    stubber.add_response("invoke_endpoint", answer(npy([0.97], (1,)), "application/x-npy"), expected)
    response = client.post("/", json={"instances": [["TID008", "VAWT", 64, 80, 46, 21, 55, 55, 7, 34, "NE"]]})
    assert response.status_code == 200
    assert response.get_json()["predictions"] == [{"score": 0.97, "predicted_label": 1}]


def test_bad_input_never_reaches_the_endpoint(stubbed: tuple[FlaskClient, Stubber]) -> None:
    client, _ = stubbed  # no response queued: any call would fail the Stubber
    response = client.post("/", data=SAMPLE.replace("VAWT", "XAWT"), content_type="text/csv")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("error", "status", "code", "fragment"),
    [
        (
            {
                "service_error_code": "ModelError",
                "service_message": "Received server error (500) from model",
                "http_status_code": 424,
            },
            502,
            "model_error",
            "Received server error (500) from model",
        ),
        (
            {
                "service_error_code": "ValidationError",
                "http_status_code": 400,
                "service_message": f"Endpoint {ENDPOINT} of account 123456789012 not found.",
            },
            502,
            "endpoint_not_found",
            "account 123456789012 not found",
        ),
        (
            {
                "service_error_code": "ValidationError",
                "http_status_code": 400,
                "service_message": "Endpoint is not in service",
            },
            502,
            "endpoint_invalid",
            "Endpoint is not in service",
        ),
        (
            {"service_error_code": "ThrottlingException", "service_message": "Rate exceeded", "http_status_code": 400},
            503,
            "endpoint_throttled",
            "Rate exceeded",
        ),
        (
            {"service_error_code": "", "service_message": "", "http_status_code": 400},
            503,
            "endpoint_throttled",
            "(400)",
        ),
        (
            {
                "service_error_code": "AccessDeniedException",
                "service_message": f"User: {ROLE_ARN} is not authorized to perform: sagemaker:InvokeEndpoint",
                "http_status_code": 403,
            },
            503,
            "access_denied",
            ROLE_ARN,
        ),
        (
            {"service_error_code": "InternalFailure", "service_message": "boom", "http_status_code": 500},
            502,
            "backend_error",
            "InternalFailure (500): boom",
        ),
    ],
)
def test_endpoint_failures_become_clear_json_errors(
    stubbed: tuple[FlaskClient, Stubber],
    capsys: pytest.CaptureFixture[str],
    error: dict[str, Any],
    status: int,
    code: str,
    fragment: str,
) -> None:
    """The caller gets the code, a fixed sentence and the request id; what AWS said is logged under that id."""
    client, stubber = stubbed
    stubber.add_client_error("invoke_endpoint", response_meta={"RequestId": "req-123"}, **error)
    headers = {"Origin": "https://x.example", "X-Request-Id": "caller-1"}
    response = client.post("/", data=SAMPLE, content_type="text/csv", headers=headers)
    assert response.status_code == status
    body = response.get_json()
    assert body == {
        "error": code,
        "message": f"{CALLER_MESSAGES[code]} Request id: caller-1.",
        "details": [],
    }
    assert_leaks_nothing(response.get_data(as_text=True))
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    if status == 503 and code == "endpoint_throttled":
        assert response.headers["Retry-After"] == "2"
    [logged] = [line for line in map(json.loads, capsys.readouterr().err.splitlines()) if "logger" in line]
    assert (logged["logger"], logged["level"], logged["request_id"]) == (
        "turbine_status.sagemaker",
        "WARNING",
        "caller-1",
    )
    assert fragment in logged["message"] and "req-123" in logged["message"]


def assert_leaks_nothing(answer: str) -> None:
    """No ARN, AWS account id, botocore or Python class name reaches a caller."""
    assert not re.search(r"arn:aws|\b\d{12}\b|botocore|Exception|Error\b|Traceback", answer), answer


def test_a_container_message_is_logged_never_answered(
    stubbed: tuple[FlaskClient, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received client error (400) from primary",
        http_status_code=424,
        response_meta={"RequestId": "req-9"},
        modeled_fields={"OriginalMessage": "KeyError: 'secret_column' in /opt/ml/code/inference.py"},
    )
    response = client.post("/", data=SAMPLE, content_type="text/csv")
    assert response.status_code == 502 and response.get_json()["error"] == "model_error"
    assert "secret_column" not in response.get_data(as_text=True)
    assert_leaks_nothing(response.get_data(as_text=True))
    assert "secret_column" in capsys.readouterr().err


def npy_with(descr: str, shape: str, data: bytes, version: int = 1) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    size = 10 if version == 1 else 12
    header += b" " * (-(size + len(header) + 1) % 64) + b"\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header + data


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("payload", "content_type", "fragment"),
    [
        (b"0.5\n", "text/csv", "1 predictions for 2 readings"),
        (b"not json", "application/json", "Expecting value"),
        (b"0.5\n1.5\n", "text/csv", "1.5 is not a probability"),
        (b"0.5\nnan\n", "text/csv", "nan"),
        (b"0.5\n0.5,0.5\n", "text/csv", "could not convert"),
        (b"\xff\xfe", "text/csv", "utf-8"),
        (b"<xml/>", "text/xml", "unsupported content type"),
        (b"[0.5, NaN]", "application/json", "nan"),
        (b'{"predictions": [0.5, -0.1]}', "application/json", "-0.1"),
        (b'{"predictions": "0.5"}', "application/json", "without a list"),
        (b'[{"score": "0.5"}, {"score": 0.5}]', "application/json", "0.5 is not"),
        (b"[[0.5], [0.5]]", "application/json", "[0.5]"),
        (DEEP, "application/json", "nested too deeply"),
        (
            json.dumps({"predictions": [{"score": 0.5, "predicted_label": 7}] * 2}).encode(),
            "application/json",
            "predicted_label 7",
        ),
        (npy([0.5, 0.5], (2,))[:-3], "application/x-npy", "data bytes"),
        (npy([0.5, 0.5], (2,))[:20], "application/x-npy", "header"),
        (b"\x93NUMPY\x01", "application/x-npy", "not an .npy"),
        (npy_with("<U4", "(2,)", b"0" * 32), "application/x-npy", "header"),
        (npy_with("<f8", "(2, 3)", struct.pack("<6d", *[0.5] * 6)), "application/x-npy", "shape"),
        (npy_with("<f8", "(2,)", struct.pack("<2d", 0.5, 2.0)), "application/x-npy", "2.0 is not"),
        (npy_with("<f8", "__import__('os')", b""), "application/x-npy", "header"),
        (npy_with("<f4", "(2,)", struct.pack("<2f", 0.5, 0.25), version=2), "application/x-npy", "never"),
    ],
)
def test_unusable_answers_are_a_502(
    stubbed: tuple[FlaskClient, Stubber],
    capsys: pytest.CaptureFixture[str],
    payload: bytes,
    content_type: str,
    fragment: str,
) -> None:
    """Every malformed answer is a 502 bad_model_answer with a fixed message; why is logged."""
    client, stubber = stubbed
    stubber.add_response("invoke_endpoint", answer(payload, content_type))
    response = client.post("/", data=f"{SAMPLE}\n{HEALTHY}", content_type="text/csv")
    if fragment == "never":  # the control: a well-formed version 2 file is read
        assert response.status_code == 200
        return
    assert response.status_code == 502
    assert response.get_json()["error"] == "bad_model_answer"
    assert response.get_json()["message"].startswith(CALLER_MESSAGES["bad_model_answer"])
    assert fragment in capsys.readouterr().err


@functools.cache
def fuzzed_service() -> tuple[FlaskClient, SageMakerModel]:
    backend = SageMakerModel(ENDPOINT, make_client(REGION))
    return create_app({"ACCESS_LOG": False, "LOG_LEVEL": "ERROR"}, model=backend).test_client(), backend


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda b: npy([0.5, 0.5], (2,))[: len(b) % 140] + b),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=5)),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        ).map(lambda document: json.dumps({"predictions": document}).encode()),
    ),
    content_type=st.sampled_from(["application/json", "text/csv", "application/x-npy", "application/jsonlines"]),
)
def test_no_answer_from_an_endpoint_gives_a_500(payload: bytes, content_type: str) -> None:
    """Random bytes and random JSON under each content type: a score per reading, or a 502, never a 500."""
    client, backend = fuzzed_service()
    with Stubber(backend.client) as stubber:
        stubber.add_response("invoke_endpoint", answer(payload, content_type))
        response = client.post("/", data=f"{SAMPLE}\n{HEALTHY}", content_type="text/csv")
    assert response.status_code in (200, 502), response.get_data(as_text=True)
    if response.status_code == 502:
        assert response.get_json()["error"] == "bad_model_answer"


class RecordingClient:
    meta = type("Meta", (), {"region_name": REGION})()

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return answer(b'{"predictions": [{"score": 0.97}, {"score": 0.1}]}', "application/json")


def test_the_inference_id_goes_to_the_endpoint() -> None:
    """The endpoint's own Data Capture records then join the answer's, by InferenceId."""
    recording = RecordingClient()
    client = create_app(model=SageMakerModel(ENDPOINT, recording)).test_client()
    answers = [client.post("/", data=f"{SAMPLE}\n{HEALTHY}", content_type="text/csv") for _ in range(2)]
    ids = [a.headers["X-Inference-Id"] for a in answers]
    assert [call["InferenceId"] for call in recording.calls] == ids
    assert len(set(ids)) == 2 and all(re.fullmatch("[0-9a-f]{48}", i) for i in ids)


class TimingOutClient:
    meta = type("Meta", (), {"region_name": REGION})()

    def invoke_endpoint(self, **kwargs: Any) -> Any:
        raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com")


class ResetClient(TimingOutClient):
    def invoke_endpoint(self, **kwargs: Any) -> Any:
        raise ConnectionClosedError(endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com")


@pytest.mark.parametrize(
    ("fake", "status", "code"), [(TimingOutClient, 504, "endpoint_timeout"), (ResetClient, 502, "endpoint_unreachable")]
)
def test_transport_failures(fake: type[TimingOutClient], status: int, code: str) -> None:
    client = create_app(model=SageMakerModel(ENDPOINT, fake())).test_client()
    response = client.post("/", data=SAMPLE, content_type="text/csv")
    assert response.status_code == status
    assert response.get_json()["error"] == code


def test_missing_credentials_are_a_503(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    client = create_app(model=SageMakerModel(ENDPOINT, make_client(REGION))).test_client()
    response = client.post("/", data=SAMPLE, content_type="text/csv")
    assert response.status_code == 503
    assert response.get_json()["error"] == "no_credentials"
    assert "Unable to locate credentials" in capsys.readouterr().err


def test_client_has_bounded_timeouts_and_retries() -> None:
    config = make_client(REGION).meta.config
    assert config.retries["total_max_attempts"] == 2
    assert config.retries["total_max_attempts"] * (config.connect_timeout + config.read_timeout) < 29


def test_explain_is_refused_with_a_400(stubbed: tuple[FlaskClient, Stubber]) -> None:
    response = stubbed[0].post("/v1/predictions?explain=true", data=SAMPLE, content_type="text/csv")
    assert response.status_code == 400
    assert response.get_json()["error"] == "explain_unsupported"


def test_endpoint_name_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_BACKEND", "sagemaker")
    with pytest.raises(ValueError, match="SAGEMAKER_ENDPOINT_NAME"):
        create_app()


def test_embedded_start_up_does_not_import_boto3() -> None:
    import subprocess

    code = "import sys; from app import create_app; create_app(); print('boto3' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent
    )
    assert result.stdout.strip() == "False"


def test_check_endpoint_command(moto_client: FlaskClient) -> None:
    queue_answer(json.dumps({"predictions": [{"score": 0.99, "predicted_label": 1}]}), "application/json")
    result = moto_client.application.test_cli_runner().invoke(args=["check-endpoint"])
    assert result.exit_code == 0, result.output
    assert f"backend: sagemaker {ENDPOINT}" in result.output
    assert 'answer: {"score": 0.99, "predicted_label": 1}' in result.output
    assert "latency:" in result.output


def test_check_endpoint_command_reports_failures(stubbed: tuple[FlaskClient, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "invoke_endpoint", service_error_code="ModelError", service_message="bad model", http_status_code=424
    )
    result = client.application.test_cli_runner().invoke(args=["check-endpoint"])
    assert result.exit_code == 1
    assert "model_error (502)" in result.output


@pytest.mark.parametrize("source", ["schema file", "model artifact"])
def test_schema_path_sets_the_fields_an_endpoint_is_sent(
    source: str, ai4i_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SCHEMA_PATH takes a schema file or a model artifact's schema section; readings are checked first."""
    monkeypatch.setenv("MODEL_BACKEND", "sagemaker")
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("SCHEMA_PATH", str(ai4i.SCHEMA_PATH if source == "schema file" else ai4i_model))
    with mock_aws():
        client = create_app().test_client()
        queue_answer("0.8", "text/csv")
        response = client.post("/", data="L, 298.4, 308.2, 1582, 70.7, 216", content_type="text/csv")
        assert response.get_json() == {"predictions": [{"score": 0.8, "predicted_label": 1}]}
        refused = client.post("/", data=SAMPLE, content_type="text/csv").get_json()
        assert refused["details"][0]["message"].startswith("expected 6 values (type,")
        fields = client.get("/v1/model").get_json()["schema"]["fields"]
        assert [f["name"] for f in fields][:2] == ["type", "air_temperature_k"]


def test_a_bad_schema_path_stops_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schema.json").write_text(json.dumps({"fields": [{"name": "x", "type": "number", "minimum": 2}]}))
    monkeypatch.setenv("MODEL_BACKEND", "sagemaker")
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("SCHEMA_PATH", str(tmp_path / "schema.json"))
    with pytest.raises(ConfigError, match=r"SCHEMA_PATH: .*fields\[0\]: minimum and maximum must be finite numbers"):
        create_app()


def test_without_schema_path_the_turbine_fields_are_said_at_start_up_and_in_the_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODEL_BACKEND", "sagemaker")
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
    with mock_aws():
        client = create_app().test_client()
        logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert logged[0]["level"] == "WARNING" and "SCHEMA_PATH is not set" in logged[0]["message"]
        assert "bundled turbine fields" in client.get("/v1/model").get_json()["schema_source"]


@pytest.mark.parametrize(
    ("environ", "config", "region"),
    [
        ({"AWS_REGION": "us-east-2"}, {}, "us-east-2"),
        ({"AWS_REGION": "us-east-2", "SAGEMAKER_REGION": "ap-south-1"}, {}, "ap-south-1"),
        ({"AWS_REGION": "us-east-2"}, {"SAGEMAKER_REGION": "eu-north-1"}, "eu-north-1"),
        ({}, {}, "eu-west-1"),  # neither: boto3's own chain, here AWS_DEFAULT_REGION
    ],
)
def test_the_region_is_taken_from_settings(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], config: dict[str, str], region: str
) -> None:
    for name, value in {"MODEL_BACKEND": "sagemaker", "SAGEMAKER_ENDPOINT_NAME": ENDPOINT, **environ}.items():
        monkeypatch.setenv(name, value)
    assert create_app(config).test_client().get("/v1/model").get_json()["region"] == region


def test_no_region_anywhere_stops_start_up_naming_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="SAGEMAKER_REGION: no AWS region is configured"):
        create_app({"MODEL_BACKEND": "sagemaker", "SAGEMAKER_ENDPOINT_NAME": ENDPOINT})
