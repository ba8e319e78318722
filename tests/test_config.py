"""Settings from the environment or create_app(config): defaults, one set of parsers, refusal of unusable values
in one line, apps that keep their settings to themselves, and the reference rendered from the descriptions."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.config import DECLARED, GROUPS, SETTINGS, ConfigError, defaults, from_env, reference_markdown, resolve
from app.examples import ai4i
from app.web.security import hash_key
from tests.conftest import SAMPLE

ROOT = Path(__file__).resolve().parent.parent
DIGEST = hash_key("k")

# Each setting as the environment gives it, and as code may give it, with what either parses to.
BOTH_WAYS: dict[str, tuple[str, Any, Any]] = {
    "MODEL_BACKEND": ("sagemaker", "sagemaker", "sagemaker"),
    "MODEL_PATH": (" model.json ", "model.json", "model.json"),
    "TREES_NATIVE": ("on", True, True),
    "SAGEMAKER_ENDPOINT_NAME": ("ep", "ep", "ep"),
    "SAGEMAKER_REGION": ("eu-north-1", "eu-north-1", "eu-north-1"),
    "SCHEMA_PATH": ("s.json", "s.json", "s.json"),
    "SAGEMAKER_THRESHOLD": ("0.7", 0.7, 0.7),
    "CORS_ORIGINS": ("https://a.example,https://b.example", ["https://a.example", "https://b.example"], None),
    "MAX_CONTENT_LENGTH": ("1000", 1000, 1000),
    "MAX_ROWS": ("5", 5, 5),
    "MAX_EXPLAIN_ROWS": ("20", 20, 20),
    "API_KEYS": (DIGEST, (DIGEST,), None),
    "RATELIMIT_DEFAULT": ("5/minute", "5/minute", "5/minute"),
    "RATELIMIT_STORAGE_URI": ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
    "TRUSTED_PROXY_HOPS": ("1", 1, 1),
    "ACCESS_LOG": ("off", False, False),
    "LOG_LEVEL": ("DEBUG", "DEBUG", "DEBUG"),
    "METRICS": ("emf", "emf", "emf"),
    "PROMETHEUS_MULTIPROC_DIR": ("", "", ""),
    "CAPTURE_URI": (" s3://bucket/capture ", "s3://bucket/capture", "s3://bucket/capture"),
    "CAPTURE_SAMPLE": ("25", 25, 25),
    "CAPTURE_BUFFER": ("500", 500, 500),
    "INFERENCE_ID_SECRET": (" " + "k" * 32, "k" * 32, "k" * 32),
    "MONITOR_CAPTURE_URI": ("s3://b/capture", "s3://b/capture", "s3://b/capture"),
    "MONITOR_REPORT_URI": ("s3://b/reports/", "s3://b/reports/", "s3://b/reports/"),
    "MONITOR_HOURS": ("6", 6, 6),
    "SAGEMAKER_BASE_DIR": ("/srv/ml", "/srv/ml", "/srv/ml"),
    "SAGEMAKER_BIND_TO_PORT": ("9000", 9000, 9000),
    "SAGEMAKER_MODEL_SERVER_WORKERS": ("4", 4, 4),
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": ("30", 30, 30),
    "SAGEMAKER_BATCH": ("true", True, True),
    "SAGEMAKER_MAX_PAYLOAD_IN_MB": ("20", 20, 20),
}


def test_defaults() -> None:
    settings = defaults()
    assert settings["MODEL_BACKEND"] == "embedded"
    assert settings["MAX_CONTENT_LENGTH"] == 6 * 1024 * 1024
    assert settings["MAX_ROWS"] == 10_000
    assert settings["CORS_ORIGINS"] == "*"
    assert settings["TRUSTED_PROXY_HOPS"] == 0


def test_the_table_covers_every_setting() -> None:
    assert set(BOTH_WAYS) == set(SETTINGS)


def reference_tables() -> dict[str, list[list[str]]]:
    """The rendered reference: each heading with its table's rows, as cells."""
    tables: dict[str, list[list[str]]] = {}
    for line in reference_markdown().splitlines():
        if line.startswith("## "):
            rows = tables.setdefault(line[len("## ") :], [])
        elif line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return tables


