"""Capture on Lambda, with no network call on a request's path: the function writes each record as a line of its
log (CAPTURE_URI=log:), a subscription filter on its log group hands those lines to a Kinesis Data Firehose stream,
and the stream writes them to S3 as JSON Lines, by hour of arrival:

    s3://BUCKET/PREFIX/lambda/FUNCTION/YYYY/MM/DD/HH/*.jsonl

A stage turns it on in zappa_settings.json (Zappa ignores the key; the callbacks in deploy/callbacks.py read it):

    "capture": {"bucket": "my-capture-bucket", "prefix": "capture"},
    "environment_variables": {"CAPTURE_URI": "log:", ...}

`zappa deploy` and `zappa update` then make what is missing (the bucket, two roles, the stream, the filter) and
leave what is there. Zappa has no undeploy hook:

    python deploy/capture.py remove dev       # the filter, the stream and the roles; the bucket keeps the data

It imports only the standard library at the top: Zappa passes its own boto3 session in.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTING = "capture"
# Capture and ground-truth records carry eventVersion; the access, error and metric lines do not.
FILTER_PATTERN = '{ $.eventVersion = "0" }'
MANAGED_TAG = ("managed-by", "turbine-status/deploy/capture.py")
ENVIRONMENT = ("CAPTURE_URI", "log:")


class SettingsError(ValueError):
    """The stage's capture setting cannot be used."""


@dataclass(frozen=True)
class Plan:
    bucket: str
    prefix: str


def plan_from(stage_config: Mapping[str, Any]) -> Plan | None:
    """The stage's capture plan, or None when it declares none; raises SettingsError naming the bad value."""
    block = stage_config.get(SETTING)
    if block is None:
        return None
    if not isinstance(block, dict) or not isinstance(block.get("bucket"), str) or not block["bucket"]:
        raise SettingsError(f'{SETTING} must hold "bucket": "NAME" and optionally "prefix": "PATH"')
    unknown = set(block) - {"bucket", "prefix"}
    if unknown:
        raise SettingsError(f"{SETTING}: unknown keys {', '.join(sorted(unknown))}")
    environment = stage_config.get("environment_variables") or {}
    if environment.get(ENVIRONMENT[0]) != ENVIRONMENT[1]:
        raise SettingsError(f"{SETTING}: set {ENVIRONMENT[0]} to {ENVIRONMENT[1]} in environment_variables")
    return Plan(block["bucket"], str(block.get("prefix", "capture")).strip("/"))


def names(function: str) -> dict[str, str]:
    """What this file makes for a function, by kind."""
    return {
        "stream": f"{function}-capture",
        "filter": f"{function}-capture",
        "firehose_role": f"{function}-capture-firehose",
        "logs_role": f"{function}-capture-logs",
        "log_group": f"/aws/lambda/{function}",
    }


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _allow(actions: list[str], resources: list[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}
    )


def _role(iam: Any, name: str, service: str, policy: str, changes: list[str]) -> str:
    """The role's ARN, made if missing; its policy is put each time (a put replaces it)."""
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        tags = [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}]
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service), Tags=tags)["Role"]["Arn"]
        changes.append(f"role created: {name}")
    iam.put_role_policy(RoleName=name, PolicyName="capture", PolicyDocument=policy)
    return str(arn)


