"""API Gateway settings Zappa does not make: a stage's usage plan, its key, stage throttling and key-free preflights.

Zappa runs `settings` and `post` below as callbacks (zappa_settings.json: "callbacks") on `zappa deploy` and
`zappa update`; each step reads what is there first and changes only what differs, so a second run changes
nothing. Zappa has no undeploy hook, so this file is also the command that removes what it made:

    python deploy/gateway.py undeploy dev     # our usage plan, then `zappa undeploy dev`
    python deploy/gateway.py cleanup dev      # only our usage plan, after a plain `zappa undeploy dev`

Zappa loads this file by path from the project folder when it deploys; it is never in the Lambda package.
It imports only the standard library at the top: Zappa passes its own boto3 clients in.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Our key in a stage of zappa_settings.json; Zappa ignores keys it does not know.
SETTING = "api_gateway"
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")
# Marks the usage plans this file made, so cleanup never touches one made by hand with the same name.
MANAGED_TAG = ("managed-by", "turbine-status/deploy/gateway.py")
PREFLIGHT = "OPTIONS"


class SettingsError(ValueError):
    """The stage's api_gateway setting has a value API Gateway cannot take."""


@dataclass(frozen=True)
class Limits:
    """What a stage promises its callers: steady and burst request rates, and an optional quota per period."""

    rate_limit: float
    burst_limit: int
    quota_limit: int | None = None
    quota_period: str | None = None


