"""`zappa deploy`, `update` and `undeploy` with deploy/gateway.py's callbacks, against a local moto_server: what
API Gateway is left with (usage plan, key, stage throttling, per-method keys and authorization), read back
through boto3. Dummy credentials, loopback only; nothing here can reach AWS."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import serve_on_loopback

ROOT = Path(__file__).resolve().parent.parent
NAME = "turbine-status-ci"
LIMITS = {"throttle": {"rate_limit": 10, "burst_limit": 20}, "quota": {"limit": 1000, "period": "DAY"}}

pytestmark = pytest.mark.slow


class FunctionUrlsAnswered(BaseHTTPRequestHandler):
    """Forwards every request to moto_server, but answers Lambda's ListFunctionUrlConfigs itself.

    `zappa update` calls it to remove function URLs; moto (5.2.1, and 5.2.5, the newest) has no such route and
    answers 404. The answer is what Lambda gives for a function without URLs, which these functions are."""

    upstream = ""

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        if self.command == "GET" and path.startswith("/2021-10-31/functions/") and path.endswith("/urls"):
            body = b'{"FunctionUrlConfigs": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        length = int(self.headers.get("Content-Length") or 0)
        # http.client, not urllib: urllib adds a form Content-Type to a body sent without one, and moto reads it so.
        upstream = http.client.HTTPConnection(self.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(self.command, self.path, self.rfile.read(length) if length else None, headers)
        response = upstream.getresponse()
        body = response.read()
        upstream.close()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def aws() -> Iterator[str]:
    """The endpoint Zappa and boto3 use: moto_server on loopback behind the one-call answer above."""
    for port in serve_on_loopback(["moto_server", "-H", "127.0.0.1", "-p"]):
        handler = type("Handler", (FunctionUrlsAnswered,), {"upstream": f"127.0.0.1:{port}"})
        proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{proxy.server_address[1]}"
        proxy.shutdown()
        proxy.server_close()


class Zappa:
    """Runs the deploy virtualenv's zappa (and deploy/gateway.py) from the project folder, as a user would."""

    def __init__(self, venv: Path, endpoint: str, settings_file: Path) -> None:
        self.venv = venv
        self.settings_file = settings_file
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            VIRTUAL_ENV=str(venv),
            PATH=f"{venv / 'bin'}:{self.env['PATH']}",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="eu-west-1",
        )

    def stage(self, **overrides: Any) -> None:
        """Write a `ci` stage: the real dev settings, made safe offline, with overrides."""
        settings = json.loads((ROOT / "zappa_settings.json").read_text())
        stage = {**settings["dev"], "touch": False, "keep_warm": False, "s3_bucket": "turbine-status-ci", **overrides}
        self.settings_file.write_text(json.dumps({"ci": {k: v for k, v in stage.items() if v is not None}}))

    def _run(self, command: list[str], ok: bool) -> str:
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        output = result.stdout + result.stderr
        assert (result.returncode == 0) == ok, output
        return output

    def __call__(self, *args: str, ok: bool = True) -> str:
        return self._run([str(self.venv / "bin" / "zappa"), *args, "-s", str(self.settings_file)], ok)

    def gateway(self, *args: str) -> str:
        python = str(self.venv / "bin" / "python")
        return self._run([python, "deploy/gateway.py", *args, "-s", str(self.settings_file)], ok=True)

    def capture(self, *args: str) -> str:
        python = str(self.venv / "bin" / "python")
        return self._run([python, "deploy/capture.py", *args, "-s", str(self.settings_file)], ok=True)


@pytest.fixture
def zappa(deploy_venv: Path, aws: str, tmp_path: Path) -> Zappa:
    return Zappa(deploy_venv, aws, tmp_path / "zappa_settings.json")


@pytest.fixture
def apigateway(aws: str) -> Any:
    return boto3.client("apigateway", endpoint_url=aws, region_name="eu-west-1")


