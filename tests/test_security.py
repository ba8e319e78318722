"""API keys, rate limits (in memory and in a real Redis) and security headers."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.web.security import hash_key
from tests.conftest import SAMPLE, serve_on_loopback

ROOT = Path(__file__).resolve().parent.parent

KEY = "correct-horse-battery-staple"
ORIGIN = "https://dashboard.example"


@pytest.fixture
def keyed() -> FlaskClient:
    return create_app(
        {"API_KEYS": (hash_key("another-key"), hash_key(KEY)), "RATELIMIT_DEFAULT": "100/minute"}
    ).test_client()


def post(client: FlaskClient, headers: dict[str, str] | None = None) -> object:
    return client.post("/", data=SAMPLE, content_type="text/csv", headers=headers or {})


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": hash_key(KEY)}])
def test_missing_or_wrong_keys_get_a_401(keyed: FlaskClient, headers: dict[str, str]) -> None:
    response = keyed.post(
        "/v1/predictions", data=SAMPLE, content_type="text/csv", headers={**headers, "Origin": ORIGIN}
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert keyed.get("/v1/model", headers=headers).status_code == 401


def test_a_listed_key_is_accepted(keyed: FlaskClient) -> None:
    assert post(keyed, {"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/v1/model", headers={"X-API-Key": KEY}).status_code == 200


@pytest.mark.parametrize("path", ["/ping", "/", "/static/app.js", "/openapi.json", "/docs", "/docs/swagger-ui.css"])
def test_health_page_assets_and_docs_stay_open(keyed: FlaskClient, path: str) -> None:
    with keyed.get(path) as response:
        assert response.status_code == 200


def test_preflight_needs_no_key(keyed: FlaskClient) -> None:
    response = keyed.options(
        "/",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert response.status_code == 200
    assert "x-api-key" in response.headers["Access-Control-Allow-Headers"].lower()


def test_keys_are_never_logged(keyed: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    post(keyed, {"X-API-Key": KEY})
    post(keyed, {"X-API-Key": "wrong-key-value"})
    logged = capsys.readouterr().err
    assert logged.count('"request_id"') == 2
    assert KEY not in logged and "wrong-key-value" not in logged and hash_key(KEY) not in logged


def test_hash_key_command() -> None:
    runner = create_app().test_cli_runner()
    result = runner.invoke(args=["hash-key"], input=f"{KEY}\n")
    assert result.exit_code == 0
    assert f"hash: {hash_key(KEY)}" in result.output and KEY not in result.output
    generated = runner.invoke(args=["hash-key", "--generate"])
    key = generated.output.split("key:")[1].split()[0]
    assert f"hash: {hash_key(key)}" in generated.output


def test_rate_limit_answers_429_json_with_retry_after() -> None:
    client = create_app({"RATELIMIT_DEFAULT": "3 per minute"}).test_client()
    statuses = [post(client, {"Origin": ORIGIN}).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = post(client, {"Origin": ORIGIN})
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/ping").status_code == 200  # health stays open


def statuses(client: FlaskClient, count: int, keys: list[str | None], **environ: str) -> list[int]:
    """POST / `count` times, the i-th with keys[i % len(keys)] as X-API-Key (None: no key)."""
    sent = [keys[i % len(keys)] for i in range(count)]
    return [
        client.post(
            "/", data=SAMPLE, content_type="text/csv", headers={"X-API-Key": k} if k else {}, environ_base=environ
        ).status_code
        for k in sent
    ]


def test_invented_keys_count_against_the_address_that_sent_them() -> None:
    client = create_app({"RATELIMIT_DEFAULT": "3/minute"}).test_client()
    assert statuses(client, 6, [f"made-up-{i}" for i in range(6)]) == [200, 200, 200, 429, 429, 429]


def test_wrong_keys_are_limited_too() -> None:
    client = create_app({"API_KEYS": (hash_key(KEY),), "RATELIMIT_DEFAULT": "3/minute"}).test_client()
    assert statuses(client, 5, [f"guess-{i}" for i in range(5)]) == [401, 401, 401, 429, 429]
    # The guesses used up their address's budget, not the real key's.
    assert statuses(client, 1, [KEY]) == [200]


def test_two_real_keys_have_budgets_of_their_own() -> None:
    client = create_app(
        {"API_KEYS": (hash_key(KEY), hash_key("another-key")), "RATELIMIT_DEFAULT": "2/minute"}
    ).test_client()
    assert statuses(client, 3, [KEY]) == [200, 200, 429]
    assert statuses(client, 3, ["another-key"]) == [200, 200, 429]


@pytest.mark.parametrize(("hops", "separated"), [(1, True), (0, False)])
def test_forwarded_addresses_count_only_behind_trusted_proxies(hops: int, separated: bool) -> None:
    client = create_app({"RATELIMIT_DEFAULT": "2/minute", "TRUSTED_PROXY_HOPS": hops}).test_client()
    first = statuses(client, 2, [None], HTTP_X_FORWARDED_FOR="198.51.100.7")
    other = statuses(client, 2, [None], HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert first == [200, 200]
    assert other == ([200, 200] if separated else [429, 429])


def test_one_proxy_hop_trusts_only_the_address_that_proxy_appended() -> None:
    """A client that writes its own X-Forwarded-For cannot pick its address: the proxy appends the real one."""
    client = create_app({"RATELIMIT_DEFAULT": "2/minute", "TRUSTED_PROXY_HOPS": 1}).test_client()
    forged = [f"10.0.0.{i}, 198.51.100.7" for i in range(3)]
    answers = [statuses(client, 1, [None], HTTP_X_FORWARDED_FOR=value)[0] for value in forged]
    assert answers == [200, 200, 429]


def test_one_budget_across_the_scoring_routes() -> None:
    client = create_app({"RATELIMIT_DEFAULT": "3/minute"}).test_client()
    answers = [
        client.post(path, data=SAMPLE, content_type="text/csv").status_code
        for path in ("/", "/v1/predictions", "/", "/v1/predictions")
    ]
    assert answers == [200, 200, 200, 429]


def test_the_429_says_the_limit_when_to_retry_and_who_was_counted() -> None:
    client = create_app({"API_KEYS": (hash_key(KEY),), "RATELIMIT_DEFAULT": "1/minute"}).test_client()
    statuses(client, 1, [KEY])
    by_key = post(client, {"X-API-Key": KEY})
    statuses(client, 1, [None])
    by_address = post(client)
    said = re.fullmatch(
        rf"Rate limit of 1 per 1 minute used up for API key sha256:{hash_key(KEY)[:12]}; retry in (\d+) s\.",
        by_key.get_json()["message"],
    )
    assert said and abs(int(said[1]) - int(by_key.headers["Retry-After"])) <= 1  # the header rounds down
    assert by_address.get_json()["message"].startswith("Rate limit of 1 per 1 minute used up for address 127.0.0.1;")


def test_answers_other_than_429_carry_no_retry_after() -> None:
    response = post(create_app({"RATELIMIT_DEFAULT": "600 per minute"}).test_client())
    assert "Retry-After" not in response.headers and "X-Limiter-Retry-After" not in response.headers
    assert response.headers["X-RateLimit-Limit"] == "600"


def test_no_rate_limit_unless_configured(client: FlaskClient) -> None:
    assert [post(client).status_code for _ in range(50)] == [200] * 50
    assert "X-RateLimit-Limit" not in post(client).headers


@pytest.mark.parametrize(
    ("config", "loaded"),
    [({}, []), ({"RATELIMIT_DEFAULT": "5 per minute"}, ["flask_limiter", "limits"])],
)
def test_rate_limiting_is_imported_only_when_a_limit_is_set(config: dict[str, str], loaded: list[str]) -> None:
    """A start-up without limits (a Lambda cold start, say) does not pay for flask-limiter, limits or redis."""
    names = {"flask_limiter", "limits", "redis"}
    code = (
        f"import sys; from app import create_app; create_app({config!r}); print(sorted(set(sys.modules) & {names!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == repr(loaded)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real redis-server on loopback, started for the test."""
    command = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--port"]
    for port in serve_on_loopback(command):
        yield f"redis://127.0.0.1:{port}"


def test_redis_storage_shares_limits_between_workers(redis_url: str) -> None:
    settings = {"RATELIMIT_DEFAULT": "4 per minute", "RATELIMIT_STORAGE_URI": redis_url}
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    statuses = [post(c).status_code for c in (first, second, first, second, first, second)]
    assert statuses == [200, 200, 200, 200, 429, 429]


@pytest.mark.parametrize("path", ["/", "/ping", "/nowhere", "/static/app.js"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
