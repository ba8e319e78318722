"""The Open Inference Protocol (V2) routes: spoken to by Triton's own HTTP client, tritonclient[http], against
the app on loopback (binary tensors, as the client sends by default, and JSON), and its errors over the test
client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from flask.testing import FlaskClient
from tritonclient.utils import InferenceServerException

from app.core.schemas import turbine_schema
from app.training import DEFAULT_SEED
from app.training.data import turbine_dataset
from tests.conftest import SAMPLE, serve_on_loopback

TURBINE = turbine_schema()
NAME, VERSION = "turbine-breakdown-logistic", "1.0.0"  # the bundled model's, as /v1/model gives them
INFER = f"/v2/models/{NAME}/infer"


@pytest.fixture(scope="module")
def server() -> Iterator[triton.InferenceServerClient]:
    for port in serve_on_loopback(["flask", "--app", "app", "run", "--port"]):
        client = triton.InferenceServerClient(f"127.0.0.1:{port}")
        yield client
        client.close()


def tensors(lines: list[str], binary: bool) -> list[triton.InferInput]:
    """One InferInput per field, as MLServer's pandas codec lays a frame out: BYTES for categories, FP64."""
    columns = list(zip(*(line.split(",") for line in lines), strict=True))
    inputs = []
    for field, values in zip(TURBINE.fields, columns, strict=True):
        array = np.array(values, dtype=object) if field.categories else np.array(values, dtype=np.float64)
        tensor = triton.InferInput(field.name, [len(lines)], "BYTES" if field.categories else "FP64")
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return inputs


def classic(client: FlaskClient, lines: list[str]) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = client.post("/", data="\n".join(lines), content_type="text/csv").get_json()[
        "predictions"
    ]
    return answer


def test_health_and_metadata_as_tritons_client_reads_them(server: triton.InferenceServerClient) -> None:
    assert server.is_server_live() and server.is_server_ready()
    assert server.is_model_ready(NAME) and server.is_model_ready(NAME, VERSION)
    assert not server.is_model_ready("another-model")
    assert server.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    metadata = server.get_model_metadata(NAME)
    assert metadata["versions"] == [VERSION]
    assert [(i["name"], i["datatype"]) for i in metadata["inputs"]] == [
        (f.name, "BYTES" if f.categories else "FP64") for f in TURBINE.fields
    ]
    assert [o["name"] for o in metadata["outputs"]] == ["score", "predicted_label"]


@pytest.mark.parametrize("binary", [True, False])
def test_the_sample_and_a_thousand_rows_score_as_post_root(
    server: triton.InferenceServerClient, client: FlaskClient, binary: bool
) -> None:
    lines = [SAMPLE, *(",".join(map(str, row)) for row in turbine_dataset(999, DEFAULT_SEED + 7).rows)]
    outputs = [triton.InferRequestedOutput(name, binary_data=binary) for name in ("score", "predicted_label")]
    for batch in ([SAMPLE], lines):
        result = server.infer(NAME, tensors(batch, binary), outputs=outputs, request_id="batch-1")
        expected = classic(client, batch)
        assert result.as_numpy("score").tolist() == [p["score"] for p in expected]
        assert result.as_numpy("predicted_label").tolist() == [p["predicted_label"] for p in expected]
        answer = result.get_response()
        assert answer["id"] == "batch-1"
        for output in answer["outputs"]:  # sent as the client asked
            assert ("binary_data_size" in output.get("parameters", {})) is binary and ("data" in output) is not binary
    assert expected[0] == {"score": 0.9877870058627136, "predicted_label": 1}


def test_the_clients_default_binary_outputs(server: triton.InferenceServerClient, client: FlaskClient) -> None:
    result = server.infer(NAME, tensors([SAMPLE], binary=True), model_version=VERSION)  # no outputs named
    assert result.as_numpy("score").tolist() == [classic(client, [SAMPLE])[0]["score"]]
    assert all("binary_data_size" in output["parameters"] for output in result.get_response()["outputs"])


def test_a_bad_value_reaches_the_client_naming_row_and_field(server: triton.InferenceServerClient) -> None:
    with pytest.raises(InferenceServerException, match=re.escape("row 1, field wind_speed: 500.0 is out of range")):
        server.infer(NAME, tensors([SAMPLE.replace(",64,", ",500,")], binary=True))


def request(**changes: Any) -> dict[str, Any]:
    """An infer request for the sample, in JSON, with `changes` to its first numeric input (wind_speed)."""
    inputs = []
    for field, value in zip(TURBINE.fields, SAMPLE.split(","), strict=True):
        tensor = {"name": field.name, "shape": [1], "datatype": "BYTES" if field.categories else "FP64"}
        tensor["data"] = [value if field.categories else float(value)]
        inputs.append({**tensor, **(changes if field.name == "wind_speed" else {})})
    return {"inputs": inputs}


