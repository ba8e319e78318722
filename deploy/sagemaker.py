"""This app as a SageMaker endpoint, or a Batch Transform job, through boto3: the image that
deploy/container/Dockerfile builds, and an artifact packed as model.json in model.tar.gz.

    python deploy/sagemaker.py create NAME --image URI --model-data S3_URI --role ARN [--serverless] [--capture S3_URI]
    python deploy/sagemaker.py update NAME --image URI --model-data S3_URI --role ARN ...
    python deploy/sagemaker.py transform NAME --input S3_URI --output S3_URI
    python deploy/sagemaker.py delete NAME

An endpoint NAME serves the endpoint configuration NAME-STAMP, which serves the model NAME-STAMP; update
makes a new pair, moves the endpoint to it, and removes the old pair once the endpoint is in service again.
What this file made carries the tag managed-by, so delete removes only that. The AWS_ENDPOINT_URL_SAGEMAKER
variable points boto3 elsewhere (the tests: moto_server on loopback)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MANAGED_TAG = {"Key": "managed-by", "Value": "turbine-status/deploy/sagemaker.py"}
VARIANT = "AllTraffic"
SERVERLESS_MEMORY = (1024, 2048, 3072, 4096, 5120, 6144)  # MB, as SageMaker allows
WAIT_SECONDS = 30 * 60  # an instance endpoint takes minutes to come up


class DeployError(ValueError):
    """A setting SageMaker would refuse, or an endpoint that is not what the command expects."""


@dataclass(frozen=True)
class Endpoint:
    """What an endpoint serves: the image, the model artifact, and how it runs."""

    name: str
    image: str
    model_data: str  # s3://.../model.tar.gz holding model.json
    role: str  # an IAM role SageMaker assumes to pull the image and read the artifact
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    serverless_memory: int | None = None  # MB: a Serverless Inference endpoint instead of instances
    max_concurrency: int = 5  # Serverless Inference's concurrent invocations
    capture: str | None = None  # s3:// prefix for SageMaker Data Capture of requests and answers
    capture_percent: int = 100
    environment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.serverless_memory is not None and self.serverless_memory not in SERVERLESS_MEMORY:
            raise DeployError(f"--memory must be one of {', '.join(map(str, SERVERLESS_MEMORY))} MB")
        if self.instance_count < 1:
            raise DeployError("--instance-count must be at least 1")
        if not 1 <= self.max_concurrency <= 200:
            raise DeployError("--max-concurrency must be from 1 to 200")
        if self.serverless_memory is not None and self.capture:
            raise DeployError("Serverless Inference does not take Data Capture: leave out --capture, or use instances")
        if not 0 <= self.capture_percent <= 100:
            raise DeployError("--capture-percent must be from 0 to 100")
        for value, option in ((self.model_data, "--model-data"), (self.capture, "--capture")):
            if value is not None and not value.startswith("s3://"):
                raise DeployError(f"{option} must be an s3:// URI")

    def variant(self, model: str) -> dict[str, Any]:
        variant: dict[str, Any] = {"VariantName": VARIANT, "ModelName": model}
        if self.serverless_memory is not None:
            variant["ServerlessConfig"] = {
                "MemorySizeInMB": self.serverless_memory,
                "MaxConcurrency": self.max_concurrency,
            }
        else:
            variant.update(InstanceType=self.instance_type, InitialInstanceCount=self.instance_count)
        return variant

    def data_capture(self) -> dict[str, Any]:
        return {
            "EnableCapture": True,
            "InitialSamplingPercentage": self.capture_percent,
            "DestinationS3Uri": self.capture,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            # Captured as text, not base64: the bodies this app reads and writes.
            "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
        }


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def _tags(name: str) -> list[dict[str, str]]:
    return [MANAGED_TAG, {"Key": "turbine-status-endpoint", "Value": name}]


def _model_and_config(client: Any, endpoint: Endpoint, stamp: str) -> str:
    """A new model and an endpoint configuration serving it, both named NAME-STAMP; returns that name."""
    name = f"{endpoint.name}-{stamp}"
    client.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": endpoint.image,
            "ModelDataUrl": endpoint.model_data,
            "Environment": endpoint.environment,
        },
        ExecutionRoleArn=endpoint.role,
        Tags=_tags(endpoint.name),
    )
    config: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": [endpoint.variant(name)]}
    if endpoint.capture:
        config["DataCaptureConfig"] = endpoint.data_capture()
    client.create_endpoint_config(**config, Tags=_tags(endpoint.name))
    return name


def create(client: Any, endpoint: Endpoint, stamp: str | None = None) -> list[str]:
    """The model, its endpoint configuration and the endpoint; returns what was made."""
    name = _model_and_config(client, endpoint, stamp or _stamp())
    client.create_endpoint(EndpointName=endpoint.name, EndpointConfigName=name, Tags=_tags(endpoint.name))
    return [f"model {name}", f"endpoint configuration {name}", f"endpoint {endpoint.name}"]


def serving_config(client: Any, name: str) -> str:
    """The endpoint configuration endpoint `name` serves; raises DeployError when there is no such endpoint."""
    try:
        return str(client.describe_endpoint(EndpointName=name)["EndpointConfigName"])
    except client.exceptions.ClientError as error:
        raise DeployError(f"no endpoint {name}: {error.response['Error'].get('Message', '')}") from None


def update(
    client: Any, endpoint: Endpoint, stamp: str | None = None, wait: Callable[[str], None] | None = None
) -> list[str]:
    """A new model and configuration, the endpoint moved to them, then the old pair removed once the endpoint
    is in service again (SageMaker keeps serving the old one until the new one is ready)."""
    old = serving_config(client, endpoint.name)
    name = _model_and_config(client, endpoint, stamp or _stamp())
    client.update_endpoint(EndpointName=endpoint.name, EndpointConfigName=name)
    (wait or _waiter(client))(endpoint.name)
    serving = serving_config(client, endpoint.name)
    if serving != name:  # SageMaker rolled the update back: the old pair still serves, and stays
        raise DeployError(f"endpoint {endpoint.name} still serves {serving}, not {name}: the update did not take")
    done = [f"model {name}", f"endpoint configuration {name}", f"endpoint {endpoint.name} now serves {name}"]
    return done + _remove_pair(client, old)


def _waiter(client: Any) -> Callable[[str], None]:
    def wait(name: str) -> None:
        client.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": 30, "MaxAttempts": WAIT_SECONDS // 30}
        )

    return wait


def _remove_pair(client: Any, name: str) -> list[str]:
    """The endpoint configuration `name` and the models it serves, if this file made them."""
    config = client.describe_endpoint_config(EndpointConfigName=name)
    if MANAGED_TAG not in client.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"]:
        return [f"left endpoint configuration {name}: not made by this file"]
    models = [variant["ModelName"] for variant in config["ProductionVariants"]]
    client.delete_endpoint_config(EndpointConfigName=name)
    removed = [f"removed endpoint configuration {name}"]
    for model in models:
        arn = client.describe_model(ModelName=model)["ModelArn"]
        if MANAGED_TAG in client.list_tags(ResourceArn=arn)["Tags"]:
            client.delete_model(ModelName=model)
            removed.append(f"removed model {model}")
    return removed


def delete(client: Any, name: str) -> list[str]:
    """The endpoint, then its configuration and model."""
    config = serving_config(client, name)
    client.delete_endpoint(EndpointName=name)
    return [f"removed endpoint {name}", *_remove_pair(client, config)]


def transform(
    client: Any,
    name: str,
    source: str,
    destination: str,
    max_payload_mb: int = 6,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
    stamp: str | None = None,
) -> list[str]:
    """A Batch Transform job scoring every line of the CSV files under `source` with the model endpoint `name`
    serves, one answer line per input line under `destination`."""
    if not 1 <= max_payload_mb <= 100:
        raise DeployError("--max-payload-mb must be from 1 to 100")
    config = client.describe_endpoint_config(EndpointConfigName=serving_config(client, name))
    model = config["ProductionVariants"][0]["ModelName"]
    job = f"{name}-{stamp or _stamp()}"
    client.create_transform_job(
        TransformJobName=job,
        ModelName=model,
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=max_payload_mb,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": destination, "Accept": "text/csv", "AssembleWith": "Line"},
        TransformResources={"InstanceType": instance_type, "InstanceCount": instance_count},
        Tags=_tags(name),
    )
    return [f"transform job {job} with model {model}: {source} -> {destination}"]


def _endpoint(args: argparse.Namespace) -> Endpoint:
    if not args.serverless and (args.memory is not None or args.max_concurrency is not None):
        raise DeployError("--memory and --max-concurrency are Serverless Inference's: add --serverless")
    pairs = [pair.partition("=") for pair in args.env]
    if any(not key or sep != "=" for key, sep, _ in pairs):
        raise DeployError("--env takes NAME=VALUE")
    return Endpoint(
        name=args.name,
        image=args.image,
        model_data=args.model_data,
        role=args.role,
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        serverless_memory=(args.memory or 2048) if args.serverless else None,
        max_concurrency=args.max_concurrency or 5,
        capture=args.capture,
        capture_percent=args.capture_percent,
        environment={key: value for key, _, value in pairs},
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("create", "update"):
        sub = commands.add_parser(command)
        sub.add_argument("name", help="the endpoint's name")
        sub.add_argument("--image", required=True, help="the image in ECR, built from deploy/container/Dockerfile")
        sub.add_argument("--model-data", required=True, help="s3://.../model.tar.gz holding model.json")
        sub.add_argument("--role", required=True, help="the execution role's ARN")
        sub.add_argument("--instance-type", default="ml.m5.large")
        sub.add_argument("--instance-count", type=int, default=1)
        sub.add_argument("--serverless", action="store_true", help="Serverless Inference instead of instances")
        sub.add_argument("--memory", type=int, help="Serverless Inference's memory, MB (default 2048)")
        sub.add_argument("--max-concurrency", type=int, help="Serverless Inference's concurrency (default 5)")
        sub.add_argument("--capture", help="s3:// prefix: SageMaker Data Capture of requests and answers")
        sub.add_argument("--capture-percent", type=int, default=100)
        sub.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="the container's settings")
    sub = commands.add_parser("transform")
    sub.add_argument("name", help="the endpoint whose model scores")
    sub.add_argument("--input", required=True, help="s3:// prefix of CSV files, one reading per line")
    sub.add_argument("--output", required=True, help="s3:// prefix for the answers")
    sub.add_argument("--max-payload-mb", type=int, default=6)
    sub.add_argument("--instance-type", default="ml.m5.large")
    sub.add_argument("--instance-count", type=int, default=1)
    sub = commands.add_parser("delete")
    sub.add_argument("name", help="the endpoint's name")
    return parser


def main(argv: list[str] | None = None, client: Any = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    args = _parser().parse_args(argv)
    if client is None:
        import boto3

        client = boto3.client("sagemaker")
    try:
        if args.command == "create":
            done: Iterable[str] = create(client, _endpoint(args))
        elif args.command == "update":
            done = update(client, _endpoint(args))
        elif args.command == "transform":
            done = transform(
                client, args.name, args.input, args.output, args.max_payload_mb, args.instance_type, args.instance_count
            )
        else:
            done = delete(client, args.name)
    except (DeployError, BotoCoreError, ClientError) as error:  # what AWS refused, said in one line
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in done:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
