"""The CLI as an operator runs it: a subprocess pointed at a standalone moto_server with --endpoint-url."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

from devsupport.ports import free_port, wait_for_port
from tests.conftest import rollout_cli
from tests.rollout.world import CD_FLAGS, FN, REGION, World, build_world

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, "moto_server", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def server_world(endpoint: str) -> World:
    creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return build_world(lambda name: boto3.client(name, endpoint_url=endpoint, region_name=REGION, **creds))


def cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return rollout_cli("--endpoint-url", endpoint, "--function-name", FN, *args, env=CREDENTIALS, timeout=120)


def test_operator_session_against_moto_server(endpoint: str, server_world: World) -> None:
    res = cli(endpoint, "canary", "--version", "2", "--percent", "10", *CD_FLAGS)
    assert res.returncode == 0, res.stderr
    assert server_world.alias() == {"primary": "1", "weights": {"2": 0.1}}

    res = cli(endpoint, "status", "--json")
    assert res.returncode == 0, res.stderr
    assert [(v["version"], v["model_version"]) for v in json.loads(res.stdout)["versions"]] == [
        ("1", "v1"),
        ("2", "v2"),
    ]

    res = cli(endpoint, "canary", "--version", "3", "--percent", "10", *CD_FLAGS)
    assert res.returncode == 2
    assert "at most one additional version" in res.stderr

    deployment_id = server_world.start_deployment()
    res = cli(endpoint, "promote", *CD_FLAGS)
    assert res.returncode == 3
    assert deployment_id in res.stderr

    res = cli(endpoint, "promote", *CD_FLAGS, "--force", "--output", "json")
    assert res.returncode == 0, res.stderr
    assert server_world.alias() == {"primary": "2", "weights": {}}
    assert json.loads(res.stdout)["changed"] is True  # the warning is not on stdout...
    assert res.stderr.startswith("warning: --force: changed the alias although CodeDeploy deployment")  # ...but here

    res = cli(endpoint, "status", "--output", "text")
    assert res.returncode == 0, res.stderr
    assert [line.split("\t")[:3] for line in res.stdout.splitlines() if line.startswith("VERSION\t")] == [
        ["VERSION", "2", "1"]
    ]
