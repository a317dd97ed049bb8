"""The HTTP contract, in process, through the same composition the Lambda handler uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PREDICT_FIELDS = {
    "request_id",
    "label",
    "scores",
    "model_version",
    "requested_version",
    "routing",
    "fallback",
    "fallback_reason",
    "cache",
    "latency_ms",
    "function_version",
}
# Fields that may differ between a MISS answer and the HIT answer served from it.
PER_REQUEST = {"cache", "latency_ms", "request_id"}


def assert_refused(response: Any, status: int, fragment: str) -> dict[str, Any]:
    """An error answer: its status, and a message that names the problem. Returns the JSON body."""
    assert response.status_code == status, response.text
    payload = response.json()
    assert fragment in payload["message"], payload
    return payload


def test_predict_answers_every_documented_field(make_client):
    client = make_client()
    response = client.post("/predict", json={"text": "I love this system"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PREDICT_FIELDS
    assert body["model_version"] == "v1"
    assert body["routing"] == "default"
    assert body["requested_version"] is None
    assert body["fallback"] is False and body["fallback_reason"] is None
    assert body["cache"] == "MISS"
    assert body["function_version"] == "$LATEST"
    assert body["latency_ms"] > 0
    assert set(body["scores"]) == {"negative", "neutral", "positive"}
    assert body["label"] == max(body["scores"], key=body["scores"].get)
    assert sum(body["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    assert response.headers["X-Request-Id"] == body["request_id"]
    assert response.headers["X-Model-Version"] == "v1"
    assert response.headers["X-Cache"] == "MISS"


def test_hit_has_the_same_fields_and_meaning_as_the_miss_it_came_from(make_client):
    client = make_client()
    for query in ("", "?model_version=v2", "?model_version=v9"):
        miss = client.post(f"/predict{query}", json={"text": "the battery died after a day"}).json()
        hit = client.post(f"/predict{query}", json={"text": "the  battery died after a day "}).json()
        assert (miss["cache"], hit["cache"]) in {("MISS", "HIT"), ("HIT", "HIT")}
        assert {k: v for k, v in hit.items() if k not in PER_REQUEST} == {
            k: v for k, v in miss.items() if k not in PER_REQUEST
        }
        assert hit["request_id"] != miss["request_id"]


def test_explicit_version_override(make_client):
    client = make_client()
    body = client.post("/predict?model_version=v2", json={"text": "great phone"}).json()
    assert body["model_version"] == "v2"
    assert body["requested_version"] == "v2"
    assert body["routing"] == "explicit"
    assert body["fallback"] is False


def test_configured_default_is_used(make_client):
    body = make_client(DEFAULT_MODEL_VERSION="v2").post("/predict", json={"text": "great phone"}).json()
    assert body["model_version"] == "v2"
    assert body["routing"] == "default"


def test_same_text_under_two_versions_gives_two_cached_answers(make_client):
    client = make_client()
    text = {"text": "not sure how I feel about the new update"}
    v1 = client.post("/predict?model_version=v1", json=text).json()
    v2 = client.post("/predict?model_version=v2", json=text).json()
    assert (v1["cache"], v2["cache"]) == ("MISS", "MISS")
    assert v1["scores"] != v2["scores"]
    again = client.post("/predict?model_version=v2", json=text).json()
    assert again["cache"] == "HIT" and again["scores"] == v2["scores"]


def test_unknown_version_falls_back_visibly(make_client):
    body = make_client().post("/predict?model_version=v9", json={"text": "meh"}).json()
    assert body["model_version"] == "v1"
    assert body["requested_version"] == "v9"
    assert body["routing"] == "fallback"
    assert body["fallback"] is True
    assert "v9" in body["fallback_reason"] and "not available" in body["fallback_reason"]


def test_tampered_version_falls_back_with_reason(make_client, models_copy: Path):
    artifact = models_copy / "v2" / "model.ltm"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))
    response = make_client(models_copy).post("/predict?model_version=v2", json={"text": "meh"})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "v1" and body["routing"] == "fallback"
    assert "integrity" in body["fallback_reason"]


def test_default_model_broken_is_503_not_500(make_client, models_copy: Path):
    (models_copy / "v1" / "model.ltm").unlink()
    client = make_client(models_copy)
    payload = assert_refused(client.post("/predict", json={"text": "hello"}), 503, "v1")
    assert payload["error"] == "model_unavailable"
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "text: Field required"),
        ({"text": ""}, "text: String should have at least 1 character"),
        ({"text": "   \n\t"}, "text must not be empty or whitespace only"),
        ({"text": 42}, "text: Input should be a valid string"),
        ({"text": None}, "text: Input should be a valid string"),
        ({"text": ["a"]}, "text: Input should be a valid string"),
        ({"text": {"nested": "x"}}, "text: Input should be a valid string"),
        ({"text": "x" * 5001}, "text: String should have at most 5000 characters"),
        ({"text": "ok", "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"text": "a\x00b"}, "text must not contain NUL characters"),
        ([], "Input should be a valid dictionary"),
    ],
)
def test_bad_input_is_422_with_a_message_naming_the_problem(make_client, body, fragment):
    response = make_client().post("/predict", json=body)
    payload = assert_refused(response, 422, fragment)
    assert payload["error"] == "invalid_input"
    assert payload["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.parametrize("version", ["../v1", "v1;drop", "*", "V1", "v0", "v" + "1" * 50, "latest", ""])
def test_malformed_version_is_422(make_client, version):
    response = make_client().post("/predict", params={"model_version": version}, json={"text": "hi"})
    assert_refused(response, 422, "model_version")


def test_malformed_json_is_422(make_client):
    response = make_client().post("/predict", content=b'{"text": ', headers={"Content-Type": "application/json"})
    assert_refused(response, 422, "not valid JSON")


def test_body_over_the_limit_is_413(make_client):
    assert_refused(make_client(MAX_BODY_BYTES="1024").post("/predict", json={"text": "x" * 2000}), 413, "1024 bytes")


def test_non_json_content_type_is_415(make_client):
    response = make_client().post("/predict", content=b"text=hi", headers={"Content-Type": "text/plain"})
    assert_refused(response, 415, "application/json")


def test_text_length_limit_is_configurable(make_client):
    client = make_client(MAX_TEXT_CHARS="10")
    assert client.post("/predict", json={"text": "x" * 10}).status_code == 200
    assert_refused(client.post("/predict", json={"text": "x" * 11}), 422, "at most 10 characters")


def test_batch_predicts_many_texts_in_one_call(make_client):
    client = make_client()
    single = client.post("/predict?model_version=v2", json={"text": "awful service"}).json()
    response = client.post("/predict/batch?model_version=v2", json={"texts": ["awful service", "what a day", "ok"]})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "v2" and body["routing"] == "explicit"
    assert [item["cache"] for item in body["results"]] == ["HIT", "MISS", "MISS"]
    assert body["results"][0]["scores"] == single["scores"]
    assert client.post("/predict/batch", json={"texts": []}).status_code == 422


def test_models_lists_versions_with_manifest_summaries(make_client):
    client = make_client()
    client.post("/predict", json={"text": "warm v1"})
    body = client.get("/models").json()
    assert body["default_version"] == "v1"
    by_version = {model["version"]: model for model in body["models"]}
    assert {"v1", "v2"} <= set(by_version)
    assert by_version["v1"]["loaded"] is True and by_version["v1"]["default"] is True
    assert by_version["v2"]["loaded"] is False
    for model in by_version.values():
        assert len(model["sha256"]) == 64 and model["size_bytes"] > 0
        assert 0 < model["metrics"]["macro_f1"] < 1


def test_model_manifest_and_unknown_version(make_client, committed_models: Path):
    client = make_client()
    body = client.get("/models/v2").json()
    assert body["version"] == "v2"
    assert (
        body["artifact"]["sha256"]
        == __import__("json").loads((committed_models / "v2" / "manifest.json").read_text())["artifact"]["sha256"]
    )
    missing = client.get("/models/v42")
    assert missing.status_code == 404 and "v42" in missing.json()["message"]
    assert client.get("/models/..%2Fetc").status_code in {404, 422}


def test_health_reports_model_and_local_cache(make_client):
    body = make_client().get("/health").json()
    assert body["status"] == "ok"
    assert body["default_model"] == {"version": "v1", "status": "ok"}
    assert body["cache"]["backend"] == "local"


def test_lazy_loading_and_load_all(make_client):
    lazy = make_client()
    assert lazy.get("/models").json()["loaded_versions"] == []
    lazy.post("/predict?model_version=v2", json={"text": "x"})
    assert lazy.get("/models").json()["loaded_versions"] == ["v2"]
    lazy.post("/predict", json={"text": "x"})
    assert lazy.get("/models").json()["loaded_versions"] == ["v1", "v2"]
    states = {m["version"]: m["status"] for m in lazy.get("/models").json()["models"]}
    assert states == {"v1": "available", "v2": "available", "v3": "unverified"}  # v3 never tried here
    eager = make_client(LOAD_ALL_MODELS="true")
    assert eager.get("/models").json()["loaded_versions"] == ["v1", "v2", "v3"]  # v3 through the scikit-learn runtime


def test_docs_and_openapi(make_client):
    client = make_client()
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    spec = client.get("/openapi.json").json()
    assert {"/predict", "/predict/batch", "/models", "/models/{version}", "/health"} <= set(spec["paths"])
    schema = spec["components"]["schemas"]["PredictRequest"]["properties"]["text"]
    assert schema["maxLength"] == 5000


# Requests for /predict and /predict/batch, valid and not: the plain-request path must answer each
# exactly as FastAPI's generic parameter handling does.
_EQUIVALENCE_CASES: list[tuple[str, str, bytes, str]] = [
    ("/predict", "", b'{"text": "I love this system"}', "application/json"),
    ("/predict", "?model_version=v2", b'{"text": "meh"}', "application/json"),
    ("/predict", "?model_version=v9", b'{"text": "meh"}', "application/json; charset=utf-8"),
    ("/predict", "?model_version=v2&model_version=v1&other=x", b'{"text": "meh"}', "application/json"),
    ("/predict", "?model_version=", b'{"text": "meh"}', "application/json"),
    ("/predict", "?model_version=v1%0A", b'{"text": "meh"}', "application/json"),
    ("/predict", "?model_version=x1", b'{"text": ""}', "application/json"),
    ("/predict", "?model_version=v123456789", b'{"text": "ok"}', "application/json"),
    ("/predict", "?other=1", b'{"text": "ok"}', "application/vnd.api+json"),
    ("/predict", "", b'{"text": "ok"}', "text/plain+json"),
    ("/predict", "", b"", "application/json"),
    ("/predict", "", b"[]", "application/json"),
    ("/predict", "", b"null", "application/json"),
    ("/predict", "", b'{"text": "a", "text": "b"}', "application/json"),
    ("/predict", "", b'{"text": "a", "extra": 1}', "application/json"),
    ("/predict", "", b'{"text": 5}', "application/json"),
    ("/predict", "", b'{"text": "   "}', "application/json"),
    ("/predict", "", b'{"text": "a\\u0000b"}', "application/json"),
    ("/predict", "", b'{"text": "\\ud800"}', "application/json"),
    ("/predict", "", b'{"text": "\\ud83d\\ude00 emoji"}', "application/json"),
    ("/predict", "", b'{"text": "tab\tinside"}', "application/json"),
    ("/predict", "", b'{"text": "bad utf-8 \xff"}', "application/json"),
    ("/predict", "", b'\xef\xbb\xbf{"text": "with a BOM"}', "application/json"),
    ("/predict", "", '{"text": "utf-16"}'.encode("utf-16"), "application/json"),
    ("/predict", "", b'{"text": "trailing"} x', "application/json"),
    ("/predict", "", b'{"text": "' + b"x" * 5001 + b'"}', "application/json"),
    ("/predict", "", b"[" * 5000 + b"]" * 5000, "application/json"),
    ("/predict/batch", "", b'{"texts": ["good", "bad"]}', "application/json"),
    ("/predict/batch", "?model_version=v2", b'{"texts": ["good", "good"]}', "application/json"),
    ("/predict/batch", "?model_version=v0", b'{"texts": []}', "application/json"),
    ("/predict/batch", "", b'{"texts": ["ok", " "]}', "application/json"),
    ("/predict/batch", "", b'{"texts": "not a list"}', "application/json"),
]


def _comparable(response: Any) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    try:
        body = response.json()
    except ValueError:
        return response.status_code, headers, response.text
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in {"latency_ms", "request_id"}}
        headers.pop("content-length", None)  # latency_ms and request_id vary in length
    return response.status_code, headers, body


def test_plain_requests_are_answered_as_fastapi_would(make_client, monkeypatch):
    from fastapi.routing import APIRoute

    from serving import api

    fast = make_client()
    monkeypatch.setattr(api.PlainJSONRoute, "get_route_handler", APIRoute.get_route_handler)
    generic = make_client()
    for path, query, body, content_type in _EQUIVALENCE_CASES:
        for _ in range(2):  # a MISS, then a HIT
            answers = [
                _comparable(client.post(path + query, content=body, headers={"Content-Type": content_type}))
                for client in (fast, generic)
            ]
            assert answers[0] == answers[1], (path, query, body[:60], content_type)
