"""The HTTP edge: 405 before 415, one content-type rule, content codings, and every answer documented."""

from __future__ import annotations

import email.message
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BODY = b'{"text": "I love this system"}'


@pytest.fixture(scope="module")
def client(committed_models: Path) -> Any:
    from fastapi.testclient import TestClient

    from serving.bootstrap import build_app
    from serving.config import load_settings
    from tests.conftest import settings_env

    return TestClient(build_app(load_settings(settings_env(committed_models))), raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/health", "GET"),
        ("POST", "/health", "GET"),
        ("PUT", "/models", "GET"),
        ("PATCH", "/models/v1", "GET"),
        ("DELETE", "/models/v1", "GET"),
        ("PUT", "/predict", "POST"),
        ("GET", "/predict/batch", "POST"),
    ],
)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_a_method_the_path_does_not_take_is_405_whatever_the_body(client, method, path, allowed, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.request(method, path, content=b"not json", headers=headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed
    assert response.json()["error"] == "method_not_allowed"


def test_an_unknown_path_is_404_whatever_the_body(client):
    response = client.post("/nothing-here", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 404


def _fastapi_parses_as_json(content_type: str) -> bool:
    """FastAPI's own rule (fastapi/routing.py): main type application, subtype json or *+json."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/x+json", 415),
        ("text/plain+json", 415),
        ("application/json/x", 415),
        ("application/ json", 415),
        ("application/vnd.api+json", 200),
        ("Application/Problem+JSON; charset=utf-8", 200),
    ],
)
def test_a_body_is_parsed_as_json_or_refused_with_415(client, content_type, status):
    for path, body in (("/predict", BODY), ("/predict/batch", b'{"texts": ["fine"]}')):
        response = client.post(path, content=body, headers={"Content-Type": content_type})
        assert response.status_code == status, (path, response.text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content_type=st.one_of(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30),
        st.builds(
            "{}/{}{}{}".format,
            st.sampled_from(["application", "Application", "text", " application", "application "]),
            st.sampled_from(["json", "JSON", "vnd.x+json", "+json", "json+x", " json", "x-json"]),
            st.sampled_from(["", "; charset=utf-8", " ;q=1", "/x", ",text/plain"]),
            st.sampled_from(["", " ", "\t"]),
        ),
    )
)
def test_any_content_type_gets_200_exactly_when_fastapi_would_parse_the_body_as_json(client, content_type):
    # One rule decides: a JSON body is either served or refused with 415, never a 422 for its type.
    response = client.post("/predict", content=BODY, headers={"Content-Type": content_type.encode("latin-1")})
    expected = 200 if _fastapi_parses_as_json(content_type) else 415
    assert response.status_code == expected, (content_type, response.text)


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate", "identity, gzip", "GZIP"])
def test_a_content_coding_other_than_identity_is_415(client, coding):
    response = client.post(
        "/predict",
        content=gzip.compress(BODY),
        headers={"Content-Type": "application/json", "Content-Encoding": coding},
    )
    assert response.status_code == 415
    assert response.headers["accept-encoding"] == "identity"
    body = response.json()
    assert body["error"] == "unsupported_media_type" and "Content-Encoding must be identity" in body["message"]


def test_identity_is_the_one_accepted_content_coding(client):
    headers = {"Content-Type": "application/json", "Content-Encoding": "identity"}
    assert client.post("/predict", content=BODY, headers=headers).status_code == 200


def _documented(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return spec["paths"][path][method]["responses"]


def test_every_error_an_operation_can_answer_is_documented_with_its_shape(make_client, models_copy):
    (models_copy / "v2" / "manifest.json").write_text("{not json")
    client = make_client(models_copy, MAX_BODY_BYTES="1024")
    spec = client.get("/openapi.json").json()
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    answers = {
        ("/predict", "post"): [
            client.post("/predict", content=b"x" * 2000, headers={"Content-Type": "application/json"}),
            client.post("/predict", content=BODY, headers={"Content-Type": "text/plain"}),
            client.post("/predict", json={"text": "\u200b"}),
        ],
        ("/predict/batch", "post"): [client.post("/predict/batch", json={"texts": ["ok"] * 65})],
        ("/models/{version}", "get"): [
            client.get("/models/v42"),
            client.get("/models/latest"),
            client.get("/models/v2"),
        ],
    }
    for (path, method), responses in answers.items():
        documented = _documented(spec, path, method)
        for response in responses:
            status = str(response.status_code)
            assert status in documented, (path, method, status)
            assert documented[status]["content"]["application/json"]["schema"] == error_ref, (path, status)
            assert set(response.json()) == {"request_id", "error", "message", "details"}
    assert {"413", "415", "422", "503"} <= set(_documented(spec, "/predict", "post"))
    assert "1024 bytes" in _documented(spec, "/predict/batch", "post")["413"]["description"]
    assert "HTTPValidationError" not in json.dumps(spec)  # no 422 documented with a shape it never has
