"""Helpers for the rollout tests: a moto world with a function, three published versions and a ``live`` alias."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

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


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


def build_world(client: Callable[[str], Any]) -> World:
    """Function ``FN`` with versions 1..3 (models v1..v3), alias live -> 1, and an empty CodeDeploy group."""
    iam = client("iam")
    role_arn = iam.create_role(RoleName="inference-role", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    lam = client("lambda")
    lam.create_function(
        FunctionName=FN,
        Runtime="python3.13",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        Environment={"Variables": {"DEFAULT_MODEL_VERSION": "v1"}},
    )
    world = World(lam=lam, cloudwatch=client("cloudwatch"), codedeploy=client("codedeploy"), iam=iam, role_arn=role_arn)
    for version, model in MODELS.items():
        assert world.publish(model) == version
    lam.create_alias(FunctionName=FN, Name="live", FunctionVersion="1")
    world.codedeploy.create_application(applicationName=APP, computePlatform="Lambda")
    world.codedeploy.create_deployment_group(
        applicationName=APP,
        deploymentGroupName=GROUP,
        serviceRoleArn=role_arn,
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    )
    return world