def _number(where: str, value: Any, whole: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SettingsError(f"{where} must be a positive number, got {value!r}")
    if whole and not float(value).is_integer():
        raise SettingsError(f"{where} must be a whole number, got {value!r}")
    return float(value)


def limits_from(stage_config: Mapping[str, Any]) -> Limits | None:
    """The stage's limits, or None when it declares none; raises SettingsError naming the bad value."""
    block = stage_config.get(SETTING)
    if block is None:
        return None
    if not isinstance(block, dict) or not isinstance(block.get("throttle"), dict):
        raise SettingsError(f'{SETTING} must hold "throttle": {{"rate_limit": ..., "burst_limit": ...}}')
    unknown = set(block) - {"throttle", "quota"}
    if unknown:
        raise SettingsError(f"{SETTING} has unknown keys: {', '.join(sorted(unknown))}")
    throttle = block["throttle"]
    rate = _number(f"{SETTING}.throttle.rate_limit", throttle.get("rate_limit"), whole=False)
    burst = int(_number(f"{SETTING}.throttle.burst_limit", throttle.get("burst_limit"), whole=True))
    quota = block.get("quota")
    if quota is None:
        return Limits(rate, burst)
    if not isinstance(quota, dict):
        raise SettingsError(f'{SETTING}.quota must hold "limit" and "period"')
    limit = int(_number(f"{SETTING}.quota.limit", quota.get("limit"), whole=True))
    period = quota.get("period")
    if period not in QUOTA_PERIODS:
        raise SettingsError(f"{SETTING}.quota.period must be one of {', '.join(QUOTA_PERIODS)}, got {period!r}")
    return Limits(rate, burst, limit, period)


def _text(number: float) -> str:
    """A patch value as API Gateway reads it: 10, not 10.0."""
    return f"{number:g}"


def _pages(call: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paged API Gateway listing."""
    position = None
    while True:
        page = call(**kwargs, limit=500, **({"position": position} if position else {}))
        yield from page.get("items", [])
        position = page.get("position")
        if not position:
            return


def ensure_preflights(client: Any, api_id: str) -> list[str]:
    """Give every resource with an ANY method an OPTIONS method that needs no key or authorization and reaches
    the app, so browsers' preflights (which never carry keys or credentials) get the app's CORS answer."""
    changes = []
    for resource in _pages(client.get_resources, restApiId=api_id):
        methods = resource.get("resourceMethods") or {}
        if "ANY" not in methods:
            continue
        rid = resource["id"]
        if PREFLIGHT in methods:
            current = client.get_method(restApiId=api_id, resourceId=rid, httpMethod=PREFLIGHT)
            if current["authorizationType"] == "NONE" and not current.get("apiKeyRequired"):
                continue
            client.delete_method(restApiId=api_id, resourceId=rid, httpMethod=PREFLIGHT)
        target = client.get_integration(restApiId=api_id, resourceId=rid, httpMethod="ANY")
        client.put_method(
            restApiId=api_id, resourceId=rid, httpMethod=PREFLIGHT, authorizationType="NONE", apiKeyRequired=False
        )
        client.put_integration(
            restApiId=api_id,
            resourceId=rid,
            httpMethod=PREFLIGHT,
            type=target["type"],
            integrationHttpMethod=target["httpMethod"],
            uri=target["uri"],
            **({"credentials": target["credentials"]} if target.get("credentials") else {}),
        )
        changes.append(f"{PREFLIGHT} {resource['path']}: no key or authorization, answered by the app")
    return changes


def ensure_stage_throttle(client: Any, api_id: str, stage: str, limits: Limits) -> list[str]:
    """Set the stage's default method throttling (every resource and method) to the limits."""
    settings = client.get_stage(restApiId=api_id, stageName=stage).get("methodSettings", {}).get("*/*", {})
    ops = []
    if settings.get("throttlingRateLimit") != limits.rate_limit:
        ops.append({"op": "replace", "path": "/*/*/throttling/rateLimit", "value": _text(limits.rate_limit)})
    if settings.get("throttlingBurstLimit") != limits.burst_limit:
        ops.append({"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(limits.burst_limit)})
    if not ops:
        return []
    client.update_stage(restApiId=api_id, stageName=stage, patchOperations=ops)
    return [f"stage {stage} throttling: {_text(limits.rate_limit)} requests/s, burst {limits.burst_limit}"]


def _managed(plan: Mapping[str, Any]) -> bool:
    name, value = MANAGED_TAG
    return bool((plan.get("tags") or {}).get(name) == value)


def find_plans(client: Any, name: str) -> list[dict[str, Any]]:
    """The usage plans this file made under that name."""
    return [p for p in _pages(client.get_usage_plans) if p.get("name") == name and _managed(p)]


def _plan_patch(plan: Mapping[str, Any], api_id: str, stage: str, limits: Limits) -> list[dict[str, str]]:
    """The patch operations that bring an existing plan to the limits and to this API's stage alone."""
    ops = []
    throttle = plan.get("throttle") or {}
    if float(throttle.get("rateLimit", -1)) != limits.rate_limit:
        ops.append({"op": "replace", "path": "/throttle/rateLimit", "value": _text(limits.rate_limit)})
    if int(throttle.get("burstLimit", -1)) != limits.burst_limit:
        ops.append({"op": "replace", "path": "/throttle/burstLimit", "value": str(limits.burst_limit)})
    quota = plan.get("quota") or {}
    if limits.quota_limit is None:
        if quota:
            ops.append({"op": "remove", "path": "/quota"})
    else:
        if int(quota.get("limit", -1)) != limits.quota_limit:
            ops.append({"op": "replace", "path": "/quota/limit", "value": str(limits.quota_limit)})
        if quota.get("period") != limits.quota_period:
            ops.append({"op": "replace", "path": "/quota/period", "value": str(limits.quota_period)})
    bound = {(s["apiId"], s["stage"]) for s in plan.get("apiStages") or []}
    # A stage of an API that no longer exists (undeployed by hand, then deployed again) is dropped.
    ops += [{"op": "remove", "path": "/apiStages", "value": f"{a}:{s}"} for a, s in sorted(bound - {(api_id, stage)})]
    if (api_id, stage) not in bound:
        ops.append({"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage}"})
    return ops


def ensure_usage_plan(client: Any, name: str, api_id: str, stage: str, limits: Limits) -> tuple[str, list[str]]:
    """The id of the one usage plan for the stage, with the limits, created or brought up to date."""
    described = f"{name}: {_text(limits.rate_limit)} requests/s, burst {limits.burst_limit}" + (
        f", {limits.quota_limit} per {limits.quota_period}" if limits.quota_limit else ", no quota"
    )
    plans = find_plans(client, name)
    if not plans:
        quota = {"quota": {"limit": limits.quota_limit, "period": limits.quota_period}} if limits.quota_limit else {}
        plan = client.create_usage_plan(
            name=name,
            description=f"Limits of the {stage} stage, from zappa_settings.json",
            apiStages=[{"apiId": api_id, "stage": stage}],
            throttle={"rateLimit": limits.rate_limit, "burstLimit": limits.burst_limit},
            tags=dict([MANAGED_TAG]),
            **quota,
        )
        return str(plan["id"]), [f"usage plan created: {described}"]
    keep, *extra = plans
    changes = []
    for plan in extra:  # left by an interrupted run: one plan per stage, or the limits would be ambiguous
        remove_plan(client, plan)
        changes.append(f"usage plan {plan['id']} removed: a second plan for {name}")
    ops = _plan_patch(keep, api_id, stage, limits)
    if ops:
        client.update_usage_plan(usagePlanId=keep["id"], patchOperations=ops)
        changes.append(f"usage plan updated: {described}")
    return str(keep["id"]), changes


def stage_key_id(client: Any, api_id: str, stage: str, configured: str | None) -> str | None:
    """The stage's API key: the one named in the settings ("api_key"), else the one Zappa made for the stage."""
    if configured:
        return configured
    zappa_name = f"{stage}_{api_id}"  # how Zappa names the key it creates
    keys = _pages(client.get_api_keys, nameQuery=zappa_name)
    return next((str(k["id"]) for k in keys if k.get("name") == zappa_name), None)


def ensure_plan_key(client: Any, plan_id: str, key_id: str) -> list[str]:
    """Put the key in the plan; other keys in it (added for other callers) stay."""
    if any(k["id"] == key_id for k in _pages(client.get_usage_plan_keys, usagePlanId=plan_id)):
        return []
    client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    return [f"API key {key_id} added to the usage plan"]


def configure(
    client: Any, name: str, api_id: str, stage: str, limits: Limits, key_required: bool, key: str | None
) -> list[str]:
    """Bring the API's stage to the limits; returns what changed, empty when nothing had to."""
    changes = ensure_preflights(client, api_id)
    if changes:
        # New methods serve only once deployed. Before the throttling: a deployment may reset stage settings.
        client.create_deployment(restApiId=api_id, stageName=stage, description="key-free preflights")
    changes += ensure_stage_throttle(client, api_id, stage, limits)
    plan_id, plan_changes = ensure_usage_plan(client, name, api_id, stage, limits)
    changes += plan_changes
    key_id = stage_key_id(client, api_id, stage, key) if key_required else None
    if key_required and key_id is None:
        raise SettingsError(f"api_key_required is set but no API key was found for {api_id}/{stage}")
    if key_id:
        changes += ensure_plan_key(client, plan_id, key_id)
    return changes


def remove_plan(client: Any, plan: Mapping[str, Any]) -> None:
    """Delete a usage plan; API Gateway wants its stages unbound first. Its keys themselves stay."""
    bound = plan.get("apiStages") or []
    stages = [{"op": "remove", "path": "/apiStages", "value": f"{s['apiId']}:{s['stage']}"} for s in bound]
    if stages:
        client.update_usage_plan(usagePlanId=plan["id"], patchOperations=stages)
    client.delete_usage_plan(usagePlanId=plan["id"])


def remove(client: Any, name: str) -> list[str]:
    """Delete the usage plans this file made for the stage; stage settings and methods go with Zappa's stack."""
    removed = []
    for plan in find_plans(client, name):
        remove_plan(client, plan)
        removed.append(f"usage plan {plan['id']} ({name}) removed")
    return removed


def _report(changes: list[str]) -> None:
    for change in changes:
        print(f"api_gateway: {change}")


def settings(zappa_cli: Any) -> None:
    """Zappa "settings" callback, before every command: refuse bad limits before anything is built or sent."""
    try:
        limits = limits_from(zappa_cli.stage_config)
        if limits and zappa_cli.apigateway_version != "v1":
            raise SettingsError("usage plans and stage throttling need a REST API: apigateway_version v1")
        if limits and zappa_cli.cors:
            # Zappa's cors makes OPTIONS methods of its own, which would clash with ours.
            raise SettingsError('"cors" must stay false: preflights go to the app, which answers with CORS_ORIGINS')
    except SettingsError as error:
        raise SystemExit(f"zappa_settings.json, stage {zappa_cli.api_stage}: {error}") from None
    if zappa_cli.command == "undeploy" and find_plans(zappa_cli.zappa.apigateway_client, zappa_cli.lambda_name):
        print(
            f"api_gateway: zappa undeploy leaves the usage plan {zappa_cli.lambda_name}; "
            f"python deploy/gateway.py cleanup {zappa_cli.api_stage} removes it afterwards."
        )


def post(zappa_cli: Any) -> None:
    """Zappa "post" callback, at the end of deploy and update: apply the stage's limits to its API."""
    limits = limits_from(zappa_cli.stage_config)
    if limits is None or not zappa_cli.use_apigateway:
        return
    zappa = zappa_cli.zappa
    api_id = zappa.get_api_id(zappa_cli.lambda_name)
    if not api_id:  # Zappa skips the API when its stack is missing, and says to deploy again
        _report([f"no API for {zappa_cli.lambda_name}: limits not applied"])
        return
    changes = configure(
        zappa.apigateway_client,
        zappa_cli.lambda_name,
        api_id,
        zappa_cli.api_stage,
        limits,
        bool(zappa_cli.api_key_required),
        zappa_cli.api_key,
    )
    _report(changes or [f"{zappa_cli.lambda_name}: already as declared, nothing changed"])


def _zappa_cli(stage: str, settings_file: Path | None) -> Any:
    """Zappa's own reading of the settings (extends, project name, region, profile) and its boto3 clients."""
    from zappa.cli import ZappaCLI  # the deploy virtualenv's; only this command needs it

    cli = ZappaCLI()
    cli.api_stage = stage
    cli.load_settings(str(settings_file) if settings_file else None)
    return cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Remove what deploy/gateway.py made for a stage.")
    parser.add_argument("command", choices=("undeploy", "cleanup"), help="undeploy: ours, then zappa undeploy")
    parser.add_argument("stage", help="a stage of zappa_settings.json")
    parser.add_argument("-s", "--settings_file", type=Path, help="default: zappa_settings.json here")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)
    if args.command == "undeploy" and not args.yes:
        if input(f"Undeploy {args.stage} and remove its usage plan? [y/n] ") != "y":
            return 1
    cli = _zappa_cli(args.stage, args.settings_file)
    _report(remove(cli.zappa.apigateway_client, cli.lambda_name) or [f"no usage plan of ours for {cli.lambda_name}"])
    if args.command == "cleanup":
        return 0
    zappa = Path(sys.executable).parent / "zappa"
    settings_args = ["-s", str(args.settings_file)] if args.settings_file else []
    return subprocess.run([str(zappa), "undeploy", args.stage, "--yes", *settings_args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
