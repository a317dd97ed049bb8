"""Through real HTTP: `sam local start-api` (API Gateway emulation) -> RIE -> awslambdaric -> Mangum -> FastAPI,
with the layers as built by `sam build` and Redis on the docker network; and `sam local invoke -e` with every
file in events/. See conftest.py for how to enable these (Docker) and what runs offline."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from devsupport.events import EVENTS_DIR, load_event
from tests.e2e.conftest import LIMIT_BYTES, InvokeResult, LocalApi

# the first tests also pay for the session fixtures: sam build, start-api, 18 x sam local invoke
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

EVENT_FILES = sorted(p.name for p in EVENTS_DIR.glob("*.json"))


def _text() -> str:
    # unique per run, so the first call is a MISS even if Redis kept old entries
    return f"I really love this product, run {uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------------------------------
# start-api
# ------------------------------------------------------------------------------------------------
def test_predict_miss_then_hit(local_api: LocalApi) -> None:
    text = _text()
    status, headers, first = local_api.call("POST", "/predict", {"text": text})
    assert status == 200, first
    assert first["cache"] == "MISS"
    assert first["routing"] == "default" and first["model_version"] == "v1"
    assert first["label"] in first["scores"]
    assert headers.get("x-cache") == "MISS" and headers.get("x-model-version") == "v1"
    assert first["function_version"] == "$LATEST"  # sam local always runs $LATEST (no aliases)

    status, headers, second = local_api.call("POST", "/predict", {"text": text})
    assert status == 200, second
    assert second["cache"] == "HIT" and headers.get("x-cache") == "HIT"
    assert (second["label"], second["scores"]) == (first["label"], first["scores"])


def test_predict_explicit_v2(local_api: LocalApi) -> None:
    status, headers, body = local_api.call("POST", "/predict?model_version=v2", {"text": _text()})
    assert status == 200, body
    assert body["model_version"] == "v2" and body["routing"] == "explicit" and body["fallback"] is False
    assert headers.get("x-model-version") == "v2"


def test_v3_is_served_by_the_scikit_learn_runtime(local_api: LocalApi) -> None:
    # The template attaches the scikit-learn layer by default (ScikitLearnRuntime=attached).
    text = _text()
    status, headers, first = local_api.call("POST", "/predict?model_version=v3", {"text": text})
    assert status == 200, first
    assert first["model_version"] == "v3" and first["routing"] == "explicit" and first["fallback"] is False, first
    assert first["cache"] == "MISS" and headers.get("x-model-version") == "v3"
    status, _, second = local_api.call("POST", "/predict?model_version=v3", {"text": text})
    assert second["cache"] == "HIT" and (second["label"], second["scores"]) == (first["label"], first["scores"])

    status, _, models = local_api.call("GET", "/models")
    v3 = next(model for model in models["models"] if model["version"] == "v3")
    assert v3["loaded"] is True and v3["runtime"] == "sklearn-joblib/1" and v3["status"] == "available", v3
    v1 = next(model for model in models["models"] if model["version"] == "v1")
    assert v1["runtime"] == "linear-text/1"


def test_v3_answers_are_its_committed_pipelines(local_api: LocalApi) -> None:
    import joblib

    from tests.conftest import MODELS_DIR
    from training.bench import bench_texts

    texts = [f"{text} {uuid.uuid4().hex[:6]}" for text in bench_texts(32)]
    status, _, body = local_api.call("POST", "/predict/batch?model_version=v3", {"texts": texts})
    assert status == 200 and body["model_version"] == "v3", body
    pipeline = joblib.load(MODELS_DIR / "v3" / "model.joblib")
    assert [item["label"] for item in body["results"]] == list(pipeline.predict(texts))
    expected = pipeline.predict_proba(texts)
    worst = max(
        abs(item["scores"][str(label)] - row[i])
        for item, row in zip(body["results"], expected, strict=True)
        for i, label in enumerate(pipeline.classes_)
    )
    assert worst <= 1e-6


def test_predict_unknown_version_falls_back(local_api: LocalApi) -> None:
    status, _, body = local_api.call("POST", "/predict?model_version=v9", {"text": _text()})
    assert status == 200, body
    assert body["routing"] == "fallback" and body["fallback"] is True
    assert body["requested_version"] == "v9" and body["model_version"] == "v1"
    assert body["fallback_reason"]


def test_batch(local_api: LocalApi) -> None:
    status, _, body = local_api.call("POST", "/predict/batch", {"texts": ["I love it", "I hate it"]})
    assert status == 200, body
    assert len(body["results"]) == 2 and all(item["label"] in item["scores"] for item in body["results"])


@pytest.mark.parametrize("payload", [{"text": ""}, {"text": "   "}, {}, {"text": "ok", "extra": 1}])
def test_bad_input_is_422(local_api: LocalApi, payload: dict[str, Any]) -> None:
    status, _, body = local_api.call("POST", "/predict", payload)
    assert status == 422, body
    assert body["error"] == "invalid_input" and body["request_id"]


def test_health_reports_redis_reachable(local_api: LocalApi) -> None:
    status, _, body = local_api.call("GET", "/health")
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["cache"]["backend"] == "redis" and body["cache"]["status"] == "reachable", body["cache"]
    assert body["default_model"]["version"] == "v1"


def test_models(local_api: LocalApi) -> None:
    status, _, body = local_api.call("GET", "/models")
    assert status == 200, body
    assert body["default_version"] == "v1"
    served = {model.get("version") for model in body["models"]}
    assert {"v1", "v2"} <= served, body

    status, _, manifest = local_api.call("GET", "/models/v1")
    assert status == 200, manifest
    assert "v1" in json.dumps(manifest)

    status, _, missing = local_api.call("GET", "/models/v9")
    assert status == 404, missing


def test_docs_and_openapi(local_api: LocalApi) -> None:
    status, headers, page = local_api.call("GET", "/docs")
    assert status == 200 and headers.get("content-type", "").startswith("text/html")
    match = re.search(r"""url:\s*['"]([^'"]+openapi\.json)['"]""", page)
    assert match, page[:500]
    status, _, spec = local_api.call("GET", match.group(1))  # the URL the docs page itself loads
    assert status == 200, spec
    assert "/predict" in spec["paths"] and "/health" in spec["paths"]


def test_unknown_route_is_404_from_the_app(local_api: LocalApi) -> None:
    status, _, body = local_api.call("GET", "/no/such/route")
    assert status == 404 and body["error"] == "not_found"


# ------------------------------------------------------------------------------------------------
# sam local invoke -e events/*.json
# ------------------------------------------------------------------------------------------------
def _expected_status(name: str) -> int:
    match = re.search(r"-(\d{3})\.json$", name)
    assert match, f"event file {name} must end in -<status>.json"
    return int(match.group(1))


@pytest.mark.parametrize("event_file", EVENT_FILES)
def test_invoke_event(invoked_events: dict[str, InvokeResult], event_file: str) -> None:
    result = invoked_events[event_file]
    assert result.returncode == 0 and result.response is not None, result.output[-3000:]
    response = result.response
    assert response["statusCode"] == _expected_status(event_file), response
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    body_text = response.get("body") or ""
    event = load_event(event_file)

    if "-docs-" in event_file:
        assert headers.get("content-type", "").startswith("text/html")
        # REST events carry the stage in requestContext.path: the page must load the spec under it
        stage = "/api" if event.get("version") != "2.0" else ""
        assert f"'{stage}/openapi.json'" in body_text or f'"{stage}/openapi.json"' in body_text, body_text[:800]
        return

    body = json.loads(body_text)
    assert headers.get("x-request-id")
    if "-predict-" in event_file and response["statusCode"] == 200:
        expected = {
            "default": ("default", "v1"),
            "v2": ("explicit", "v2"),
            "v3": ("explicit", "v3"),  # the scikit-learn runtime, through the attached layer
            "fallback": ("fallback", "v1"),
            "batch": ("default", "v1"),
        }
        kind = next(k for k in expected if f"-predict-{k}" in event_file)
        assert (body["routing"], body["model_version"]) == expected[kind], body
        items = body["results"] if kind == "batch" else [body]
        assert all(item["label"] in item["scores"] and item["cache"] in {"HIT", "MISS"} for item in items)
    elif response["statusCode"] == 422:
        assert body["error"] == "invalid_input"
    elif response["statusCode"] >= 400:  # 400 unreadable event, 405 wrong method: the error shape, a reason
        assert body["error"] and body["message"] and body["request_id"], body
    elif "-health-" in event_file:
        assert body["status"] == "ok" and body["cache"]["status"] == "reachable", body
    elif "-models-v1-" in event_file:
        assert "v1" in body_text
    elif "-models-" in event_file:
        assert body["default_version"] == "v1"


# ------------------------------------------------------------------------------------------------
# what `sam build` produced
# ------------------------------------------------------------------------------------------------
def test_deployment_size_under_lambda_limit(sam_build: Path) -> None:
    total = sum(f.stat().st_size for f in sam_build.rglob("*") if f.is_file() and f.name != "template.yaml")
    assert total < LIMIT_BYTES, f"function + layers unzipped: {total / 2**20:.1f} MB >= 250 MB"


def test_layers_ship_only_what_runs(sam_build: Path) -> None:
    models = sam_build / "ModelsLayer"
    assert {p.name for p in models.iterdir()} == {"models"}
    assert not [p for p in models.rglob("*") if p.suffix in {".py", ".pyc"} or p.name in {"tests", "test"}]
    deps = sam_build / "DependenciesLayer" / "python"
    assert (deps / ".lambda-architecture").read_text().strip() in {"x86_64", "arm64"}
    assert not list(deps.glob("*/tests")) and not list(deps.glob("botocore"))