def rest_api_id(apigateway: Any) -> str:
    [api] = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == NAME]
    return str(api["id"])


def methods(apigateway: Any, api_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, method) -> get_method's answer, for every method of the API."""
    found = {}
    for resource in apigateway.get_resources(restApiId=api_id)["items"]:
        for method in resource.get("resourceMethods") or {}:
            found[resource["path"], method] = apigateway.get_method(
                restApiId=api_id, resourceId=resource["id"], httpMethod=method
            )
    return found


def our_plans(apigateway: Any) -> list[dict[str, Any]]:
    return [p for p in apigateway.get_usage_plans()["items"] if p["name"] == NAME]


def assert_nothing_left(apigateway: Any, endpoint: str) -> None:
    """No usage plan, key, function or stack. The stage (its throttling, our OPTIONS methods) and the API belong
    to Zappa's stack; moto's CloudFormation deletes the stack but not an AWS::ApiGateway::RestApi in it, so that
    object alone stays on the emulator, as it would not on AWS."""
    assert apigateway.get_usage_plans()["items"] == []
    assert apigateway.get_api_keys()["items"] == []
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint, region_name="eu-west-1")
    assert cloudformation.describe_stacks()["Stacks"] == []
    functions = boto3.client("lambda", endpoint_url=endpoint, region_name="eu-west-1").list_functions()
    assert functions["Functions"] == []
    assert not list(ROOT.glob("*-template-*.json"))


def test_deploy_status_undeploy_against_moto_server(zappa: Zappa) -> None:
    zappa.stage()
    assert "Deployment complete!: https://" in zappa("deploy", "ci")
    status = zappa("status", "ci")
    assert "turbine-status-ci" in status and "python3.11" in status and "API Gateway URL" in status
    assert "Done!" in zappa("undeploy", "ci", "--yes")
    assert not list(ROOT.glob("*-template-*.json"))


def test_keys_usage_plan_and_throttling_from_deploy_update_and_undeploy(
    zappa: Zappa, apigateway: Any, aws: str, package: Path
) -> None:
    zappa.stage(api_key_required=True, api_gateway=LIMITS)
    deployed = zappa("deploy", "ci")
    assert "api_gateway: usage plan created: turbine-status-ci: 10 requests/s, burst 20, 1000 per DAY" in deployed
    api_id = rest_api_id(apigateway)

    [plan] = our_plans(apigateway)
    assert plan["throttle"] == {"rateLimit": 10, "burstLimit": 20}
    assert plan["quota"] == {"limit": 1000, "period": "DAY"}
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "ci"}]
    [key] = apigateway.get_api_keys()["items"]
    assert [k["id"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]

    found = methods(apigateway, api_id)
    assert set(found) == {("/", "ANY"), ("/", "OPTIONS"), ("/{proxy+}", "ANY"), ("/{proxy+}", "OPTIONS")}
    for path in ("/", "/{proxy+}"):
        assert found[path, "ANY"]["apiKeyRequired"] is True  # ANY is every method but OPTIONS: POST included
        assert found[path, "OPTIONS"]["apiKeyRequired"] is False
        assert found[path, "OPTIONS"]["authorizationType"] == "NONE"
        # The preflight reaches the app, which answers it with the stage's CORS_ORIGINS.
        assert found[path, "OPTIONS"]["methodIntegration"]["uri"] == found[path, "ANY"]["methodIntegration"]["uri"]
    stage = apigateway.get_stage(restApiId=api_id, stageName="ci")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 10
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 20

    # The same limits again: the plan and the methods are left as they are. (moto replaces the stage, and so
    # drops its throttling, on every deployment, which AWS does not: the callback sets it again there.)
    updated = zappa("update", "ci")
    assert "usage plan" not in updated and "OPTIONS" not in updated and "API key" not in updated
    assert our_plans(apigateway) == [plan]
    assert rest_api_id(apigateway) == api_id

    # New limits, and the bytecode package deploy/package.py builds.
    zappa.stage(
        api_key_required=True,
        api_gateway={"throttle": {"rate_limit": 5, "burst_limit": 8}, "quota": {"limit": 500, "period": "WEEK"}},
    )
    assert "api_gateway: usage plan updated" in zappa("update", "ci", "-z", str(package))
    function = boto3.client("lambda", endpoint_url=aws, region_name="eu-west-1").get_function(FunctionName=NAME)
    assert (
        function["Configuration"]["CodeSha256"]
        == base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()
    )
    [changed] = our_plans(apigateway)
    assert changed["id"] == plan["id"]
    assert changed["throttle"] == {"rateLimit": 5, "burstLimit": 8}
    assert {k: int(v) if k == "limit" else v for k, v in changed["quota"].items()} == {"limit": 500, "period": "WEEK"}
    assert changed["apiStages"] == [{"apiId": api_id, "stage": "ci"}]
    assert len(apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]) == 1
    stage = apigateway.get_stage(restApiId=api_id, stageName="ci")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 5
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 8

    undeployed = zappa.gateway("undeploy", "ci", "--yes")
    assert f"usage plan {plan['id']} (turbine-status-ci) removed" in undeployed and "Done!" in undeployed
    assert "leaves the usage plan" not in undeployed
    assert_nothing_left(apigateway, aws)


