"""MLflow's own scoring client against the app on loopback: it asks the server's version, waits for it, and scores
a DataFrame through /invocations, reading the classic answer back."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pandas as pd
import pytest
from flask.testing import FlaskClient

from app.core.schemas import turbine_schema
from app.training import DEFAULT_SEED
from app.training.data import turbine_dataset
from tests.conftest import SAMPLE, serve_on_loopback

TURBINE = turbine_schema()
with warnings.catch_warnings():  # mlflow.pyfunc warns, on import, of its own type hints
    warnings.simplefilter("ignore", UserWarning)
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient


@pytest.fixture(scope="module")
def scoring() -> Iterator[ScoringServerClient]:
    for port in serve_on_loopback(["flask", "--app", "app", "run", "--port"]):
        client = ScoringServerClient("127.0.0.1", port)
        client.wait_server_ready(timeout=30)
        yield client


def frame(lines: list[str]) -> pd.DataFrame:
    rows = [line.split(",") for line in lines]
    table = pd.DataFrame(rows, columns=list(TURBINE.names))
    for field in TURBINE.fields:
        if not field.categories:
            table[field.name] = table[field.name].astype(float)
    return table


def test_get_version_reads_the_servers_version(scoring: ScoringServerClient, client: FlaskClient) -> None:
    assert scoring.get_version() == "1" == client.get("/v2").get_json()["version"]


def test_invoke_scores_a_dataframe_as_post_root(scoring: ScoringServerClient, client: FlaskClient) -> None:
    lines = [SAMPLE, *(",".join(map(str, row)) for row in turbine_dataset(30, DEFAULT_SEED + 9).rows)]
    answer = scoring.invoke(frame(lines)).get_predictions()
    expected = client.post("/", data="\n".join(lines), content_type="text/csv").get_json()["predictions"]
    assert answer["score"].tolist() == [p["score"] for p in expected]
    assert answer["predicted_label"].tolist() == [p["predicted_label"] for p in expected]


@pytest.mark.parametrize("params", [None, {}])
def test_params_that_ask_for_nothing_are_taken_and_others_refused(client: FlaskClient, params: object) -> None:
    body = {"dataframe_split": {"columns": list(TURBINE.names), "data": [SAMPLE.split(",")]}}
    numbers = [i for i, field in enumerate(TURBINE.fields) if not field.categories]
    body["dataframe_split"]["data"] = [[float(v) if i in numbers else v for i, v in enumerate(SAMPLE.split(","))]]
    assert client.post("/invocations", json={**body, "params": params}).status_code == 200
    refused = client.post("/invocations", json={**body, "params": {"threshold": 0.3}})
    assert refused.status_code == 400
    assert refused.get_json()["message"] == "params are not accepted beside dataframe_split: this model takes none."