def test_each_setting_belongs_to_exactly_one_of_the_four_concerns() -> None:
    assert list(GROUPS) == ["server", "model", "container", "monitor"]
    assert len(DECLARED) == len(SETTINGS)  # a name declared twice would replace the first silently
    assert all(setting.group in GROUPS and SETTINGS[setting.name] is setting for setting in DECLARED)
    tables = reference_tables()
    assert list(tables) == ["Server", "Model", "Container", "Monitor"]
    listed = [row[0].strip("`") for rows in tables.values() for row in rows]
    assert sorted(listed) == sorted(SETTINGS)
    for group, rows in zip(GROUPS, tables.values(), strict=True):
        assert {row[0].strip("`") for row in rows} == {s.name for s in DECLARED if s.group == group}


def test_the_reference_has_a_row_per_setting_with_its_default_and_meaning() -> None:
    rows = {row[0]: row[1:] for rows in reference_tables().values() for row in rows}
    assert all(len(cells) == 2 for cells in rows.values())
    assert rows["`MODEL_PATH`"][0] == "`app/model/model.json`"  # the same on every machine
    assert rows["`MAX_CONTENT_LENGTH`"][0] == "`6291456`"
    assert rows["`TREES_NATIVE`"][0] == "`off`"
    assert rows["`SAGEMAKER_BATCH`"][0] == "`false`"  # SageMaker's spelling, as the environment gives it
    assert rows["`API_KEYS`"][0] == "empty"
    assert rows["`CORS_ORIGINS`"] == ["`*`", SETTINGS["CORS_ORIGINS"].description]
    for name, setting in SETTINGS.items():
        # Each meaning stands alone in its row: one line, a sentence or more.
        assert "\n" not in setting.description and setting.description.endswith("."), name
        assert setting.description[0].isupper() or setting.description[0] == "`", name


@pytest.mark.parametrize("name", sorted(name for name, setting in SETTINGS.items() if not setting.default))
def test_a_default_that_leaves_something_off_says_what_it_means(name: str) -> None:
    setting = SETTINGS[name]
    said = {"": "Empty: ", "0": "0: ", "off": "`off`: ", "false": "`false`: "}[setting.spelled(setting.default)]
    assert said in setting.description


@pytest.mark.parametrize("name", sorted(BOTH_WAYS))
def test_every_setting_can_be_given_either_way(name: str) -> None:
    text, parsed, typed = BOTH_WAYS[name]
    assert from_env({name: text})[name] == parsed
    assert resolve({}, {name: text})[name] == parsed
    if typed is not None:
        assert resolve({}, {name: typed})[name] == parsed
    assert resolve({}, {name: parsed})[name] == parsed


