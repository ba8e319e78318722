"""deploy/sagemaker.py against moto_server on loopback, dummy credentials: an instance endpoint and a Serverless
Inference one, Data Capture, a transform job, and nothing of ours left after delete. moto has no UpdateEndpoint,
so the update's calls are checked with botocore's Stubber."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.sagemaker import MANAGED_TAG, DeployError, Endpoint, transform, update
from tests.conftest import serve_on_loopback

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/turbine-status:1"
ROLE = "arn:aws:iam::123456789012:role/turbine-status-sagemaker"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}


@pytest.fixture
def moto() -> Iterator[str]:
    for port in serve_on_loopback(["moto_server", "-H", "127.0.0.1", "-p"]):
        yield f"http://127.0.0.1:{port}"


def client(endpoint_url: str) -> Any:
    return boto3.session.Session(**{k.lower(): v for k, v in CREDENTIALS.items() if k != "AWS_DEFAULT_REGION"}).client(
        "sagemaker", endpoint_url=endpoint_url, region_name="eu-west-1"
    )


def command(endpoint_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """python deploy/sagemaker.py ARGS, as a user runs it, its boto3 pointed at moto_server."""
    environ = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL_SAGEMAKER": endpoint_url}
    script = str(ROOT / "deploy" / "sagemaker.py")
    return subprocess.run([sys.executable, script, *args], env=environ, capture_output=True, text=True, timeout=60)


def created(endpoint_url: str, name: str, *options: str) -> None:
    done = command(
        endpoint_url,
        "create",
        name,
        "--image",
        IMAGE,
        "--model-data",
        f"s3://models/{name}.tar.gz",
        "--role",
        ROLE,
        *options,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"endpoint {name}"


def ours(sagemaker: Any) -> dict[str, list[str]]:
    return {
        "endpoints": [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]],
        "configs": [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]],
        "models": [m["ModelName"] for m in sagemaker.list_models()["Models"]],
    }


def test_instance_endpoint_with_data_capture_a_transform_job_and_delete(moto: str) -> None:
    sagemaker = client(moto)
    created(
        moto,
        "turbines",
        "--instance-type",
        "ml.c5.xlarge",
        "--capture",
        "s3://capture/turbines",
        "--env",
        "LOG_LEVEL=DEBUG",
    )
    endpoint = sagemaker.describe_endpoint(EndpointName="turbines")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 1)
    capture = config["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == "s3://capture/turbines"
    assert capture["InitialSamplingPercentage"] == 100
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert model["PrimaryContainer"]["Environment"] == {"LOG_LEVEL": "DEBUG"}
    assert MANAGED_TAG in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]

    (line,) = transform(sagemaker, "turbines", "s3://readings/", "s3://scores/", max_payload_mb=4, stamp="t1")
    job = sagemaker.describe_transform_job(TransformJobName="turbines-t1")
    assert (job["ModelName"], job["BatchStrategy"], job["MaxPayloadInMB"]) == (variant["ModelName"], "MultiRecord", 4)
    assert job["TransformInput"]["SplitType"] == "Line" and job["TransformInput"]["ContentType"] == "text/csv"
    assert job["TransformOutput"]["AssembleWith"] == "Line" and job["TransformOutput"]["Accept"] == "text/csv"
    assert line.startswith("transform job turbines-t1")

    done = command(moto, "delete", "turbines")
    assert done.returncode == 0, done.stderr
    assert ours(sagemaker) == {"endpoints": [], "configs": [], "models": []}


def test_serverless_endpoint(moto: str) -> None:
    sagemaker = client(moto)
    created(moto, "turbines-serverless", "--serverless", "--memory", "3072", "--max-concurrency", "20")
    name = sagemaker.describe_endpoint(EndpointName="turbines-serverless")["EndpointConfigName"]
    (variant,) = sagemaker.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 20}
    assert "InstanceType" not in variant
    assert not sagemaker.describe_endpoint_config(EndpointConfigName=name).get("DataCaptureConfig")
    assert command(moto, "delete", "turbines-serverless").returncode == 0
    assert ours(sagemaker) == {"endpoints": [], "configs": [], "models": []}


def test_delete_leaves_what_it_did_not_make(moto: str) -> None:
    sagemaker = client(moto)
    created(moto, "turbines")
    sagemaker.create_model(ModelName="by-hand", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE)
    assert command(moto, "delete", "turbines").returncode == 0
    assert ours(sagemaker) == {"endpoints": [], "configs": [], "models": ["by-hand"]}


def test_an_unknown_endpoint_is_an_error_not_a_traceback(moto: str) -> None:
    done = command(moto, "delete", "nothing-here")
    assert done.returncode == 2
    assert done.stderr.startswith("error: no endpoint nothing-here") and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"serverless_memory": 1500}, "--memory must be one of 1024"),
        ({"max_concurrency": 0}, "--max-concurrency must be from 1 to 200"),
        ({"capture": "capture/turbines"}, "--capture must be an s3:// URI"),
        ({"model_data": "/tmp/model.tar.gz"}, "--model-data must be an s3:// URI"),
        ({"serverless_memory": 2048, "capture": "s3://capture/t"}, "Serverless Inference does not take Data Capture"),
    ],
)
def test_settings_sagemaker_would_refuse_are_refused_first(options: dict[str, Any], why: str) -> None:
    settings = {"name": "t", "image": IMAGE, "model_data": "s3://m/model.tar.gz", "role": ROLE, **options}
    with pytest.raises(DeployError, match=why):
        Endpoint(**settings)


def test_update_moves_the_endpoint_then_removes_the_old_pair() -> None:
    sagemaker = boto3.session.Session().client(
        "sagemaker", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    endpoint = Endpoint("turbines", IMAGE, "s3://models/v2.tar.gz", ROLE, serverless_memory=2048)
    old, new = "turbines-v1", "turbines-v2"
    config_arn = f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/{old}"
    model_arn = f"arn:aws:sagemaker:eu-west-1:123456789012:model/{old}"
    waited: list[str] = []
    with Stubber(sagemaker) as stub:
        stub.add_response("describe_endpoint", {**described(old)}, {"EndpointName": "turbines"})
        stub.add_response(
            "create_model",
            {"ModelArn": model_arn.replace(old, new)},
            {
                "ModelName": new,
                "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "s3://models/v2.tar.gz", "Environment": {}},
                "ExecutionRoleArn": ROLE,
                "Tags": ANY,
            },
        )
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": new,
            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
        }
        stub.add_response(
            "create_endpoint_config",
            {"EndpointConfigArn": config_arn.replace(old, new)},
            {
                "EndpointConfigName": new,
                "ProductionVariants": [variant],
                "Tags": ANY,
            },
        )
        stub.add_response(
            "update_endpoint",
            {"EndpointArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/turbines"},
            {"EndpointName": "turbines", "EndpointConfigName": new},
        )
        stub.add_response("describe_endpoint", described(new), {"EndpointName": "turbines"})
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": old,
                "EndpointConfigArn": config_arn,
                "CreationTime": "2026-12-01",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": old,
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 1,
                    }
                ],
            },
            {"EndpointConfigName": old},
        )
        stub.add_response("list_tags", {"Tags": [MANAGED_TAG]}, {"ResourceArn": config_arn})
        stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": old})
        stub.add_response(
            "describe_model",
            {"ModelName": old, "ModelArn": model_arn, "CreationTime": "2026-12-01"},
            {"ModelName": old},
        )
        stub.add_response("list_tags", {"Tags": [MANAGED_TAG]}, {"ResourceArn": model_arn})
        stub.add_response("delete_model", {}, {"ModelName": old})
        done = update(sagemaker, endpoint, stamp="v2", wait=waited.append)
        stub.assert_no_pending_responses()
    assert waited == ["turbines"]  # the old pair goes only after the endpoint serves the new one
    assert done[-3:] == [
        f"endpoint turbines now serves {new}",
        f"removed endpoint configuration {old}",
        f"removed model {old}",
    ]


def described(config: str) -> dict[str, Any]:
    return {
        "EndpointName": "turbines",
        "EndpointArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/turbines",
        "EndpointConfigName": config,
        "EndpointStatus": "InService",
        "CreationTime": "2026-12-01",
        "LastModifiedTime": "2026-12-01",
    }


def test_an_update_sagemaker_rolled_back_removes_nothing() -> None:
    sagemaker = boto3.session.Session().client(
        "sagemaker", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    endpoint = Endpoint("turbines", IMAGE, "s3://models/v2.tar.gz", ROLE)
    with Stubber(sagemaker) as stub:
        stub.add_response("describe_endpoint", described("turbines-v1"), {"EndpointName": "turbines"})
        stub.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/turbines-v2"})
        stub.add_response(
            "create_endpoint_config",
            {"EndpointConfigArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/turbines-v2"},
        )
        stub.add_response("update_endpoint", {"EndpointArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/t"})
        stub.add_response("describe_endpoint", described("turbines-v1"), {"EndpointName": "turbines"})
        with pytest.raises(DeployError, match="still serves turbines-v1, not turbines-v2: the update did not take"):
            update(sagemaker, endpoint, stamp="v2", wait=lambda name: None)
        stub.assert_no_pending_responses()  # no delete was asked for


@pytest.mark.parametrize(
    ("options", "why"),
    [
        (["--memory", "1500"], "--memory and --max-concurrency are Serverless Inference's: add --serverless"),
        (["--instance-count", "0"], "--instance-count must be at least 1"),
    ],
)
def test_cli_refuses_options_that_do_not_fit_before_making_anything(moto: str, options: list[str], why: str) -> None:
    done = command(
        moto, "create", "t", "--image", IMAGE, "--model-data", "s3://m/model.tar.gz", "--role", ROLE, *options
    )
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {why}")
    assert ours(client(moto)) == {"endpoints": [], "configs": [], "models": []}


def test_what_aws_refuses_is_one_line_not_a_traceback(moto: str) -> None:
    done = command(moto, "create", "t", "--image", IMAGE, "--model-data", "s3://m/model.tar.gz", "--role", "not-an-arn")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
