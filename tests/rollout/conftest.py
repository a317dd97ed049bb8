"""moto-backed world for the rollout CLI: a function with three published versions and a ``live`` alias."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

# The hook is deployed from its own folder (its CodeUri): import it the way Lambda does.
HOOK_DIR = Path(__file__).resolve().parents[2] / "functions" / "deploy_hook"
if str(HOOK_DIR) not in sys.path:
    sys.path.insert(0, str(HOOK_DIR))

REGION = "us-east-1"
FN = "sentiment-inference"
APP = "sentiment-app"
GROUP = "sentiment-group"
CD_FLAGS = ("--codedeploy-app", APP, "--codedeploy-group", GROUP)
MODELS = {"1": "v1", "2": "v2", "3": "v3"}

_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "FUNCTION_NAME",
    "STACK_NAME",
    "CODEDEPLOY_APPLICATION",
    "CODEDEPLOY_DEPLOYMENT_GROUP",
)


def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for key in _ENV_TO_CLEAR:
        monkeypatch.delenv(key, raising=False)


def code_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buf.getvalue()


@dataclass
class World:
    lam: Any
    cloudwatch: Any
    codedeploy: Any
    iam: Any
    role_arn: str

    def alias(self) -> dict[str, Any]:
        resp = self.lam.get_alias(FunctionName=FN, Name="live")
        weights = (resp.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return {"primary": resp["FunctionVersion"], "weights": weights}

    def set_routing(self, primary: str, weights: dict[str, float]) -> None:
        """Write the alias directly (moto accepts anything), as another operator would."""
        self.lam.update_alias(
            FunctionName=FN, Name="live", FunctionVersion=primary, RoutingConfig={"AdditionalVersionWeights": weights}
        )

    def publish(self, model: str, role_arn: str | None = None) -> str:
        self.lam.update_function_configuration(
            FunctionName=FN,
            Role=role_arn or self.role_arn,
            Environment={"Variables": {"DEFAULT_MODEL_VERSION": model}},
        )
        return self.lam.publish_version(FunctionName=FN)["Version"]

    def new_role(self, name: str) -> str:
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]

    def put_version_metrics(
        self, version: str, *, invocations: float, errors: float, durations: list[float], alias: str = "live"
    ) -> None:
        """Datapoints as Lambda publishes them for alias invocations: FunctionName + Resource + ExecutedVersion."""
        dims = [
            {"Name": "FunctionName", "Value": FN},
            {"Name": "Resource", "Value": f"{FN}:{alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        now = dt.datetime.now(dt.UTC)
        data: list[dict[str, Any]] = [
            {
                "MetricName": "Invocations",
                "Dimensions": dims,
                "Value": invocations,
                "Timestamp": now - dt.timedelta(minutes=3),
            },
            {"MetricName": "Errors", "Dimensions": dims, "Value": errors, "Timestamp": now - dt.timedelta(minutes=3)},
        ]
        for i, value in enumerate(durations):
            ts = now - dt.timedelta(minutes=3 + i)
            data.append(
                {"MetricName": "Duration", "Dimensions": dims, "Value": value, "Unit": "Milliseconds", "Timestamp": ts}
            )
        self.cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data)

    def start_deployment(self) -> str:
        """A deployment in moto stays ``Created``: an unfinished deployment on our group."""
        return self.codedeploy.create_deployment(
            applicationName=APP,
            deploymentGroupName=GROUP,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
        )["deploymentId"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_aws_env(monkeypatch)
    with mock_aws():
        yield


@pytest.fixture
def world(aws: None) -> World:
    iam = boto3.client("iam", region_name=REGION)
    role_arn = iam.create_role(RoleName="inference-role", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName=FN,
        Runtime="python3.13",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        Environment={"Variables": {"DEFAULT_MODEL_VERSION": "v1"}},
    )
    w = World(
        lam=lam,
        cloudwatch=boto3.client("cloudwatch", region_name=REGION),
        codedeploy=boto3.client("codedeploy", region_name=REGION),
        iam=iam,
        role_arn=role_arn,
    )
    for version, model in MODELS.items():
        assert w.publish(model) == version
    lam.create_alias(FunctionName=FN, Name="live", FunctionVersion="1")
    w.codedeploy.create_application(applicationName=APP, computePlatform="Lambda")
    w.codedeploy.create_deployment_group(
        applicationName=APP,
        deploymentGroupName=GROUP,
        serviceRoleArn=role_arn,
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    )
    return w


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the CLI in-process against the active moto mock."""
    from tools.rollout.cli import main

    def invoke(*args: str, session: boto3.Session | None = None) -> CliResult:
        code = main(["--function-name", FN, *args], session=session)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
