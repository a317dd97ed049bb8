"""Configuration is parsed once and a bad value names its variable."""

from __future__ import annotations

import pytest

from serving.config import ConfigError, load_settings


def test_defaults_are_the_embedded_local_setup():
    settings = load_settings({})
    assert settings.default_version == "v1"
    assert settings.load_all_models is False
    assert settings.redis_url is None
    assert settings.canary_enabled is False
    assert settings.max_text_chars == 5000
    assert settings.max_body_bytes == 65536
    assert str(settings.models_dir) == "/opt/models"


def test_values_are_parsed_into_types():
    settings = load_settings(
        {
            "DEFAULT_MODEL_VERSION": "v2",
            "LOAD_ALL_MODELS": "TRUE",
            "CANARY_VERSION": "v1",
            "CANARY_PERCENT": "12.5",
            "REDIS_URL": "rediss://user:secret@cache.internal:6379/0",
            "CACHE_TTL_SECONDS": "60",
            "REDIS_TIMEOUT_MS": "250",
        }
    )
    assert settings.default_version == "v2"
    assert settings.load_all_models is True
    assert settings.canary_enabled and settings.canary_percent == 12.5
    assert settings.redis_timeout_seconds == 0.25
    assert settings.cache_ttl_seconds == 60


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEFAULT_MODEL_VERSION": "latest"}, "DEFAULT_MODEL_VERSION"),
        ({"LOAD_ALL_MODELS": "maybe"}, "LOAD_ALL_MODELS"),
        ({"CANARY_PERCENT": "150"}, "CANARY_PERCENT"),
        ({"CANARY_PERCENT": "ten"}, "CANARY_PERCENT"),
        ({"CANARY_VERSION": "v2; rm"}, "CANARY_VERSION"),
        ({"CANARY_PERCENT": "10"}, "CANARY_PERCENT"),
        ({"CANARY_VERSION": "v1", "CANARY_PERCENT": "10"}, "CANARY_VERSION"),
        ({"SHADOW_VERSION": "v1"}, "SHADOW_VERSION"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL"),
        ({"CACHE_TTL_SECONDS": "0"}, "CACHE_TTL_SECONDS"),
        ({"REDIS_TIMEOUT_MS": "-5"}, "REDIS_TIMEOUT_MS"),
        ({"MAX_TEXT_CHARS": "lots"}, "MAX_TEXT_CHARS"),
        ({"MAX_BODY_BYTES": "10"}, "MAX_BODY_BYTES"),
    ],
)
def test_bad_value_fails_fast_naming_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def test_secret_in_redis_url_is_not_echoed_in_errors():
    with pytest.raises(ConfigError) as error:
        load_settings({"REDIS_URL": "http://user:hunter2@cache:6379"})
    assert "REDIS_URL" in str(error.value)
    assert "hunter2" not in str(error.value)