@pytest.mark.parametrize(
    ("document", "field", "fragment"),
    [
        (request(datatype="BYTES"), "wind_speed", "must have datatype FP64 or FP32 or INT64 or INT32"),
        (request(datatype="INT64", data=[64.5]), "wind_speed", "INT64: its data must be whole numbers"),
        (request(shape=[2]), "wind_speed", "holds 1 values, but its shape [2] says 2"),
        (request(shape=[1, 2]), "wind_speed", "must have shape [rows] or [rows, 1]"),
        (request(name="wind"), "wind", "Unknown input wind"),
        ({"inputs": request()["inputs"][1:]}, "turbine_id", "Missing input(s): turbine_id"),
        ({**request(), "outputs": [{"name": "label"}]}, "outputs", "Each output must be"),
        ({**request(), "model": "x"}, "model", "Unknown key(s) in the request: model"),
        (request(data="64"), "wind_speed", "data must be a list"),
        (request(parameters={"binary_data_size": 8}), "wind_speed", "has both data and binary_data_size"),
        ({**request(), "parameters": {"binary_data_output": "yes"}}, "parameters", "must be true or false"),
        ({**request(), "outputs": [{"name": "score", "parameters": {"classification": 2}}]}, "outputs", "binary_data"),
    ],
)
def test_protocol_errors_are_400s_naming_the_input(
    client: FlaskClient, document: dict[str, Any], field: str, fragment: str
) -> None:
    response = client.post(INFER, json=document)
    assert response.status_code == 400
    body = response.get_json()
    assert fragment in body["error"] and body["error"] == body["message"]
    assert body["details"][0]["field"] == field


def test_max_rows_readings_are_taken_with_every_value_nested(client: FlaskClient) -> None:
    """[rows, 1] data: the most commas and brackets a reading takes."""
    document = request()
    for tensor in document["inputs"]:
        tensor.update(shape=[10_000, 1], data=[tensor["data"]] * 10_000)
    response = client.post(INFER, json=document)
    assert response.status_code == 200 and len(response.get_json()["outputs"][0]["data"]) == 10_000


def test_more_readings_than_max_rows_are_refused_before_their_values_are_read(client: FlaskClient) -> None:
    many = client.post(INFER, json=request(shape=[1], data=[[64.0]] * 120_000))
    assert many.status_code == 413
    assert many.get_json()["message"].startswith("The JSON body holds more values than 10000 readings: ")
    tensor = {"name": "wind_speed", "shape": [10_001], "datatype": "FP64", "parameters": {"binary_data_size": 8}}
    header = json.dumps({"inputs": [tensor]}).encode()
    binary = client.post(INFER, data=header + bytes(8), headers={"Inference-Header-Content-Length": str(len(header))})
    assert binary.status_code == 413
    assert binary.get_json()["message"].startswith("10001 readings sent; at most 10000 are accepted per request.")


@pytest.mark.parametrize("datatype", ["FP64", "BYTES"])
def test_binary_data_of_more_values_than_the_shape_is_refused_by_count(client: FlaskClient, datatype: str) -> None:
    name = "wind_speed" if datatype == "FP64" else "turbine_id"
    data = bytes(8 * 100_000)  # as FP64: 100,000 zeros; as BYTES: 200,000 empty strings
    header = json.dumps(
        {"inputs": [{"name": name, "shape": [2], "datatype": datatype, "parameters": {"binary_data_size": len(data)}}]}
    ).encode()
    answer = client.post(INFER, data=header + data, headers={"Inference-Header-Content-Length": str(len(header))})
    assert answer.status_code == 400
    count = 100_000 if datatype == "FP64" else 200_000
    assert answer.get_json()["error"] == f"Input {name} holds {count} values, but its shape [2] says 2."


def test_an_id_of_many_commas_is_taken(client: FlaskClient) -> None:
    response = client.post(INFER, json={**request(), "id": "[{," * 100_000})
    assert response.status_code == 200 and response.get_json()["id"] == "[{," * 100_000


def test_int64_numbers_and_nested_data_are_taken(client: FlaskClient) -> None:
    response = client.post(INFER, json=request(datatype="INT64", shape=[1, 1], data=[[64]]))
    assert response.status_code == 200
    assert response.get_json()["outputs"][0]["data"] == [classic(client, [SAMPLE])[0]["score"]]


@pytest.mark.parametrize(
    "length",
    ["²", "-1", "99999", "0" * 5000 + "5", "9" * 5000, "05"],
    ids=["superscript", "negative", "past the body", "zero-padded", "5000 digits", "leading zero"],
)
def test_a_header_length_that_is_not_the_json_part_is_a_400(client: FlaskClient, length: str) -> None:
    body = json.dumps(request()).encode()
    response = client.post(INFER, data=body, headers={"Inference-Header-Content-Length": length})
    assert response.status_code == 400
    assert "Inference-Header-Content-Length must be" in response.get_json()["error"]


@pytest.mark.parametrize("path", ["/v2/models/another/infer", f"/v2/models/{NAME}/versions/9/infer"])
def test_another_model_or_version_is_a_404_naming_the_served_one(client: FlaskClient, path: str) -> None:
    response = client.post(path, json=request())
    assert response.status_code == 404
    assert response.get_json()["error"].endswith(f"this server serves {NAME} version {VERSION}.")


