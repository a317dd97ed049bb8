"""The CodeDeploy pre-traffic hook: its verdict on each kind of answer, and what it reports to CodeDeploy.

moto's CodeDeploy does not implement PutLifecycleEventHookExecutionStatus and moto cannot run
Lambda code here, so CodeDeploy is a botocore Stubber (which also checks the exact parameters)
and Lambda is a fake that returns Invoke responses with payload bytes.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pretraffic
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from pretraffic import CASES, Case, evaluate, run_hook

ARN = "arn:aws:lambda:us-east-1:123456789012:function:sentiment-inference:7"
EVENT = {"DeploymentId": "d-ABC123", "LifecycleEventHookExecutionId": "hook-exec-1"}
POSITIVE, NEGATIVE, HEALTH = CASES

Answer = Callable[[dict[str, Any]], dict[str, Any]]


def proxy_payload(status: int, body: Any, *, b64: bool = False) -> bytes:
    text = body if isinstance(body, str) else json.dumps(body)
    if b64:
        text = base64.b64encode(text.encode()).decode()
    return json.dumps(
        {"statusCode": status, "headers": {"content-type": "application/json"}, "body": text, "isBase64Encoded": b64}
    ).encode()


def invoke_response(
    payload: bytes | StreamingBody, *, status: int = 200, function_error: str | None = None
) -> dict[str, Any]:
    resp: dict[str, Any] = {"StatusCode": status, "Payload": payload, "ExecutedVersion": "7"}
    if function_error:
        resp["FunctionError"] = function_error
    return resp


def good_body(path: str, text: str | None) -> dict[str, Any]:
    if path == "/health":
        return {"status": "ok", "function_version": "7"}
    label = "positive" if text == POSITIVE.body["text"] else "negative"  # type: ignore[index]
    return {"label": label, "model_version": "v1", "fallback": False, "function_version": "7"}


def healthy(event: dict[str, Any]) -> dict[str, Any]:
    text = json.loads(event["body"])["text"] if event["body"] else None
    return invoke_response(proxy_payload(200, good_body(event["path"], text)))


class FakeLambda:
    """Answers Invoke from a function of the API Gateway event; records what was invoked."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert InvocationType == "RequestResponse"
        event = json.loads(Payload)
        self.calls.append((FunctionName, event))
        return self.answer(event)


def stubbed_codedeploy(expected_status: str) -> tuple[Any, Stubber]:
    cd = boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(cd)
    stub.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-exec-1"},
        {"deploymentId": "d-ABC123", "lifecycleEventHookExecutionId": "hook-exec-1", "status": expected_status},
    )
    stub.activate()
    return cd, stub


# --- the verdict on one answer --------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_good_answers_pass(case: Case) -> None:
    event = pretraffic.api_gateway_event(case, "req-1")
    payload = healthy(event)["Payload"]
    assert evaluate(case, invoke_response(payload), "7").ok
    stream = StreamingBody(io.BytesIO(payload), len(payload))  # what boto3 really returns
    assert evaluate(case, invoke_response(stream), "7").ok


def test_base64_body_is_decoded() -> None:
    payload = proxy_payload(200, {"label": "negative", "fallback": False}, b64=True)
    assert evaluate(NEGATIVE, invoke_response(payload)).ok


@pytest.mark.parametrize(
    ("case", "response", "reason"),
    [
        (POSITIVE, invoke_response(proxy_payload(200, {"label": "negative"})), "expected 'positive'"),
        (NEGATIVE, invoke_response(proxy_payload(200, {"label": "neutral"})), "expected 'negative'"),
        (POSITIVE, invoke_response(proxy_payload(200, {"label": "happy"})), "not one of"),
        (POSITIVE, invoke_response(proxy_payload(200, {"scores": {}})), "not one of"),
        # moto (and Lambda for an unhandled exception) answers StatusCode 200 with FunctionError set
        (POSITIVE, invoke_response(b'{"errorMessage": "boom"}', function_error="Unhandled"), "function error"),
        (HEALTH, invoke_response(proxy_payload(200, {"status": "ok"}), function_error="Handled"), "function error"),
        (POSITIVE, invoke_response(proxy_payload(500, {"error": "internal_error"})), "HTTP 500"),
        (HEALTH, invoke_response(proxy_payload(503, {"status": "unhealthy"})), "HTTP 503"),
        (POSITIVE, invoke_response(b"", status=500), "StatusCode 500"),
        (POSITIVE, invoke_response(b"not json"), "not an API Gateway proxy response"),
        (POSITIVE, invoke_response(proxy_payload(200, "<html>")), "not JSON"),
        (HEALTH, invoke_response(proxy_payload(200, "[1, 2]")), "not a JSON object"),
        (
            POSITIVE,
            invoke_response(proxy_payload(200, {"label": "positive", "fallback": True, "model_version": "v0"})),
            "fallback",
        ),
        (
            POSITIVE,
            invoke_response(proxy_payload(200, {"label": "positive", "function_version": "6"})),
            "expected 7",
        ),
    ],
)
def test_bad_answers_fail(case: Case, response: dict[str, Any], reason: str) -> None:
    result = evaluate(case, response, "7")
    assert not result.ok
    assert reason in result.detail


