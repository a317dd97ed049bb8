"""Deploy rehearsal: the real SAM CLI deploys the unchanged template.yaml with samconfig.toml's [default]
environment to MiniStack, an AWS emulator running on this machine (local/ministack, conftest `ministack`).

In a throwaway copy of the project (the real tree is never touched), as a developer would:
1. `sam build && sam deploy`: the stack is created; `live` points at published version 1 and
   /predict answers 200 from model v1 through the REST API's invoke URL on the emulator;
2. a comment changes in the function's code, `sam build && sam deploy`: version 2 is published,
   `live` and the NewVersion* alarms follow it, version 1 is kept, the layers are unchanged;
3. a configuration-only deploy (LogLevel=INFO instead of DEBUG, nothing rebuilt): version 3,
   through CONFIG_FINGERPRINT (AWS::LanguageExtensions resolves it before SAM hashes the function);
   versions 2 and 1, invoked directly, still answer as themselves (what rolling `live` back relies on);
4. `sam delete`: the stack and what it created are gone.

What this does NOT rehearse (no CodeDeploy in MiniStack): the pre-traffic hook, canary traffic shifting
and alarm rollback; `live` moves to each new version at once. MiniStack also ignores alias weights: the
weighted rollout is rehearsed by tests/e2e/test_rehearsal.py (moto + sam local start-lambda).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from devsupport.events import EVENTS_DIR
from tests.e2e.conftest import ROOT, Emulator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

STACK = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]["global"]["parameters"]["stack_name"]
# What `sam build` needs of the project; the copy links the project's .venv (the layers' Makefile builds with it).
PROJECT_FILES = ["template.yaml", "samconfig.toml", ".python-version", "functions", "layers"]
CHANGED_MODULE = Path("functions/inference/serving/handler.py")
ALARMS = ("NewVersionErrorsAlarm", "NewVersionLatencyAlarm", "NewVersionServerErrorsAlarm")
# the dimension of each NewVersion* alarm that names the version being deployed
VERSION_DIMENSIONS = {"ExecutedVersion", "function_version"}


@dataclass
class Project:
    """A throwaway copy of the project, built and deployed with the SAM CLI against the emulator."""

    root: Path
    sam: str
    emulator: Emulator
    log: Path
    timings: dict[str, float] = field(default_factory=dict)

    def sam_run(self, *args: str, timeout: float = 600) -> str:
        started = time.monotonic()
        result = subprocess.run(
            [self.sam, *args], cwd=self.root, env=self.emulator.aws_env(), capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        output = result.stdout + result.stderr
        with self.log.open("a") as out:
            out.write(f"\n$ sam {' '.join(args)}  ({time.monotonic() - started:.1f} s, exit {result.returncode})\n")
            out.write(output)
        assert result.returncode == 0, f"sam {args[0]} failed (exit {result.returncode}):\n{output[-5000:]}"
        return output

    def timed(self, phase: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            return action()
        finally:
            self.timings[phase] = time.monotonic() - started

    def build(self) -> None:
        self.sam_run("build")

    def deploy(self, *args: str) -> None:
        # Only the endpoint (environment) differs from a developer's `sam deploy`: samconfig.toml [default]
        # gives the stack, capabilities, resolve_s3, no changeset confirmation and the parameters.
        self.sam_run("deploy", "--no-progressbar", *args)


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".staging-*")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=skip)
        elif source.is_file():
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def parameter_overrides_with(samconfig: Path, **changes: str) -> str:
    """samconfig.toml [default] parameter_overrides with some values changed (a CLI --parameter-overrides
    replaces the configured ones as a whole, so the rest is carried over unchanged)."""
    configured = tomllib.loads(samconfig.read_text())["default"]["deploy"]["parameters"]
    pairs = dict(item.split("=", 1) for item in configured["parameter_overrides"].split())
    assert set(changes) <= set(pairs), f"not in samconfig's parameter_overrides: {set(changes) - set(pairs)}"
    return " ".join(f"{key}={value}" for key, value in (pairs | changes).items())


@pytest.fixture(scope="module")
def project(sam_cli: str, ministack: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    workdir = tmp_path_factory.mktemp("deploy-rehearsal")
    root = copy_project(workdir / "project")
    log = workdir / "sam.log"
    print(f"\n[e2e] deploy rehearsal: project copy {root}, SAM log {log}, emulator log {ministack.server.log}")
    try:
        yield Project(root=root, sam=sam_cli, emulator=ministack, log=log)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # two builds and SAM's cache: hundreds of MB


# ------------------------------------------------------------------------------------------------
# reading the deployment back
# ------------------------------------------------------------------------------------------------
@dataclass
class Deployed:
    status: str
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> type
    alias: dict[str, Any]
    versions: dict[str, dict[str, Any]]  # published versions (not $LATEST) -> configuration
    alarm_versions: dict[str, str]  # NewVersion* alarm (logical id) -> the version its dimension names


def read_deployment(emulator: Emulator) -> Deployed:
    cfn, lam, cloudwatch = (emulator.client(name) for name in ("cloudformation", "lambda", "cloudwatch"))
    (stack,) = cfn.describe_stacks(StackName=STACK)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    summaries = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    resources = {r["LogicalResourceId"]: r["ResourceType"] for r in summaries}
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}
    function = outputs["FunctionName"]
    listed = lam.list_versions_by_function(FunctionName=function)["Versions"]
    versions = {v["Version"]: v for v in listed if v["Version"] != "$LATEST"}
    alarm_names = {physical[logical]: logical for logical in ALARMS}
    alarm_versions = {}
    for alarm in cloudwatch.describe_alarms(AlarmNames=list(alarm_names))["MetricAlarms"]:
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        (version,) = (dimensions[name] for name in VERSION_DIMENSIONS & set(dimensions))
        if "Resource" in dimensions:  # the alias's invocations, split by the version that executed
            assert dimensions["Resource"] == f"{function}:live", dimensions
        alarm_versions[alarm_names[alarm["AlarmName"]]] = version
    return Deployed(
        status=stack["StackStatus"],
        outputs=outputs,
        resources=resources,
        alias=lam.get_alias(FunctionName=function, Name="live"),
        versions=versions,
        alarm_versions=alarm_versions,
    )


def fingerprint(version: dict[str, Any]) -> dict[str, Any]:
    """CONFIG_FINGERPRINT as deployed: a literal JSON string (Fn::ToJsonString, resolved by LanguageExtensions)."""
    parsed: dict[str, Any] = json.loads(version["Environment"]["Variables"]["CONFIG_FINGERPRINT"])
    return parsed


def assert_live(deployed: Deployed, version: str) -> None:
    assert deployed.alias["FunctionVersion"] == version, deployed.alias
    assert not deployed.alias.get("RoutingConfig"), deployed.alias  # all traffic on it: no CodeDeploy canary here
    assert deployed.alarm_versions == dict.fromkeys(ALARMS, version), deployed.alarm_versions


def predict(emulator: Emulator, deployed: Deployed) -> dict[str, Any]:
    """POST /predict through the REST API's invoke URL (ApiUrl output: https://{api}.execute-api.../{stage}/)."""
    match = re.fullmatch(r"https://([a-z0-9]+)\.execute-api\.[^/]+/([^/]+)/", deployed.outputs["ApiUrl"])
    assert match, deployed.outputs["ApiUrl"]
    api = emulator.rest_api(match[1], match[2])
    status, headers, body = api.call("POST", "/predict", {"text": "I really love this product"})
    assert status == 200, f"{status} {body}\n{emulator.server.log_tail()}"
    assert headers.get("x-model-version") == body["model_version"]
    return dict(body)