def test_environment_values_are_parsed() -> None:
    origins = "https://a.example, https://b.example"
    settings = from_env({"MAX_ROWS": "50", "CORS_ORIGINS": origins, "ACCESS_LOG": "off", "UNRELATED": "x"})
    assert settings == {"MAX_ROWS": 50, "CORS_ORIGINS": ["https://a.example", "https://b.example"], "ACCESS_LOG": False}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_ROWS", "ten", "MAX_ROWS: must be a whole number, got 'ten'"),
        ("MAX_ROWS", "0", "MAX_ROWS: must be positive"),
        ("MAX_ROWS", 0, "MAX_ROWS: must be positive"),
        ("MAX_ROWS", 2.5, "MAX_ROWS: must be a whole number, got '2.5'"),
        ("MODEL_BACKEND", "pickle", "MODEL_BACKEND: must be one of embedded, sagemaker"),
        ("SAGEMAKER_THRESHOLD", "2", "SAGEMAKER_THRESHOLD: must lie between 0 and 1"),
        ("SAGEMAKER_THRESHOLD", 1.5, "SAGEMAKER_THRESHOLD: must lie between 0 and 1"),
        ("CORS_ORIGINS", " , ", "CORS_ORIGINS: must name at least one origin"),
        ("CORS_ORIGINS", [], "CORS_ORIGINS: must name at least one origin"),
        ("CORS_ORIGINS", "example.com", "CORS_ORIGINS: entry 'example.com' is not an origin: write scheme://host"),
        ("CORS_ORIGINS", "https://a.example/path", "CORS_ORIGINS: entry 'https://a.example/path' is not an origin"),
        ("CORS_ORIGINS", "https://a.example/", "CORS_ORIGINS: entry 'https://a.example/' is not an origin"),
        ("CORS_ORIGINS", "https://A.example", "is not an origin: write scheme://host\\[:port\\] in lower case"),
        ("CORS_ORIGINS", "https://a.example:70000", "CORS_ORIGINS: entry 'https://a.example:70000' is not an origin"),
        ("CORS_ORIGINS", "https://a.example,,*", "CORS_ORIGINS: has an empty entry"),
        ("CORS_ORIGINS", "https://a.example,*", "CORS_ORIGINS: \\* allows every origin and stands alone"),
        ("CORS_ORIGINS", ["*", "https://a.example"], "CORS_ORIGINS: \\* allows every origin and stands alone"),
        ("SAGEMAKER_ENDPOINT_NAME", "..", "SAGEMAKER_ENDPOINT_NAME: must be a SageMaker endpoint name"),
        ("SAGEMAKER_ENDPOINT_NAME", "a/b", "SAGEMAKER_ENDPOINT_NAME: must be a SageMaker endpoint name"),
        ("INFERENCE_ID_SECRET", "short", "INFERENCE_ID_SECRET: must be at least 32 characters"),
        ("MAX_EXPLAIN_ROWS", "0", "MAX_EXPLAIN_ROWS: must be positive"),
        ("ACCESS_LOG", "yes", "ACCESS_LOG: must be on or off"),
        ("API_KEYS", ("plain-key",), "API_KEYS: must hold SHA-256 hex digests"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: must be one of DEBUG, INFO"),
        ("METRICS", "statsd", "METRICS: must be one of off, prometheus, emf"),
        ("RATELIMIT_DEFAULT", "lots", "RATELIMIT_DEFAULT: must read like '600 per minute'"),
        ("TRUSTED_PROXY_HOPS", "-1", "TRUSTED_PROXY_HOPS: must be from 0 to 5"),
        ("CAPTURE_URI", "file://capture", "CAPTURE_URI: must be file:///ABSOLUTE/DIR, s3://BUCKET/PREFIX or log:"),
        ("CAPTURE_URI", "s3:///prefix", "CAPTURE_URI: must be file:///ABSOLUTE/DIR"),
        ("CAPTURE_URI", "/var/capture", "CAPTURE_URI: must be file:///ABSOLUTE/DIR"),
        ("CAPTURE_SAMPLE", "101", "CAPTURE_SAMPLE: must be from 0 to 100"),
        ("CAPTURE_BUFFER", "0", "CAPTURE_BUFFER: must be positive"),
        ("MONITOR_REPORT_URI", "file:///tmp/r", "MONITOR_REPORT_URI: must be s3://BUCKET/PREFIX"),
    ],
)
def test_bad_values_are_named_from_the_environment_and_from_code(name: str, value: Any, message: str) -> None:
    if isinstance(value, str):
        with pytest.raises(ConfigError, match=message):
            from_env({name: value})
    with pytest.raises(ConfigError, match=message):
        create_app({name: value})


def test_factory_reads_environment_then_explicit_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ROWS", "7")
    assert create_app().config["MAX_ROWS"] == 7
    assert create_app({"MAX_ROWS": 9}).config["MAX_ROWS"] == 9
    assert create_app({"MAX_ROWS": "11"}).config["MAX_ROWS"] == 11