def test_events_are_api_gateway_rest_events_mangum_understands() -> None:
    from mangum.handlers.api_gateway import APIGateway

    config = {"api_gateway_base_path": "/", "text_mime_types": [], "exclude_headers": []}
    for case in CASES:
        event = pretraffic.api_gateway_event(case, "req-1")
        assert APIGateway.infer(event, None, config)  # type: ignore[arg-type]
        scope = APIGateway(event, None, config).scope  # type: ignore[arg-type]
        assert (scope["method"], scope["path"]) == (case.method, case.path)
        if case.body is not None:
            assert dict(scope["headers"])[b"content-type"] == b"application/json"
            assert json.loads(event["body"]) == case.body


def test_cases_cover_both_clear_labels_and_health() -> None:
    assert {c.expected_label for c in CASES} == {"positive", "negative", None}
    assert {c.path for c in CASES} == {"/predict", "/health"}


# --- what CodeDeploy hears ------------------------------------------------------------------------


def _wrong_negative(event: dict[str, Any]) -> dict[str, Any]:
    if event["body"] and "hate" in event["body"]:
        return invoke_response(proxy_payload(200, {"label": "positive", "fallback": False}))
    return healthy(event)


def _crashing_health(event: dict[str, Any]) -> dict[str, Any]:
    if event["path"] == "/health":
        return invoke_response(b'{"errorType": "Runtime.ExitError"}', function_error="Unhandled")
    return healthy(event)


def _server_error(event: dict[str, Any]) -> dict[str, Any]:
    return invoke_response(proxy_payload(500, {"error": "internal_error"}))


def _throttled(event: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("TooManyRequestsException: Rate exceeded")


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (healthy, "Succeeded"),
        (_wrong_negative, "Failed"),
        (_crashing_health, "Failed"),
        (_server_error, "Failed"),
        (_throttled, "Failed"),
    ],
    ids=["good", "wrong-label", "function-error", "non-200", "invoke-raises"],
)
def test_hook_reports_the_verdict_to_codedeploy(answer: Answer, status: str) -> None:
    lam = FakeLambda(answer)
    cd, stub = stubbed_codedeploy(status)

    assert run_hook(EVENT, lam, cd, ARN) == status

    stub.assert_no_pending_responses()  # reported exactly once, with these parameters
    assert [name for name, _ in lam.calls] == [ARN] * len(CASES)  # the new version itself, every case


@pytest.mark.parametrize(
    "arn",
    [None, "", "arn:aws:lambda:us-east-1:123456789012:function:sentiment-inference", f"{ARN[:-2]}:$LATEST"],
)
def test_hook_fails_without_a_published_version_to_test(arn: str | None) -> None:
    lam = FakeLambda(healthy)
    cd, stub = stubbed_codedeploy("Failed")

    assert run_hook(EVENT, lam, cd, arn) == "Failed"

    stub.assert_no_pending_responses()
    assert lam.calls == []


def test_hook_still_reports_when_the_checks_crash() -> None:
    lam = FakeLambda(lambda event: None)  # type: ignore[arg-type,return-value]
    cd, stub = stubbed_codedeploy("Failed")

    assert run_hook(EVENT, lam, cd, ARN) == "Failed"
    stub.assert_no_pending_responses()


def test_handler_takes_the_version_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    lam = FakeLambda(healthy)
    cd, stub = stubbed_codedeploy("Succeeded")
    monkeypatch.setattr(pretraffic, "_clients", lambda: (lam, cd))
    monkeypatch.setenv("NEW_VERSION_ARN", ARN)

    assert pretraffic.handler(EVENT, None) == {"status": "Succeeded"}
    stub.assert_no_pending_responses()


# --- against the real inference app ---------------------------------------------------------------


def test_hook_passes_against_the_real_app(
    load_handler: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook's events and expectations hold for the real FastAPI app and committed models."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    app = load_handler()

    def real(event: dict[str, Any]) -> dict[str, Any]:
        return invoke_response(json.dumps(app.lambda_handler(event, lambda_context)).encode())

    lam = FakeLambda(real)
    results = pretraffic.run_checks(lam, ARN)
    assert all(r.ok for r in results), results
