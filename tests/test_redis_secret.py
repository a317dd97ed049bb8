"""Redis credentials from Secrets Manager (moto stands in for the API) against a real redis-server with AUTH:
cached, refreshed once after a rotation, never logged, and a bad secret degrades to BYPASS, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devsupport.redis_server import RedisServer
from tests.conftest import running_redis

pytestmark = pytest.mark.redis

FIRST, SECOND = "first-Password-1b9e", "second-Password-77c2"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        parameters.clear_caches()
        DEFAULT_PROVIDERS.clear()  # a provider made outside this mock must not be reused
        yield boto3.client("secretsmanager", region_name="us-east-1")
        DEFAULT_PROVIDERS.clear()


@pytest.fixture
def auth_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path, "--requirepass", FIRST) as server:
        yield server


def _admin(server: RedisServer, password: str) -> Any:
    import redis

    return redis.Redis(host="127.0.0.1", port=server.port, password=password)


def test_credentials_come_from_the_secret_and_survive_a_rotation(
    make_client, auth_redis, secrets, service_output
) -> None:
    arn = secrets.create_secret(Name="redis-auth", SecretString=json.dumps({"password": FIRST}))["ARN"]
    client = make_client(REDIS_URL=f"redis://127.0.0.1:{auth_redis.port}/0", REDIS_SECRET_ARN=arn,
                         CACHE_LOCAL_ENTRIES="0")  # fmt: skip
    assert client.post("/predict", json={"text": "a great phone"}).json()["cache"] == "MISS"
    assert client.post("/predict", json={"text": "a great phone"}).json()["cache"] == "HIT"
    assert client.get("/health").json()["cache"]["status"] == "reachable"

    # Rotation: Redis gets the new password and drops every client; the secret gets the new value.
    admin = _admin(auth_redis, FIRST)
    admin.config_set("requirepass", SECOND)
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"password": SECOND}))
    _admin(auth_redis, SECOND).client_kill_filter(_type="normal", skipme=True)

    # The cached (old) password fails once; one forced fetch later the same request is served from Redis.
    assert client.post("/predict", json={"text": "a great phone"}).json()["cache"] == "HIT"
    output = service_output()
    assert FIRST not in output and SECOND not in output


@pytest.mark.parametrize("value", [json.dumps({"password": "not-the-password"}), json.dumps({"user": "x"}), "plain"])
def test_a_wrong_or_malformed_secret_degrades_to_bypass(
    make_client, auth_redis, secrets, service_output, value
) -> None:
    arn = secrets.create_secret(Name="redis-auth", SecretString=value)["ARN"]
    client = make_client(REDIS_URL=f"redis://127.0.0.1:{auth_redis.port}/0", REDIS_SECRET_ARN=arn)
    response = client.post("/predict", json={"text": "a great phone"})
    assert response.status_code == 200
    assert response.json()["cache"] == "BYPASS"
    assert "not-the-password" not in service_output()


def test_a_password_in_the_url_and_a_secret_is_a_config_error() -> None:
    from serving.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="REDIS_SECRET_ARN") as caught:
        load_settings({"REDIS_URL": "redis://:hunter2@cache:6379/0", "REDIS_SECRET_ARN": "redis-auth"})
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ConfigError, match="REDIS_URL is empty"):
        load_settings({"REDIS_SECRET_ARN": "redis-auth"})