def invoke(emulator: Emulator, deployed: Deployed, version: str) -> dict[str, Any]:
    """Invoke one published version directly (Lambda API, Qualifier) with an API Gateway /predict event."""
    event = (EVENTS_DIR / "apigw-v1-predict-default-200.json").read_bytes()
    function = deployed.outputs["FunctionName"]
    response = emulator.client("lambda").invoke(FunctionName=function, Qualifier=version, Payload=event)
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response and payload["statusCode"] == 200, payload
    return dict(json.loads(payload["body"]))


# ------------------------------------------------------------------------------------------------
# the rehearsal
# ------------------------------------------------------------------------------------------------
def test_deploy_rehearsal(project: Project) -> None:
    emulator = project.emulator
    started = time.monotonic()

    # 1. create ------------------------------------------------------------------------------------
    project.timed("build", project.build)
    project.timed("deploy (create)", project.deploy)
    first = read_deployment(emulator)
    assert first.status == "CREATE_COMPLETE"
    types = set(first.resources.values())
    # the SAM transform ran (versions, the alias, CodeDeploy resources recorded by the launcher) ...
    assert {"AWS::Lambda::Version", "AWS::Lambda::Alias", "AWS::CodeDeploy::DeploymentGroup"} <= types, types
    assert not any(t.startswith("AWS::Serverless::") for t in types), types
    # ... and the conditions of samconfig's [default] parameters were evaluated
    assert "ScikitLearnLayerArn" in first.outputs  # ScikitLearnRuntime=attached (the default)
    assert "ApiGatewayAccount" in first.resources  # ConfigureApiGatewayAccount=true
    assert not {"Cache", "CacheSecurityGroup", "FunctionSecurityGroup"} & set(first.resources)  # CacheMode=none
    assert not {"ApiKey", "ApiUsagePlan"} & set(first.resources)  # ApiKeyRequired=false (default)
    assert first.outputs["CacheMode"] == "none"
    assert set(first.versions) == {"1"}
    assert fingerprint(first.versions["1"])["obs"][0] == "DEBUG"  # LogLevel=DEBUG from samconfig
    assert len(first.versions["1"]["Layers"]) == 3  # dependencies, models, scikit-learn (attached)
    assert_live(first, "1")
    answer = project.timed("first request (cold)", lambda: predict(emulator, first))
    assert (answer["model_version"], answer["routing"], answer["function_version"]) == ("v1", "default", "1"), answer
    assert answer["label"] in answer["scores"]

    # 2. a code change -----------------------------------------------------------------------------
    module = project.root / CHANGED_MODULE
    module.write_text(module.read_text() + "\n# deploy rehearsal: a code change\n")
    project.timed("rebuild after a code change", project.build)
    project.timed("deploy (code change)", project.deploy)
    second = read_deployment(emulator)
    assert second.status == "UPDATE_COMPLETE"
    assert set(second.versions) == {"1", "2"}  # version 1 is kept
    assert second.versions["1"]["CodeSha256"] == first.versions["1"]["CodeSha256"]
    assert second.versions["2"]["CodeSha256"] != second.versions["1"]["CodeSha256"]
    assert second.versions["2"]["Layers"] == second.versions["1"]["Layers"]  # only the code changed
    assert fingerprint(second.versions["2"]) == fingerprint(second.versions["1"])
    assert_live(second, "2")
    answer = project.timed("request after the code change", lambda: predict(emulator, second))
    assert (answer["model_version"], answer["function_version"]) == ("v1", "2"), answer

    # 3. a configuration-only change ----------------------------------------------------------------
    overrides = parameter_overrides_with(project.root / "samconfig.toml", LogLevel="INFO")
    project.timed("deploy (LogLevel=INFO)", lambda: project.deploy("--parameter-overrides", overrides))
    third = read_deployment(emulator)
    assert third.status == "UPDATE_COMPLETE"
    assert set(third.versions) == {"1", "2", "3"}
    assert third.versions["3"]["CodeSha256"] == third.versions["2"]["CodeSha256"]
    assert third.versions["3"]["Layers"] == third.versions["2"]["Layers"]
    assert third.versions["3"]["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert fingerprint(third.versions["3"])["obs"][0] == "INFO"
    assert third.versions["2"]["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "DEBUG"  # immutable
    assert_live(third, "3")
    answer = project.timed("request after the config change", lambda: predict(emulator, third))
    assert (answer["model_version"], answer["function_version"]) == ("v1", "3"), answer
    # Older versions are kept and still run as themselves (what rolling `live` back relies on); version 2,
    # invoked right after version 3 with the same code, in an execution environment of its own.
    for version in ("2", "1"):
        answer = project.timed(f"invoke version {version}", partial(invoke, emulator, third, version))
        assert (answer["model_version"], answer["function_version"]) == ("v1", version), answer

    # 4. delete --------------------------------------------------------------------------------------
    project.timed("sam delete", lambda: project.sam_run("delete", "--no-prompts"))
    cfn = emulator.client("cloudformation")
    stacks = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert stacks.get(STACK, "DELETE_COMPLETE") == "DELETE_COMPLETE", stacks
    function = third.outputs["FunctionName"]
    assert function not in {f["FunctionName"] for f in emulator.client("lambda").list_functions()["Functions"]}
    assert not emulator.client("apigateway").get_rest_apis()["items"]
    assert not emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]

    total = time.monotonic() - started
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in project.timings.items())
    print(f"\n[e2e] deploy rehearsal: {total:.1f} s; {phases}")
