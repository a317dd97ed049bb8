"""Lambda events the adapter cannot read are answered (JSON 400, or the non-HTTP answer), never raised.

An exception out of the handler would reach API Gateway as a bare 502 and Lambda's logs with a
stack trace; an answer says what was wrong and keeps the request id.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devsupport.events import EVENTS_DIR, load_event
from tests.conftest import json_lines

SECRET_TEXT = "my card number is 4111 1111"
ERROR_FIELDS = {"request_id", "error", "message", "details"}


def _event(name: str) -> dict[str, Any]:
    return load_event(name, body=json.dumps({"text": SECRET_TEXT}))


def _v1() -> dict[str, Any]:
    return _event("apigw-v1-predict-default-200.json")


def _v2() -> dict[str, Any]:
    return _event("apigw-v2-predict-default-200.json")


def _changed(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``event`` with the field at ``a.b.c`` set to ``value`` (or removed, for ``...``)."""
    event = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = event
    for key in parents:
        target = target[key]
    if value is ...:
        target.pop(last, None)
    else:
        target[last] = value
    return event


API_ID = "5e9710e0-0000-0000-0000-000000000000"  # the requestId of the committed predict events
MALFORMED: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (event, the request id of the answer, a fragment of its message)
    "body-not-base64": (_changed(_v2(), "isBase64Encoded", True), API_ID, "not valid base64"),
    "rest-without-request-context": (_changed(_v1(), "requestContext", ...), "lambda", "no requestContext object"),
    "rest-null-request-context": (_changed(_v1(), "requestContext", None), "lambda", "no requestContext object"),
    "http-api-null-request-context": (_changed(_v2(), "requestContext", None), "lambda", "no requestContext object"),
    "http-api-null-headers": (_changed(_v2(), "headers", None), API_ID, "wrong type"),
    "host-port-not-a-number": (_changed(_v2(), "headers.host", "h:notaport"), API_ID, "Host must be host[:port]"),
    "host-with-two-colons": (_changed(_v2(), "headers.host", "a:b:c"), API_ID, "Host must be host[:port]"),
    "http-without-source-ip": (_changed(_v2(), "requestContext.http.sourceIp", ...), API_ID, "sourceIp is missing"),
    "only-an-http-method": ({"httpMethod": "POST"}, "lambda", "no requestContext object"),
    "empty-alb-context": ({"requestContext": {"elb": {}}}, "lambda", "headers is missing"),
    "method-not-a-string": (_changed(_v1(), "httpMethod", ["POST"]), API_ID, "not a valid HTTP method"),
    "method-not-a-token": (_changed(_v2(), "requestContext.http.method", "PO ST"), API_ID, "not a valid HTTP method"),
}


def _headers(response: dict[str, Any]) -> dict[str, str]:
    if "multiValueHeaders" in response and not response.get("headers"):
        return {name.lower(): values[-1] for name, values in response["multiValueHeaders"].items()}
    return {name.lower(): value for name, value in response["headers"].items()}


@pytest.mark.parametrize(("event", "request_id", "fragment"), MALFORMED.values(), ids=list(MALFORMED))
def test_an_unreadable_http_event_gets_a_json_400_saying_why(
    load_handler, lambda_context, service_output, event, request_id, fragment
):
    handler = load_handler()
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400, response
    body = json.loads(response["body"])
    assert set(body) == ERROR_FIELDS and body["error"] == "bad_request" and body["details"] is None
    assert fragment in body["message"]
    expected_id = lambda_context.aws_request_id if request_id == "lambda" else request_id
    assert body["request_id"] == expected_id
    headers = _headers(response)
    assert headers["x-request-id"] == expected_id and headers["content-type"] == "application/json"
    # Logged without the event's contents, under the same request id.
    output = service_output()
    assert "4111" not in output
    if "method" not in fragment:  # refused by the handler (Mangum could not read it), not by the app
        lines = [line for line in json_lines(output) if line.get("message") == "unreadable HTTP event refused"]
        assert len(lines) == 1 and lines[0]["correlation_id"] == expected_id
        assert lines[0]["level"] == "WARNING" and lines[0]["reason"] in body["message"]


def test_an_alb_target_group_with_multi_value_headers_gets_them_in_that_form(load_handler, lambda_context):
    event = {"requestContext": {"elb": {}}, "httpMethod": "GET", "path": "/health", "multiValueHeaders": None}
    response = load_handler().lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert "headers" not in response
    assert response["multiValueHeaders"]["x-request-id"] == [lambda_context.aws_request_id]


