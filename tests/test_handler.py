"""The Lambda entry point: every file in events/, stage prefixes, odd events, logs and EMF."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from devsupport.events import EVENTS_DIR, rest_event
from tests.conftest import json_lines

EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))


def expected_status(name: str) -> int:
    """Event files are named for their outcome: *-422.json, *-404.json, *-413.json, else 200."""
    stem = Path(name).stem
    last = stem.rsplit("-", 1)[-1]
    return int(last) if last.isdigit() else 200


def test_there_are_events_for_both_api_gateway_formats():
    names = {path.name for path in EVENT_FILES}
    assert any(name.startswith("apigw-v1-") for name in names)
    assert any(name.startswith("apigw-v2-") for name in names)


@pytest.mark.parametrize("event_file", EVENT_FILES, ids=lambda path: path.name)
def test_every_event_file_replays_through_the_handler(load_handler, lambda_context, event_file: Path):
    handler = load_handler()
    event = json.loads(event_file.read_text())
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == expected_status(event_file.name), response["body"][:300]
    headers = {key.lower(): value for key, value in response["headers"].items()}
    request_id = event["requestContext"]["requestId"]
    assert headers["x-request-id"] == request_id
    if "predict" in event_file.name and response["statusCode"] == 200:
        body = json.loads(response["body"])
        assert body["request_id"] == request_id
        assert body["model_version"] == headers["x-model-version"]
        if "fallback" in event_file.name:
            assert body["routing"] == "fallback" and body["fallback"] is True
        if "v2" in event_file.stem.split("predict", 1)[1]:
            assert body["model_version"] == "v2" and body["routing"] == "explicit"
        if "v3" in event_file.stem.split("predict", 1)[1]:  # the scikit-learn runtime
            assert body["model_version"] == "v3" and body["routing"] == "explicit"


def _rest_event(path: str, method: str = "GET", stage: str = "Prod", body: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Host": "abc.execute-api.us-east-1.amazonaws.com"}
    return rest_event(
        method, path, body, headers=headers, stage=stage, request_id="req-stage-1", source_ip="203.0.113.9"
    )


def test_docs_work_behind_the_stage_prefix(load_handler, lambda_context):
    handler = load_handler()
    docs = handler.lambda_handler(_rest_event("/docs"), lambda_context)
    assert docs["statusCode"] == 200
    assert "'/Prod/openapi.json'" in docs["body"] or '"/Prod/openapi.json"' in docs["body"]
    spec = handler.lambda_handler(_rest_event("/openapi.json"), lambda_context)
    assert spec["statusCode"] == 200 and "/predict" in json.loads(spec["body"])["paths"]


def test_http_api_named_stage_prefix(load_handler, lambda_context):
    handler = load_handler()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/beta/docs",
        "rawQueryString": "",
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "requestId": "req-v2-stage",
            "stage": "beta",
            "http": {"method": "GET", "path": "/beta/docs", "sourceIp": "203.0.113.9"},
        },
        "isBase64Encoded": False,
    }
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert "/beta/openapi.json" in response["body"]


def test_alb_event_uses_the_lambda_request_id(load_handler, lambda_context):
    handler = load_handler()
    event = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
        "httpMethod": "POST",
        "path": "/predict",
        "queryStringParameters": {},
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"text": "works behind a load balancer"}),
        "isBase64Encoded": False,
    }
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["request_id"] == lambda_context.aws_request_id


@pytest.mark.parametrize("event", [{}, {"source": "aws.events", "detail-type": "Scheduled Event"}, [], "ping"])
def test_non_http_events_get_a_clean_answer(load_handler, lambda_context, event):
    response = load_handler().lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ignored"


def test_one_structured_log_line_per_request_without_the_text(load_handler, lambda_context, service_output):
    handler = load_handler()
    secret_text = "my card number is 4111 and I am furious"
    event = _rest_event("/predict", "POST", body=json.dumps({"text": secret_text}))
    event["queryStringParameters"] = {"model_version": "v9"}
    handler.lambda_handler(event, lambda_context)
    output = service_output()
    assert secret_text not in output and "4111" not in output
    lines = [line for line in json_lines(output) if line.get("message") == "prediction served"]
    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "INFO"
    assert line["correlation_id"] == "req-stage-1" and line["request_id"] == "req-stage-1"
    assert line["model_version"] == "v1" and line["requested_version"] == "v9"
    assert line["routing"] == "fallback" and line["fallback"] is True and "v9" in line["fallback_reason"]
    assert line["cache"] in {"MISS", "HIT"} and line["latency_ms"] > 0
    assert line["text_chars"] == len(secret_text)


def test_log_lines_carry_the_lambda_context_and_keep_the_api_request_id(
    load_handler, lambda_context, service_output, monkeypatch
):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")  # must not make the event (and its text) a log line
    handler = load_handler()
    secret_text = "my card number is 4111"
    for n in range(2):
        lambda_context.aws_request_id = f"lambda-request-{n}"
        event = _rest_event("/predict", "POST", body=json.dumps({"text": secret_text}))
        event["requestContext"]["requestId"] = f"api-request-{n}"
        handler.lambda_handler(event, lambda_context)
    output = service_output()
    assert "4111" not in output
    lines = [line for line in json_lines(output) if line.get("message") == "prediction served"]
    assert [line["function_request_id"] for line in lines] == ["lambda-request-0", "lambda-request-1"]
    assert [line["correlation_id"] for line in lines] == ["api-request-0", "api-request-1"]
    assert [line["cold_start"] for line in lines] == [True, False]
    for line in lines:
        assert line["function_name"] == lambda_context.function_name
        assert line["function_arn"] == lambda_context.invoked_function_arn
        assert line["function_memory_size"] == lambda_context.memory_limit_in_mb
        assert line["function_version"] == "7"


def test_emf_metrics_are_flushed_once_per_invocation(load_handler, lambda_context, service_output):
    handler = load_handler(POWERTOOLS_METRICS_NAMESPACE="SentimentInference")
    event = _rest_event("/predict", "POST", body=json.dumps({"text": "battery life is great"}))
    event["queryStringParameters"] = {"model_version": "v9"}
    handler.lambda_handler(event, lambda_context)
    documents = [line for line in json_lines(service_output()) if "_aws" in line]
    app_docs = [doc for doc in documents if "Predictions" in doc]
    assert len(app_docs) == 1
    doc = app_docs[0]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "SentimentInference"
    assert set(directive["Dimensions"][0]) == {"service", "model_version"}
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert units["Predictions"] == "Count"
    assert units["InferenceLatency"] == "Milliseconds"
    assert units["Fallbacks"] == "Count"
    assert units["LoadedModelVersions"] == "Count"
    assert ("CacheMisses" in units) or ("CacheHits" in units)
    # One request, one value of each metric (EMF takes a number or a list of numbers).
    assert doc["model_version"] == "v1" and doc["Fallbacks"] == 1 and doc["Predictions"] == 1
    # The same line is the request's log record: one line per request carries both.
    assert doc["message"] == "prediction served" and doc["routing"] == "fallback"


def test_a_log_level_above_info_hides_the_record_but_keeps_the_metrics(
    load_handler, lambda_context, service_output, monkeypatch
):
    from serving.observability import logger

    handler = load_handler()
    monkeypatch.setattr(logger._logger, "level", logging.WARNING)  # as POWERTOOLS_LOG_LEVEL=WARNING sets it
    handler.lambda_handler(_rest_event("/predict", "POST", body=json.dumps({"text": "quiet please"})), lambda_context)
    (doc,) = [line for line in json_lines(service_output()) if "Predictions" in line]
    assert "message" not in doc and "request_id" not in doc  # no log record at WARNING
    assert doc["Predictions"] == 1 and doc["model_version"] == "v1" and doc["service"]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert {metric["Name"] for metric in directive["Metrics"]} >= {"Predictions", "InferenceLatency"}


def test_server_errors_are_counted_per_function_version(
    load_handler, lambda_context, service_output, monkeypatch, models_copy
):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    (models_copy / "v1" / "model.ltm").unlink()  # the default is there but cannot load: 503
    handler = load_handler(MODELS_DIR=str(models_copy))
    response = handler.lambda_handler(_rest_event("/predict", "POST", body=json.dumps({"text": "hi"})), lambda_context)
    assert response["statusCode"] == 503
    documents = [doc for doc in json_lines(service_output()) if "ServerErrors" in doc]
    assert len(documents) == 1
    assert documents[0]["function_version"] == "7"
    assert json.loads(response["body"])["error"] == "model_unavailable"


def test_snapstart_hooks_warm_the_default_model_and_reconnect_redis(
    load_handler, lambda_context, monkeypatch, redis_server
):
    import sys
    import types

    hooks: dict[str, list] = {"before": [], "after": []}
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_before_snapshot = hooks["before"].append
    fake.register_after_restore = hooks["after"].append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    handler = load_handler(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    service = handler.app.state.service
    assert len(hooks["before"]) == 1 and len(hooks["after"]) == 1
    assert service.registry.loaded_versions() == []
    hooks["before"][0]()
    assert service.registry.loaded_versions() == ["v1"]
    event = _rest_event("/predict", "POST", body=json.dumps({"text": "restored from a snapshot"}))
    assert json.loads(handler.lambda_handler(event, lambda_context)["body"])["cache"] == "MISS"
    pool = service.cache.shared._client.connection_pool
    assert any(connection._sock is not None for connection in pool._available_connections)
    hooks["after"][0]()
    # Every socket from before the snapshot is closed; the next request opens a fresh one and hits.
    assert all(connection._sock is None for connection in pool._available_connections)
    assert json.loads(handler.lambda_handler(event, lambda_context)["body"])["cache"] == "HIT"
