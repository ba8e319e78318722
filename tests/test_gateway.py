"""deploy/gateway.py on its own: the limits it accepts, and what `configure` and `remove` do to an API shaped as
Zappa makes it, on moto in process. The same code under `zappa deploy` is tests/test_deploy.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy.gateway import MANAGED_TAG, Limits, SettingsError, configure, find_plans, limits_from, remove

NAME = "turbine-status-dev"
LAMBDA_URI = (
    "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:eu-west-1:123456789012:function:turbine-status-dev/invocations"
)
LIMITS = Limits(rate_limit=10, burst_limit=20, quota_limit=1000, quota_period="DAY")


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("apigateway", region_name="eu-west-1")


def zappa_like_api(client: Any, key_required: bool = True) -> str:
    """A REST API as Zappa's template makes it: ANY on / and /{proxy+} to the function, deployed to dev."""
    api_id = str(client.create_rest_api(name=NAME)["id"])
    [root] = client.get_resources(restApiId=api_id)["items"]
    proxy = client.create_resource(restApiId=api_id, parentId=root["id"], pathPart="{proxy+}")
    for resource_id in (root["id"], proxy["id"]):
        client.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="ANY",
            authorizationType="NONE",
            apiKeyRequired=key_required,
        )
        client.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="ANY",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=LAMBDA_URI,
        )
    client.create_deployment(restApiId=api_id, stageName="dev")
    if key_required:
        client.create_api_key(name=f"dev_{api_id}", enabled=True)  # Zappa's name for the stage's key
    return api_id


def test_configure_twice_changes_nothing_the_second_time(client: Any) -> None:
    api_id = zappa_like_api(client)
    first = configure(client, NAME, api_id, "dev", LIMITS, key_required=True, key=None)
    assert len(first) == 5 and first[2] == "stage dev throttling: 10 requests/s, burst 20"
    plans = find_plans(client, NAME)

    assert configure(client, NAME, api_id, "dev", LIMITS, key_required=True, key=None) == []
    assert find_plans(client, NAME) == plans
    [plan] = plans
    [key] = client.get_api_keys()["items"]
    assert [k["id"] for k in client.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]
    settings = client.get_stage(restApiId=api_id, stageName="dev")["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (10, 20)


def test_new_limits_change_the_same_plan(client: Any) -> None:
    api_id = zappa_like_api(client)
    configure(client, NAME, api_id, "dev", LIMITS, key_required=True, key=None)
    [before] = find_plans(client, NAME)
    changes = configure(client, NAME, api_id, "dev", Limits(5, 8), key_required=True, key=None)
    assert changes == [
        "stage dev throttling: 5 requests/s, burst 8",
        "usage plan updated: turbine-status-dev: 5 requests/s, burst 8, no quota",
    ]
    [after] = find_plans(client, NAME)
    assert after["id"] == before["id"]
    assert after["throttle"] == {"rateLimit": 5, "burstLimit": 8}
    assert "quota" not in after


def test_a_plan_left_on_an_old_api_is_moved_to_the_new_one(client: Any) -> None:
    old = zappa_like_api(client, key_required=False)
    configure(client, NAME, old, "dev", LIMITS, key_required=False, key=None)
    new = zappa_like_api(client, key_required=False)
    assert configure(client, NAME, new, "dev", LIMITS, key_required=False, key=None)[-1].startswith(
        "usage plan updated"
    )
    [plan] = find_plans(client, NAME)
    assert plan["apiStages"] == [{"apiId": new, "stage": "dev"}]


def test_preflights_need_no_key_and_reach_the_function(client: Any) -> None:
    api_id = zappa_like_api(client)
    configure(client, NAME, api_id, "dev", LIMITS, key_required=True, key=None)
    for resource in client.get_resources(restApiId=api_id)["items"]:
        options = client.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="OPTIONS")
        assert options["apiKeyRequired"] is False and options["authorizationType"] == "NONE"
        assert options["methodIntegration"]["uri"] == LAMBDA_URI


def test_a_required_key_that_cannot_be_found_is_an_error(client: Any) -> None:
    api_id = zappa_like_api(client, key_required=False)
    with pytest.raises(SettingsError, match="no API key was found"):
        configure(client, NAME, api_id, "dev", LIMITS, key_required=True, key=None)


def test_remove_deletes_only_our_plans(client: Any) -> None:
    api_id = zappa_like_api(client)
    configure(client, NAME, api_id, "dev", LIMITS, key_required=True, key=None)
    by_hand = client.create_usage_plan(name=NAME, apiStages=[{"apiId": api_id, "stage": "dev"}])
    assert len(remove(client, NAME)) == 1
    assert [p["id"] for p in client.get_usage_plans()["items"]] == [by_hand["id"]]
    assert remove(client, NAME) == []
    assert len(client.get_api_keys()["items"]) == 1  # the key is Zappa's to delete


def test_the_plan_is_marked_as_ours(client: Any) -> None:
    api_id = zappa_like_api(client)
    configure(client, NAME, api_id, "dev", LIMITS, key_required=True, key=None)
    [plan] = client.get_usage_plans()["items"]
    assert plan["tags"] == dict([MANAGED_TAG])


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (None, None),
        ({"throttle": {"rate_limit": 2.5, "burst_limit": 5}}, Limits(2.5, 5)),
        (
            {"throttle": {"rate_limit": 100, "burst_limit": 200}, "quota": {"limit": 10, "period": "WEEK"}},
            Limits(100, 200, 10, "WEEK"),
        ),
    ],
)
def test_limits_accepted(block: dict[str, Any] | None, expected: Limits | None) -> None:
    assert limits_from({} if block is None else {"api_gateway": block}) == expected


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({}, 'api_gateway must hold "throttle"'),
        ({"throttle": {"rate_limit": 10}}, "api_gateway.throttle.burst_limit must be a positive number, got None"),
        ({"throttle": {"rate_limit": 0, "burst_limit": 5}}, "rate_limit must be a positive number, got 0"),
        ({"throttle": {"rate_limit": True, "burst_limit": 5}}, "rate_limit must be a positive number, got True"),
        ({"throttle": {"rate_limit": 1, "burst_limit": 1.5}}, "burst_limit must be a whole number, got 1.5"),
        ({"throttle": {"rate_limit": 1, "burst_limit": 2}, "quota": 5}, 'quota must hold "limit" and "period"'),
        (
            {"throttle": {"rate_limit": 1, "burst_limit": 2}, "quota": {"limit": 9, "period": "YEAR"}},
            "period must be one of DAY, WEEK, MONTH, got 'YEAR'",
        ),
        ({"throttle": {"rate_limit": 1, "burst_limit": 2}, "keys": True}, "api_gateway has unknown keys: keys"),
    ],
)
def test_limits_refused(block: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        limits_from({"api_gateway": block})