def test_a_failure_after_the_event_was_read_is_a_500_answer_not_an_exception(
    load_handler, lambda_context, service_output, monkeypatch
):
    from mangum.protocols.http import HTTPCycle

    def broken(self: Any, app: Any) -> Any:
        raise RuntimeError(f"event loop trouble while serving {SECRET_TEXT}")

    handler = load_handler()
    monkeypatch.setattr(HTTPCycle, "__call__", broken)
    response = handler.lambda_handler(_v2(), lambda_context)
    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["error"] == "internal_error" and body["request_id"] == API_ID
    output = service_output()
    assert "4111" not in output  # the exception's message is not logged: type and stack only
    assert any(line.get("error_type") == "RuntimeError" for line in json_lines(output))
    assert any("ServerErrors" in line for line in json_lines(output))


@pytest.mark.parametrize("event", [{"version": "2.0"}, {"requestContext": None}, {"body": "x"}, None, 7])
def test_events_without_an_http_request_get_the_non_http_answer(load_handler, lambda_context, event):
    response = load_handler().lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ignored"


# ---- any event-shaped dict --------------------------------------------------------------------

_leaf = st.none() | st.booleans() | st.integers(-1, 70000) | st.text(max_size=12)
_json = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_hosts = st.sampled_from(["localhost", "h:443", "h:notaport", "a:b:c", "[::1]:80", "", ":", "h:"])
_strings = st.text(max_size=12) | st.sampled_from(["/predict", "/health", "/models/v1", "/docs", "POST", "GET", "2.0"])
_headers_values = st.dictionaries(
    st.sampled_from(["host", "content-type", "x-forwarded-port", "content-encoding", "x-client-id", "Content-Length"]),
    _strings | _hosts | st.sampled_from(["application/json", "gzip", "99999"]) | _json,
    max_size=4,
)
_http = st.fixed_dictionaries(
    {}, optional={"method": _strings | _json, "path": _strings | _json, "sourceIp": _strings | _json}
)
_request_context = (
    st.none()
    | _json
    | st.fixed_dictionaries(
        {},
        optional={
            "requestId": _strings | _json,
            "stage": _strings | _json,
            "path": _strings | _json,
            "http": _http | _json,
            "elb": st.just({}) | _json,
            "identity": st.just({"sourceIp": "203.0.113.9"}) | _json,
        },
    )
)
_random_events = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from(["1.0", "2.0"]) | _json,
        "resource": _strings | _json,
        "routeKey": _strings | _json,
        "httpMethod": _strings | _json,
        "path": _strings | _json,
        "rawPath": _strings | _json,
        "rawQueryString": _strings | _json,
        "headers": _headers_values | _json,
        "multiValueHeaders": st.dictionaries(st.sampled_from(["host", "content-type"]), st.lists(_strings)) | _json,
        "queryStringParameters": st.dictionaries(_strings, _strings, max_size=2) | _json,
        "multiValueQueryStringParameters": _json,
        "cookies": st.lists(_strings, max_size=2) | _json,
        "requestContext": _request_context,
        "body": st.sampled_from(['{"text": "hi"}', "aGk=", "not base64!"]) | _json,
        "isBase64Encoded": st.booleans() | _json,
    },
)
_FILES = sorted(path.name for path in EVENTS_DIR.glob("*.json"))
_FIELDS = [
    "body",
    "isBase64Encoded",
    "headers",
    "headers.host",
    "headers.content-type",
    "requestContext",
    "requestContext.http",
    "requestContext.requestId",
    "rawQueryString",
    "queryStringParameters",
    "httpMethod",
    "path",
    "version",
]


@st.composite
def _mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A committed event with a few fields removed or replaced: close enough to real to go deep into Mangum."""
    event = load_event(draw(st.sampled_from(_FILES)))
    for path in draw(st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=3)):
        try:
            event = _changed(event, path, draw(st.just(...) | _json | _hosts | _strings))
        except (KeyError, TypeError, AttributeError):
            continue  # a parent was removed or replaced by an earlier change
    return event


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=_random_events | _mutated_events())
def test_any_event_shaped_dict_gets_an_answer(load_handler_once, lambda_context, event):
    response = load_handler_once.lambda_handler(event, lambda_context)
    assert isinstance(response["statusCode"], int) and isinstance(response["body"], str)
    assert response["statusCode"] in {200, 307, 400, 404, 405, 413, 415, 422}, response
    if response["statusCode"] >= 400:
        body = json.loads(response["body"])
        assert set(body) == ERROR_FIELDS, body
        assert _headers(response)["x-request-id"] == body["request_id"]


@pytest.fixture
def load_handler_once(load_handler, committed_models: Path) -> Any:
    return load_handler()
