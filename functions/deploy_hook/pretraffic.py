"""CodeDeploy BeforeAllowTraffic hook: prove the new version answers before it gets any traffic.

CodeDeploy invokes this with ``{"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}``.
We invoke the NEW version directly (its qualified ARN comes from env ``NEW_VERSION_ARN``,
set in the template to ``!Ref InferenceFunction.Version``) with API Gateway REST (v1) proxy
events, check every answer, and report Succeeded or Failed back to CodeDeploy. Failed stops the
deployment before any traffic shifts. The function must be named ``CodeDeployHook_*``: SAM's
CodeDeploy role may only invoke functions with that prefix.

Only boto3 (part of the Lambda Python runtime) is used.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

logger = logging.getLogger()
logger.setLevel(logging.INFO)

LABELS = frozenset({"negative", "neutral", "positive"})
VERSION_ENV = "NEW_VERSION_ARN"


@dataclass(frozen=True)
class Case:
    """One known request and what a healthy version must answer."""

    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    expected_label: str | None = None


# Texts any usable sentiment model gets right; a miss means a broken model or pipeline.
CASES: tuple[Case, ...] = (
    Case("predict-positive", "POST", "/predict", {"text": "I love it, this is wonderful, thank you!"}, "positive"),
    Case("predict-negative", "POST", "/predict", {"text": "This is terrible, I hate it, worst ever"}, "negative"),
    Case("health", "GET", "/health"),
)


@dataclass(frozen=True)
class CheckResult:
    case: str
    ok: bool
    detail: str


def api_gateway_event(case: Case, request_id: str) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event, as Mangum expects it."""
    headers = {"Accept": "application/json", "User-Agent": "CodeDeployHook-pretraffic"}
    body = None
    if case.body is not None:
        headers["Content-Type"] = "application/json"  # FastAPI rejects a JSON body without it
        body = json.dumps(case.body)
    return {
        "resource": case.path,
        "path": case.path,
        "httpMethod": case.method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": case.path,
            "httpMethod": case.method,
            "path": case.path,
            "stage": "pretraffic",
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers["User-Agent"]},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def version_of(arn: str) -> str | None:
    """The qualifier of a qualified function ARN (``...:function:name:7`` -> ``7``)."""
    parts = arn.split(":")
    return parts[7] if len(parts) == 8 else None


def evaluate(case: Case, response: dict[str, Any], expected_version: str | None = None) -> CheckResult:
    """Judge one Invoke response; ``response['Payload']`` may be bytes or a stream."""

    def fail(detail: str) -> CheckResult:
        return CheckResult(case.name, False, detail)

    if response.get("StatusCode") != 200:
        return fail(f"Invoke returned StatusCode {response.get('StatusCode')}")
    raw = response.get("Payload", b"")
    raw = raw.read() if hasattr(raw, "read") else raw
    # A failed invocation can still come back with StatusCode 200: FunctionError is the signal.
    if response.get("FunctionError"):
        return fail(f"function error {response['FunctionError']}: {raw[:300]!r}")
    try:
        answer = json.loads(raw)
        body_text = answer["body"] or ""
        if answer.get("isBase64Encoded"):
            body_text = base64.b64decode(body_text).decode()
        status = answer["statusCode"]
    except (ValueError, KeyError, TypeError) as exc:
        return fail(f"not an API Gateway proxy response ({exc}): {raw[:300]!r}")
    if status != 200:
        return fail(f"HTTP {status}: {body_text[:300]}")
    try:
        body = json.loads(body_text)
    except ValueError:
        return fail(f"body is not JSON: {body_text[:300]!r}")
    if not isinstance(body, dict):
        return fail(f"body is not a JSON object: {body_text[:300]!r}")
    served_by = body.get("function_version")
    if expected_version and served_by is not None and str(served_by) != expected_version:
        return fail(f"answered by function version {served_by}, expected {expected_version}")
    if case.expected_label is not None:
        label = body.get("label")
        if label not in LABELS:
            return fail(f"label {label!r} is not one of {sorted(LABELS)}")
        if label != case.expected_label:
            return fail(f"label {label!r}, expected {case.expected_label!r} for {case.body}")
        if body.get("fallback"):
            # The default model did not serve: the new version is not healthy even if the label is right.
            return fail(f"served by fallback model {body.get('model_version')!r}: {body.get('fallback_reason')}")
        return CheckResult(case.name, True, f"label {label} from model {body.get('model_version')}")
    return CheckResult(case.name, True, f"HTTP 200, status {body.get('status')!r}")


def run_checks(lambda_client: Any, version_arn: str) -> list[CheckResult]:
    expected_version = version_of(version_arn)
    results = []
    for case in CASES:
        event = api_gateway_event(case, f"pretraffic-{uuid.uuid4()}")
        try:
            response = lambda_client.invoke(
                FunctionName=version_arn, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
            )
        except Exception as exc:  # any failure to invoke (throttle, timeout, permissions) fails the deployment
            results.append(CheckResult(case.name, False, f"Invoke failed: {exc}"))
            continue
        results.append(evaluate(case, response, expected_version))
    return results


def decide(version_arn: str | None, lambda_client: Any) -> tuple[str, list[CheckResult]]:
    """Succeeded only if the ARN names a published version and every check passed."""
    if not version_arn:
        return "Failed", [CheckResult("config", False, f"{VERSION_ENV} is not set")]
    version = version_of(version_arn)
    if version is None or not version.isdigit():
        # An unqualified ARN or $LATEST would test code that is not what CodeDeploy is shifting to.
        return "Failed", [CheckResult("config", False, f"{VERSION_ENV}={version_arn} is not a published version ARN")]
    results = run_checks(lambda_client, version_arn)
    return ("Succeeded" if all(r.ok for r in results) else "Failed"), results


def run_hook(event: dict[str, Any], lambda_client: Any, codedeploy_client: Any, version_arn: str | None) -> str:
    try:
        status, results = decide(version_arn, lambda_client)
    except Exception as exc:  # CodeDeploy must always hear back, or it waits until the hook times out
        logger.exception("pre-traffic checks crashed")
        status, results = "Failed", [CheckResult("hook", False, f"checks crashed: {exc}")]
    logger.info(
        json.dumps(
            {
                "message": "pre-traffic checks",
                "deployment_id": event.get("DeploymentId"),
                "version_arn": version_arn,
                "status": status,
                "checks": [asdict(r) for r in results],
            }
        )
    )
    codedeploy_client.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return status


@cache
def _clients() -> tuple[Any, Any]:
    # The inference function times out within 29 s (API Gateway's limit), cold start included:
    # 60 s covers any answer it can give; no retries, a failed check must not be papered over.
    invoke_config = Config(read_timeout=60, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("lambda", config=invoke_config), boto3.client("codedeploy")


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    lambda_client, codedeploy_client = _clients()
    status = run_hook(event, lambda_client, codedeploy_client, os.environ.get(VERSION_ENV))
    return {"status": status}
