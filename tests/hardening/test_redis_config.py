"""Redis time limits come from REDIS_TIMEOUT_MS and REDIS_CONNECT_TIMEOUT_MS only.

redis-py lets a URL's query string override the client's arguments, so a REDIS_URL could loosen every
limit the service sets; such a URL fails the configuration at init, naming REDIS_URL and the parameter
and never echoing the URL (it may hold a password).
"""

from __future__ import annotations

import pytest

from serving.config import ConfigError, load_settings

PASSWORD = "hunter2-in-the-url"


@pytest.mark.parametrize(
    ("env", "connect_seconds"),
    [
        ({"REDIS_URL": "rediss://cache.internal:6379/0"}, 1.0),  # TLS: context, CA load, handshake
        ({"REDIS_URL": "rediss://cache.internal:6379/0", "REDIS_TIMEOUT_MS": "2000"}, 1.0),
        ({"REDIS_URL": "redis://cache.internal:6379/0"}, 0.1),  # plain: a few round trips, like a command
        ({"REDIS_URL": "redis://cache.internal:6379/0", "REDIS_TIMEOUT_MS": "40"}, 0.04),
        ({"REDIS_URL": "unix:///run/redis.sock"}, 0.1),
        ({"REDIS_URL": "rediss://cache.internal:6379/0", "REDIS_CONNECT_TIMEOUT_MS": "250"}, 0.25),
        ({"REDIS_URL": "redis://cache.internal:6379/0", "REDIS_CONNECT_TIMEOUT_MS": "3000"}, 3.0),
    ],
)
def test_the_connect_budget_defaults_by_scheme_and_can_be_set(env, connect_seconds):
    settings = load_settings(env)
    assert settings.redis_connect_timeout_seconds == pytest.approx(connect_seconds)
    assert settings.redis_timeout_seconds == int(env.get("REDIS_TIMEOUT_MS", "100")) / 1000


@pytest.mark.parametrize("value", ["0", "-1", "10001", "1.5", "soon", ""])
def test_a_bad_connect_budget_names_its_variable(value):
    with pytest.raises(ConfigError, match="REDIS_CONNECT_TIMEOUT_MS") as error:
        load_settings({"REDIS_URL": "redis://cache:6379/0", "REDIS_CONNECT_TIMEOUT_MS": value})
    assert "1 to 10000" in str(error.value)


@pytest.mark.parametrize(
    "query",
    [
        "socket_timeout=30",
        "socket_connect_timeout=30",
        "health_check_interval=5",
        "retry_on_timeout=true",
        "retry_on_error=TimeoutError",
        "timeout=30",
        "ssl_ca_certs=/etc/ca.pem&socket_timeout=30",
    ],
)
def test_a_url_cannot_loosen_the_limits(query):
    with pytest.raises(ConfigError) as error:
        load_settings({"REDIS_URL": f"rediss://:{PASSWORD}@cache:6379/0?{query}"})
    message = str(error.value)
    assert message.startswith("REDIS_URL ") and "REDIS_TIMEOUT_MS" in message
    assert query.rsplit("&", 1)[-1].split("=")[0] in message
    assert PASSWORD not in message and "cache:6379" not in message


@pytest.mark.parametrize("query", ["password=other", "ssl_validate_ocsp=true", "made_up=1", "Bad%20Name=1"])
def test_unsupported_url_parameters_are_refused_at_init(query):
    with pytest.raises(ConfigError, match=r"^REDIS_URL has query parameters the service does not support") as error:
        load_settings({"REDIS_URL": f"redis://:{PASSWORD}@cache:6379/0?{query}"})
    assert PASSWORD not in str(error.value) and "other" not in str(error.value)


def test_tls_and_database_parameters_are_accepted():
    url = "rediss://cache:6379/0?ssl_ca_certs=%2Fetc%2Fca.pem&ssl_cert_reqs=required&db=2&client_name=inference"
    assert load_settings({"REDIS_URL": url}).redis_url == url
