"""moto_server as the Lambda control plane: the function, its published versions and the `live` alias.

moto stores aliases and routing weights faithfully but cannot run code here; it is only the source of
truth for *which* version serves (the gateway reads the alias) and *with what configuration* (each
`sam local start-lambda` gets its version's environment from here).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from devsupport import processes
from devsupport.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "inference"
REGION = "us-east-1"
FUNCTION_NAME = "sentiment-inference"  # same name as tests/rollout/world.py
ALIAS = "live"
HANDLER = "serving.handler.lambda_handler"
CODEDEPLOY_APP = "sentiment-rehearsal"
CODEDEPLOY_GROUP = "InferenceFunctionDeploymentGroup"
# moto accepts any credentials; fixed fake ones keep an operator's real profile out of the loop.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}

# What every version shares, as `sam local` can run it: no Redis, no X-Ray, quiet logs.
# Only variables the template declares reach the function (sam local drops the others).
BASE_ENVIRONMENT = {
    "REDIS_URL": "",
    "LOAD_ALL_MODELS": "false",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "SentimentInferenceRehearsal",
}


def version_environments(models: Sequence[str]) -> dict[str, dict[str, str]]:
    """Published version number -> its environment: version N serves models[N-1] by default."""
    return {str(i): {**BASE_ENVIRONMENT, "DEFAULT_MODEL_VERSION": m} for i, m in enumerate(models, start=1)}


def _code_zip() -> bytes:
    # The code that sam local runs, so CodeSha256 means something; moto never executes it.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(FUNCTION_DIR.rglob("*.py")):
            zf.write(path, path.relative_to(FUNCTION_DIR).as_posix())
    return buf.getvalue()


@dataclass
class ControlPlane:
    """A moto_server on a free loopback port (``start``/``stop``) and what is seeded into it."""

    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_path: Path) -> None:
        self.port = self.port or free_port()
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.process, "moto_server", timeout=30)

    def stop(self) -> None:
        processes.stop(self.process)
        self.process = None

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def seed(self, environments: Mapping[str, Mapping[str, str]]) -> None:
        """Create the function, publish one version per entry (in order), point `live` at version 1,
        and create a CodeDeploy group so the CLI's "deployment in progress" check has something to ask."""
        iam, lam, codedeploy = self.client("iam"), self.client("lambda"), self.client("codedeploy")
        role = iam.create_role(RoleName="inference-role", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
        first = next(iter(environments.values()))
        lam.create_function(
            FunctionName=FUNCTION_NAME,
            Runtime="python3.13",
            Role=role,
            Handler=HANDLER,
            Code={"ZipFile": _code_zip()},
            Environment={"Variables": dict(first)},
        )
        for expected, env in environments.items():
            # As AutoPublishAlias does: change $LATEST's configuration, then publish it.
            lam.update_function_configuration(FunctionName=FUNCTION_NAME, Environment={"Variables": dict(env)})
            version = lam.publish_version(FunctionName=FUNCTION_NAME)["Version"]
            if version != expected:
                raise RuntimeError(f"moto published version {version}, expected {expected}")
        lam.create_alias(FunctionName=FUNCTION_NAME, Name=ALIAS, FunctionVersion="1")
        codedeploy.create_application(applicationName=CODEDEPLOY_APP, computePlatform="Lambda")
        codedeploy.create_deployment_group(
            applicationName=CODEDEPLOY_APP,
            deploymentGroupName=CODEDEPLOY_GROUP,
            serviceRoleArn=role,
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        )

    def version_environment(self, version: str) -> dict[str, str]:
        """The environment stored with a published version: what its start-lambda must run with."""
        cfg = self.client("lambda").get_function_configuration(FunctionName=FUNCTION_NAME, Qualifier=version)
        return dict((cfg.get("Environment") or {}).get("Variables") or {})

    def cli_arguments(self) -> list[str]:
        """Global flags that point `python -m tools.rollout` at this control plane."""
        return [
            "--endpoint-url",
            self.endpoint,
            "--function-name",
            FUNCTION_NAME,
            "--codedeploy-app",
            CODEDEPLOY_APP,
            "--codedeploy-group",
            CODEDEPLOY_GROUP,
        ]