def test_tritons_client_reads_the_model_configuration(server: triton.InferenceServerClient) -> None:
    config = server.get_model_config(NAME)
    assert config == server.get_model_config(NAME, VERSION)
    assert config["name"] == NAME and config["max_batch_size"] == 0
    assert [(i["name"], i["data_type"]) for i in config["input"]] == [
        (f.name, "TYPE_STRING" if f.categories else "TYPE_FP64") for f in TURBINE.fields
    ]
    assert [(o["name"], o["data_type"], o["dims"]) for o in config["output"]] == [
        ("score", "TYPE_FP64", [-1]),
        ("predicted_label", "TYPE_INT64", [-1]),
    ]
    with pytest.raises(InferenceServerException, match="No model another-model"):
        server.get_model_config("another-model")


@pytest.mark.parametrize("binary", [True, False])
def test_a_client_written_for_mlservers_runtimes_sends_one_matrix_and_asks_for_predict_proba(
    server: triton.InferenceServerClient, client: FlaskClient, binary: bool
) -> None:
    """As a client of MLServer's scikit-learn or XGBoost runtime: the table as one [rows, fields] tensor (its name
    is the client's), outputs named predict and predict_proba, each [rows, n]."""
    lines = [SAMPLE, *(",".join(map(str, row)) for row in turbine_dataset(20, DEFAULT_SEED + 3).rows)]
    matrix = np.array([line.split(",") for line in lines], dtype=object)
    tensor = triton.InferInput("input-0", list(matrix.shape), "BYTES")
    tensor.set_data_from_numpy(matrix, binary_data=binary)
    outputs = [triton.InferRequestedOutput(name, binary_data=binary) for name in ("predict", "predict_proba")]
    result = server.infer(NAME, [tensor], outputs=outputs)
    expected = classic(client, lines)
    assert result.as_numpy("predict").tolist() == [[p["predicted_label"]] for p in expected]
    assert result.as_numpy("predict_proba").tolist() == [[1 - p["score"], p["score"]] for p in expected]
    answered = {o["name"]: o for o in result.get_response()["outputs"]}
    assert answered["predict_proba"]["shape"] == [len(lines), 2]
    assert answered["predict"]["parameters"]["content_type"] == "np"


def test_a_number_matrix_is_refused_for_a_model_with_categories_naming_them(client: FlaskClient) -> None:
    body = {"inputs": [{"name": "predict", "shape": [1, 11], "datatype": "FP64", "data": [[1.0] * 11]}]}
    answer = client.post(INFER, json=body)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == (
        "Input predict, a [rows, 11] matrix, must have datatype BYTES (turbine_id, turbine_type, wind_direction "
        "are categories)."
    )


def test_model_name_in_the_body_is_the_paths(client: FlaskClient) -> None:
    """KServe's client repeats the path's model in every infer body; another name is refused."""
    body = json.loads(json.dumps(request()))
    assert client.post(INFER, json={**body, "model_name": NAME}).status_code == 200
    refused = client.post(INFER, json={**body, "model_name": "other"})
    assert refused.status_code == 400 and refused.get_json()["error"].startswith("model_name 'other' is not the path's")


KSERVE_SCRIPT = """
import asyncio, json, sys
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

async def main(url, name, lines, fields):
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=30))
    columns = list(zip(*(line.split(",") for line in lines)))
    inputs = []
    for (field, category), values in zip(fields, columns):
        array = np.array(values, dtype=object) if category else np.array(values, dtype=np.float64)
        tensor = InferInput(field, [len(lines)], "BYTES" if category else "FP64")
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    ready = await client.is_server_ready(url) and await client.is_model_ready(url, name)
    request = InferRequest(model_name=name, infer_inputs=inputs, request_id="kserve-1")
    result = await client.infer(url, request, model_name=name)
    outputs = {o.name: o.as_numpy().tolist() for o in result.outputs}
    print(json.dumps({"ready": ready, "id": result.id, "outputs": outputs}))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3].split("|"), json.loads(sys.argv[4])))
"""


@pytest.fixture(scope="module")
def kserve_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A virtualenv of its own for KServe's SDK, whose pins (pandas 2) the project's do not share."""
    from tests.conftest import virtualenv_with

    return virtualenv_with(tmp_path_factory.mktemp("kserve"), ["kserve==0.21.0"])


def test_kserves_sdk_scores_readings_as_post_root(kserve_python: str, client: FlaskClient) -> None:
    import subprocess

    lines = [SAMPLE, *(",".join(map(str, row)) for row in turbine_dataset(5, DEFAULT_SEED + 5).rows)]
    fields = json.dumps([(f.name, bool(f.categories)) for f in TURBINE.fields])
    for port in serve_on_loopback(["flask", "--app", "app", "run", "--port"]):
        url = f"http://127.0.0.1:{port}"
        done = subprocess.run(
            [kserve_python, "-c", KSERVE_SCRIPT, url, NAME, "|".join(lines), fields],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    expected = classic(client, lines)
    assert answer["ready"] is True and answer["id"] == "kserve-1"
    assert answer["outputs"]["score"] == [p["score"] for p in expected]
    assert answer["outputs"]["predicted_label"] == [p["predicted_label"] for p in expected]