def test_iam_authorization_and_cleanup_after_a_plain_undeploy(zappa: Zappa, apigateway: Any, aws: str) -> None:
    zappa.stage(iam_authorization=True, api_gateway=LIMITS)
    zappa("deploy", "ci")
    found = methods(apigateway, rest_api_id(apigateway))
    for path in ("/", "/{proxy+}"):
        assert found[path, "ANY"]["authorizationType"] == "AWS_IAM"
        assert found[path, "ANY"]["apiKeyRequired"] is False
        assert found[path, "OPTIONS"]["authorizationType"] == "NONE"

    assert "python deploy/gateway.py cleanup ci removes it" in zappa("undeploy", "ci", "--yes")
    assert len(our_plans(apigateway)) == 1  # what Zappa alone leaves behind
    assert "removed" in zappa.gateway("cleanup", "ci")
    assert_nothing_left(apigateway, aws)


def test_cognito_user_pool_authorizer(zappa: Zappa, apigateway: Any, aws: str, tmp_path: Path) -> None:
    cognito = boto3.client("cognito-idp", endpoint_url=aws, region_name="eu-west-1")
    pool_arn = cognito.create_user_pool(PoolName="turbine-status-users")["UserPool"]["Arn"]
    authorizer = {"type": "COGNITO_USER_POOLS", "provider_arns": [pool_arn]}
    zappa.stage(authorizer=authorizer, api_gateway=LIMITS)
    zappa("deploy", "ci")
    found = methods(apigateway, rest_api_id(apigateway))
    for path in ("/", "/{proxy+}"):
        assert found[path, "ANY"]["authorizationType"] == "COGNITO_USER_POOLS"
        assert found[path, "OPTIONS"]["authorizationType"] == "NONE"

    # moto's CloudFormation skips AWS::ApiGateway::Authorizer, so the authorizer is read from the template Zappa
    # builds for the stage (the one deploy sent): the user pool, the header the ID token comes in, and its use.
    template_file = tmp_path / "template.json"
    lambda_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{NAME}"
    role = "arn:aws:iam::123456789012:role/turbine-status-ci-ZappaLambdaExecutionRole"
    zappa("template", "ci", "-l", lambda_arn, "-r", role, "-o", str(template_file))
    resources = json.loads(template_file.read_text())["Resources"]
    assert resources["Authorizer"]["Properties"]["ProviderARNs"] == [pool_arn]
    assert resources["Authorizer"]["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    assert resources["ANY0"]["Properties"]["AuthorizerId"] == {"Ref": "Authorizer"}

    zappa.gateway("undeploy", "ci", "--yes")
    assert_nothing_left(apigateway, aws)


def test_dev_and_prod_side_by_side(zappa: Zappa, apigateway: Any, aws: str) -> None:
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    zappa.stage()
    stages = json.loads(zappa.settings_file.read_text())
    stages["ciprod"] = {**settings["prod"], "extends": "ci", "s3_bucket": "turbine-status-ci"}
    zappa.settings_file.write_text(json.dumps(stages))
    zappa("deploy", "ci")
    zappa("deploy", "ciprod")

    apis = {a["name"]: a["id"] for a in apigateway.get_rest_apis()["items"]}
    plans = {p["name"]: p for p in apigateway.get_usage_plans()["items"]}
    assert set(plans) == {"turbine-status-ci", "turbine-status-ciprod"}
    for stage, declared in (("ci", settings["dev"]), ("ciprod", settings["prod"])):
        plan = plans[f"turbine-status-{stage}"]
        limits = declared["api_gateway"]
        assert plan["apiStages"] == [{"apiId": apis[f"turbine-status-{stage}"], "stage": stage}]
        assert plan["throttle"] == {
            "rateLimit": limits["throttle"]["rate_limit"],
            "burstLimit": limits["throttle"]["burst_limit"],
        }
        assert plan.get("quota") == limits.get("quota")
        keys = apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
        assert len(keys) == (1 if declared["api_key_required"] else 0)
        root = methods(apigateway, apis[f"turbine-status-{stage}"])["/", "ANY"]
        assert root["apiKeyRequired"] is declared["api_key_required"]

    zappa.gateway("undeploy", "ciprod", "--yes")
    zappa.gateway("undeploy", "ci", "--yes")
    assert_nothing_left(apigateway, aws)


def test_bad_limits_stop_zappa_before_anything_is_made(zappa: Zappa, aws: str) -> None:
    zappa.stage(api_gateway={"throttle": {"rate_limit": 10, "burst_limit": 2.5}})
    output = zappa("deploy", "ci", ok=False)
    assert "api_gateway.throttle.burst_limit must be a whole number, got 2.5" in output
    zappa.stage(cors=True)
    assert '"cors" must stay false' in zappa("deploy", "ci", ok=False)
    functions = boto3.client("lambda", endpoint_url=aws, region_name="eu-west-1").list_functions()
    assert functions["Functions"] == []


def test_the_callbacks_stay_out_of_the_lambda_package(package: Path) -> None:
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    assert settings["dev"]["callbacks"]["post"] == "deploy.callbacks.post"
    with zipfile.ZipFile(package) as z:
        assert not [n for n in z.namelist() if n.startswith("deploy/")]
        assert b"deploy." not in z.read("zappa_settings.py")  # what the handler reads at run time


CAPTURE = {"bucket": "turbine-status-ci-capture", "prefix": "capture"}


def logged_record(capsys: pytest.CaptureFixture[str]) -> str:
    """The line the function writes for a scored request with CAPTURE_URI=log:."""
    from app import create_app

    app = create_app({"CAPTURE_URI": "log:", "ACCESS_LOG": False})
    app.test_client().post("/", data="TID008,VAWT,64,80,46.0,21,55,55,7,34,NE", content_type="text/csv")
    (line,) = capsys.readouterr().out.splitlines()
    return line


def test_capture_on_lambda_is_a_log_subscription_to_a_firehose_stream_into_s3(
    zappa: Zappa, aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What deploy makes, and a captured line's way from the log group to S3. moto delivers the log events as
    CloudWatch Logs sends them to Firehose (a gzipped batch, every event of the group): it does not run the
    stream's processors, which on AWS unpack them to the filtered lines. The report reads either."""
    from deploy.capture import FILTER_PATTERN

    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    environment = {**settings["dev"]["environment_variables"], "CAPTURE_URI": "log:"}
    zappa.stage(capture=CAPTURE, environment_variables=environment)
    deployed = zappa("deploy", "ci")
    stream = "turbine-status-ci-capture"
    assert (
        f"capture: delivery stream created: {stream} -> s3://{CAPTURE['bucket']}/capture/lambda/turbine-status-ci/"
        in deployed
    )
    assert "capture: bucket created: turbine-status-ci-capture" in deployed

    clients = {s: boto3.client(s, endpoint_url=aws, region_name="eu-west-1") for s in ("firehose", "logs", "s3", "iam")}
    described = clients["firehose"].describe_delivery_stream(DeliveryStreamName=stream)["DeliveryStreamDescription"]
    destination = described["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert destination["BucketARN"] == f"arn:aws:s3:::{CAPTURE['bucket']}"
    assert destination["Prefix"] == "capture/lambda/turbine-status-ci/!{timestamp:yyyy/MM/dd/HH}/"
    processors = [p["Type"] for p in destination["ProcessingConfiguration"]["Processors"]]
    assert processors == ["Decompression", "CloudWatchLogProcessing", "AppendDelimiterToRecord"]
    group = "/aws/lambda/turbine-status-ci"
    [subscription] = clients["logs"].describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert subscription["filterPattern"] == FILTER_PATTERN
    assert subscription["destinationArn"] == described["DeliveryStreamARN"]
    assert "capture: turbine-status-ci: already as declared, nothing changed" in zappa("update", "ci")

    line = logged_record(capsys)
    clients["logs"].create_log_stream(logGroupName=group, logStreamName="2026/12/04/[$LATEST]ci")
    access = json.dumps({"level": "INFO", "method": "POST", "route": "/", "status": 200})
    events = [{"timestamp": 1_796_000_000_000, "message": m} for m in (line, access)]
    clients["logs"].put_log_events(logGroupName=group, logStreamName="2026/12/04/[$LATEST]ci", logEvents=events)
    [stored] = clients["s3"].list_objects_v2(Bucket=CAPTURE["bucket"], Prefix="capture/lambda/")["Contents"]

    out = tmp_path / "report"
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "app",
            "monitor",
            "--capture",
            f"s3://{CAPTURE['bucket']}/capture",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**zappa.env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode in (0, 3), report.stdout + report.stderr
    found = json.loads((out / "report.json").read_text())
    assert found["records"]["predictions"] == 1, stored["Key"]

    removed = zappa.capture("remove", "ci")
    assert f"capture: delivery stream removed: {stream}" in removed
    assert "capture: role removed: turbine-status-ci-capture-logs" in removed
    assert clients["logs"].describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
    assert clients["firehose"].list_delivery_streams()["DeliveryStreamNames"] == []
    assert clients["s3"].list_objects_v2(Bucket=CAPTURE["bucket"])["KeyCount"] == 1  # the data stays
    zappa("undeploy", "ci", "--yes")


def test_the_monitor_stage_deploys_the_report_on_a_schedule_without_an_api(zappa: Zappa, aws: str) -> None:
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    monitor = {k: v for k, v in settings["monitor"].items() if k not in ("extends", "s3_bucket")}
    zappa.stage(**monitor)
    zappa("deploy", "ci")
    events = boto3.client("events", endpoint_url=aws, region_name="eu-west-1")
    function = boto3.client("lambda", endpoint_url=aws, region_name="eu-west-1").get_function(FunctionName=NAME)
    scheduled = [rule for rule in events.list_rules()["Rules"] if rule.get("ScheduleExpression") == "rate(1 day)"]
    [rule] = scheduled
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == function["Configuration"]["FunctionArn"]
    assert "app.monitoring.scheduled.run" in rule["Name"] + rule.get("Description", "") + target.get("Input", "")
    apis = boto3.client("apigateway", endpoint_url=aws, region_name="eu-west-1").get_rest_apis()["items"]
    assert [a for a in apis if a["name"] == NAME] == []
    zappa("undeploy", "ci", "--yes")
    assert [r for r in events.list_rules()["Rules"] if r.get("ScheduleExpression") == "rate(1 day)"] == []