def ensure(session: Any, function: str, plan: Plan) -> list[str]:
    """Make what is missing for the function's capture; returns what changed."""
    changes: list[str] = []
    s3, iam, firehose, logs = (session.client(s) for s in ("s3", "iam", "firehose", "logs"))
    made = names(function)
    region = session.region_name
    try:
        s3.head_bucket(Bucket=plan.bucket)
    except s3.exceptions.ClientError:
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=plan.bucket, **where)
        changes.append(f"bucket created: {plan.bucket}")
    bucket_arn = f"arn:aws:s3:::{plan.bucket}"
    firehose_role = _role(
        iam,
        made["firehose_role"],
        "firehose.amazonaws.com",
        _allow(["s3:PutObject", "s3:GetBucketLocation", "s3:ListBucket"], [bucket_arn, f"{bucket_arn}/*"]),
        changes,
    )
    try:
        stream_arn = firehose.describe_delivery_stream(DeliveryStreamName=made["stream"])["DeliveryStreamDescription"][
            "DeliveryStreamARN"
        ]
    except firehose.exceptions.ResourceNotFoundException:
        stream_arn = firehose.create_delivery_stream(
            DeliveryStreamName=made["stream"],
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": firehose_role,
                "BucketARN": bucket_arn,
                "Prefix": f"{plan.prefix}/lambda/{function}/!{{timestamp:yyyy/MM/dd/HH}}/",
                "ErrorOutputPrefix": f"{plan.prefix}/errors/{function}/!{{firehose:error-output-type}}/",
                "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60},
                "CompressionFormat": "UNCOMPRESSED",
                "FileExtension": ".jsonl",
                # CloudWatch Logs delivers gzipped batches of log events: Firehose unpacks them to the lines.
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [
                        {
                            "Type": "Decompression",
                            "Parameters": [{"ParameterName": "CompressionFormat", "ParameterValue": "GZIP"}],
                        },
                        {
                            "Type": "CloudWatchLogProcessing",
                            "Parameters": [{"ParameterName": "DataMessageExtraction", "ParameterValue": "true"}],
                        },
                        {"Type": "AppendDelimiterToRecord", "Parameters": []},
                    ],
                },
            },
            Tags=[{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
        )["DeliveryStreamARN"]
        changes.append(
            f"delivery stream created: {made['stream']} -> s3://{plan.bucket}/{plan.prefix}/lambda/{function}/"
        )
    logs_role = _role(
        iam,
        made["logs_role"],
        f"logs.{region}.amazonaws.com",
        _allow(["firehose:PutRecord", "firehose:PutRecordBatch"], [stream_arn]),
        changes,
    )
    try:
        logs.create_log_group(logGroupName=made["log_group"])
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    current = logs.describe_subscription_filters(logGroupName=made["log_group"])["subscriptionFilters"]
    wanted = {"filterName": made["filter"], "filterPattern": FILTER_PATTERN, "destinationArn": stream_arn}
    if not any(all(f.get(k) == v for k, v in wanted.items()) for f in current):
        logs.put_subscription_filter(logGroupName=made["log_group"], roleArn=logs_role, **wanted)
        changes.append(f"subscription filter put: {made['log_group']} {FILTER_PATTERN} -> {made['stream']}")
    return changes


def _managed(tags: list[dict[str, str]]) -> bool:
    return {"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]} in tags


def remove(session: Any, function: str) -> list[str]:
    """Remove the filter, the stream and the roles this file made for the function; the bucket stays."""
    changes: list[str] = []
    iam, firehose, logs = (session.client(s) for s in ("iam", "firehose", "logs"))
    made = names(function)
    try:
        filters = logs.describe_subscription_filters(logGroupName=made["log_group"])["subscriptionFilters"]
    except logs.exceptions.ResourceNotFoundException:
        filters = []
    if any(f["filterName"] == made["filter"] for f in filters):
        logs.delete_subscription_filter(logGroupName=made["log_group"], filterName=made["filter"])
        changes.append(f"subscription filter removed: {made['filter']}")
    try:
        tags = firehose.list_tags_for_delivery_stream(DeliveryStreamName=made["stream"])["Tags"]
    except firehose.exceptions.ResourceNotFoundException:
        tags = None
    if tags is not None and _managed(tags):
        firehose.delete_delivery_stream(DeliveryStreamName=made["stream"])
        changes.append(f"delivery stream removed: {made['stream']}")
    for role in (made["logs_role"], made["firehose_role"]):
        try:
            found = iam.get_role(RoleName=role)["Role"]
        except iam.exceptions.NoSuchEntityException:
            continue
        if _managed(iam.list_role_tags(RoleName=role)["Tags"]) or _managed(found.get("Tags", [])):
            iam.delete_role_policy(RoleName=role, PolicyName="capture")
            iam.delete_role(RoleName=role)
            changes.append(f"role removed: {role}")
    return changes


def _report(changes: list[str]) -> None:
    for change in changes:
        print(f"capture: {change}")


def settings(zappa_cli: Any) -> None:
    """Zappa's settings callback: refuse a capture block that cannot work, before anything is deployed."""
    try:
        plan_from(zappa_cli.stage_config)
    except SettingsError as error:
        raise SystemExit(f"zappa_settings.json, stage {zappa_cli.api_stage}: {error}") from None
    if zappa_cli.command == "undeploy" and plan_from(zappa_cli.stage_config):
        print(f"capture: zappa undeploy leaves the stream; python deploy/capture.py remove {zappa_cli.api_stage}")


def post(zappa_cli: Any) -> None:
    """Zappa's post callback (deploy and update): make what the stage's capture needs."""
    plan = plan_from(zappa_cli.stage_config)
    if plan is not None:
        changes = ensure(zappa_cli.zappa.boto_session, zappa_cli.lambda_name, plan)
        _report(changes or [f"{zappa_cli.lambda_name}: already as declared, nothing changed"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Capture on Lambda: remove what zappa deploy made for it.")
    parser.add_argument("action", choices=["remove"])
    parser.add_argument("stage")
    parser.add_argument("-s", "--settings_file", type=Path, default=Path("zappa_settings.json"))
    args = parser.parse_args(argv)
    import boto3

    stages = json.loads(args.settings_file.read_text())
    stage = stages.get(args.stage)
    if stage is None:
        raise SystemExit(f"no stage {args.stage} in {args.settings_file}")
    while "extends" in stage:  # Zappa's inheritance between stages
        stage = {**stages[stage["extends"]], **{k: v for k, v in stage.items() if k != "extends"}}
    function = f"{stage['project_name']}-{args.stage}"
    _report(remove(boto3.session.Session(region_name=stage.get("aws_region")), function) or ["nothing to remove"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
