"""Settings from the environment: defaults, parsing and refusal of unusable values."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError, defaults, from_env


def test_defaults() -> None:
    settings = defaults()
    assert settings["MODEL_BACKEND"] == "embedded"
    assert settings["MAX_CONTENT_LENGTH"] == 6 * 1024 * 1024
    assert settings["MAX_ROWS"] == 10_000
    assert settings["CORS_ORIGINS"] == "*"


def test_environment_values_are_parsed() -> None:
    origins = "https://a.example, https://b.example"
    settings = from_env({"MAX_ROWS": "50", "CORS_ORIGINS": origins, "ACCESS_LOG": "off", "UNRELATED": "x"})
    assert settings == {"MAX_ROWS": 50, "CORS_ORIGINS": ["https://a.example", "https://b.example"], "ACCESS_LOG": False}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_ROWS", "ten", "MAX_ROWS must be a whole number"),
        ("MAX_ROWS", "0", "MAX_ROWS must be positive"),
        ("MODEL_BACKEND", "pickle", "MODEL_BACKEND must be one of embedded, sagemaker"),
        ("SAGEMAKER_THRESHOLD", "2", "between 0 and 1"),
        ("CORS_ORIGINS", " , ", "at least one origin"),
        ("ACCESS_LOG", "yes", "ACCESS_LOG must be on or off"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of DEBUG, INFO"),
        ("METRICS", "statsd", "METRICS must be one of off, prometheus, emf"),
    ],
)
def test_bad_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_env({name: value})


def test_factory_reads_environment_then_explicit_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ROWS", "7")
    assert create_app().config["MAX_ROWS"] == 7
    assert create_app({"MAX_ROWS": 9}).config["MAX_ROWS"] == 9