def test_the_sagemaker_region_falls_back_to_aws_region() -> None:
    assert from_env({"AWS_REGION": "us-east-2"})["SAGEMAKER_REGION"] == "us-east-2"
    assert from_env({"AWS_REGION": "us-east-2", "SAGEMAKER_REGION": "eu-north-1"})["SAGEMAKER_REGION"] == "eu-north-1"


def test_on_lambda_capture_writes_log_lines() -> None:
    """A buffer would wait while Lambda freezes the function, and go with the instance."""
    lambda_environ = {"AWS_LAMBDA_FUNCTION_NAME": "turbine-status-dev"}
    with pytest.raises(ConfigError, match="CAPTURE_URI: on AWS Lambda, capture writes log lines: set it to log:"):
        resolve(lambda_environ, {"CAPTURE_URI": "s3://bucket/capture"})
    assert resolve(lambda_environ, {"CAPTURE_URI": "log:"})["CAPTURE_URI"] == "log:"


def test_the_prometheus_directory_from_code_must_be_the_environments(monkeypatch: pytest.MonkeyPatch) -> None:
    """prometheus_client reads it from the environment for the whole process: another value is refused."""
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR: prometheus_client reads it from the env"):
        resolve({}, {"PROMETHEUS_MULTIPROC_DIR": "/tmp/other"})
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/metrics")
    assert resolve({"PROMETHEUS_MULTIPROC_DIR": "/tmp/metrics"}, {"PROMETHEUS_MULTIPROC_DIR": "/tmp/metrics"})


def test_schema_path_with_the_embedded_model_must_name_its_fields(tmp_path: Path) -> None:
    assert create_app({"SCHEMA_PATH": str(ROOT / "app" / "model" / "turbine-schema.json")})
    with pytest.raises(ConfigError, match=r"SCHEMA_PATH: .* names other fields than the model in MODEL_PATH"):
        create_app({"SCHEMA_PATH": str(ai4i.SCHEMA_PATH)})


def test_a_missing_model_file_names_model_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MODEL_PATH: cannot read model file"):
        create_app({"MODEL_PATH": str(tmp_path / "none.json")})


def test_log_levels_belong_to_each_app(capsys: pytest.CaptureFixture[str]) -> None:
    """An app made later with another LOG_LEVEL does not change what an earlier one logs."""
    from app.web.errors import log as errors_log

    quiet = create_app({"LOG_LEVEL": "ERROR"})
    loud = create_app({"LOG_LEVEL": "DEBUG"})
    for app in (quiet, loud, quiet):
        with app.app_context():
            errors_log.info("hello from %s", app.config["LOG_LEVEL"])
    said = [json.loads(line)["message"] for line in capsys.readouterr().err.splitlines()]
    assert said == ["hello from DEBUG"]
    quiet.test_client().post("/", data=SAMPLE, content_type="text/csv")  # the access line is INFO
    assert capsys.readouterr().err == ""
    assert logging.getLogger("turbine_status.errors").isEnabledFor(logging.DEBUG)


def flask(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """The flask command in a fresh process, from the checkout, with only these settings."""
    env = {"PATH": str(Path(sys.executable).parent), "HOME": "/tmp", **environ}
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False)


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        ({"MAX_ROWS": "ten"}, "error: MAX_ROWS: must be a whole number, got 'ten'"),
        ({"MODEL_BACKEND": "sagemaker"}, "error: SAGEMAKER_ENDPOINT_NAME: is required when MODEL_BACKEND=sagemaker"),
        ({"MODEL_PATH": "/nowhere/model.json"}, "error: MODEL_PATH: cannot read model file /nowhere/model.json: "),
    ],
)
def test_a_bad_setting_stops_the_command_in_one_line_with_status_2(environ: dict[str, str], line: str) -> None:
    done = flask("routes", **environ)
    assert done.returncode == 2
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr
    debug = flask("routes", LOG_LEVEL="DEBUG", **environ)
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1].startswith(line)
