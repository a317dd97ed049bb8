"""Registered models served through the real Lambda handler: exactly the user's pipeline's answers,
whatever the runtime, and visible, safe fallbacks when an artifact cannot be trusted."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devsupport.events import load_event
from serving.artifacts import PIPELINE_FILE, ArtifactError, load_model
from serving.linear_text import FORMAT
from serving.runtimes import SKLEARN_FORMAT
from tests.byo.conftest import FAST_SHAPES, SHAPES, Registered, user_pipeline
from tests.conftest import ROOT, json_lines
from training.bench import bench_texts

_BATCH_EVENT = load_event("apigw-v1-predict-batch-200.json")
TEXTS = bench_texts(64)


def _invoke(handler: Any, context: Any, path: str, body: Any = None, query: dict[str, str] | None = None) -> dict:
    event = copy.deepcopy(_BATCH_EVENT)
    event.update(path=path, pathParameters={"proxy": path.lstrip("/")}, queryStringParameters=query)
    event["httpMethod"] = "POST" if body is not None else "GET"
    event["body"] = json.dumps(body) if body is not None else None
    response = handler.lambda_handler(event, context)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


@pytest.fixture
def byo_copy(registered: Registered, tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(registered.models_dir, target)
    return target


@pytest.mark.parametrize("shape", SHAPES)
def test_served_answers_are_the_users_pipeline(registered, shape, load_handler, lambda_context) -> None:
    handler = load_handler(MODELS_DIR=str(registered.models_dir))
    version = registered.versions[shape]
    body = _invoke(handler, lambda_context, "/predict/batch", {"texts": TEXTS}, {"model_version": version})
    pipeline = user_pipeline(registered, shape)
    expected_labels = [str(label) for label in pipeline.predict(TEXTS)]
    expected = pipeline.predict_proba(TEXTS)
    classes = [str(label) for label in pipeline.classes_]
    assert [item["label"] for item in body["results"]] == expected_labels
    worst = max(
        abs(item["scores"][label] - row[i])
        for item, row in zip(body["results"], expected)
        for i, label in enumerate(classes)
    )
    assert worst <= 1e-6
    assert body["model_version"] == version and body["routing"] == "explicit"

    models = _invoke(handler, lambda_context, "/models")
    summary = next(m for m in models["models"] if m["version"] == version)
    assert summary["loaded"] is True
    assert summary["runtime"] == (FORMAT if shape in FAST_SHAPES else SKLEARN_FORMAT)
    assert summary["formats"] == ([FORMAT, SKLEARN_FORMAT] if shape in FAST_SHAPES else [SKLEARN_FORMAT])


def test_a_tampered_pipeline_falls_back_visibly(registered, byo_copy, load_handler, lambda_context, service_output):
    version = registered.versions["calibrated_svm"]
    pickled = byo_copy / version / PIPELINE_FILE
    data = bytearray(pickled.read_bytes())
    data[len(data) // 2] ^= 0x01
    pickled.write_bytes(bytes(data))
    handler = load_handler(MODELS_DIR=str(byo_copy))  # a fresh instance
    service_output()
    body = _invoke(handler, lambda_context, "/predict", {"text": "great phone"}, {"model_version": version})
    assert body["model_version"] == "v1" and body["routing"] == "fallback" and body["fallback"] is True
    assert body["fallback_reason"] == f"requested version {version} failed integrity verification; served default v1"
    log = next(line for line in json_lines(service_output()) if line.get("message") == "prediction served")
    assert "tampered" in log["fallback_detail"] and "model.joblib" in log["fallback_detail"]
    models = _invoke(handler, lambda_context, "/models")
    assert next(m for m in models["models"] if m["version"] == version)["status"] == "failed: tampered"


def test_a_tampered_fast_file_is_served_by_the_pipeline(registered, byo_copy, load_handler, lambda_context):
    version = registered.versions["word_lr"]
    fast = byo_copy / version / "model.ltm"
    fast.write_bytes(fast.read_bytes()[:-8] + b"\x00" * 8)
    handler = load_handler(MODELS_DIR=str(byo_copy))
    body = _invoke(handler, lambda_context, "/predict/batch", {"texts": TEXTS}, {"model_version": version})
    pipeline = user_pipeline(registered, "word_lr")
    assert body["model_version"] == version and body["routing"] == "explicit"
    assert [item["label"] for item in body["results"]] == [str(label) for label in pipeline.predict(TEXTS)]
    summary = next(m for m in _invoke(handler, lambda_context, "/models")["models"] if m["version"] == version)
    assert summary["runtime"] == SKLEARN_FORMAT and summary["skipped"] == [{"reason": "tampered"}]


def test_another_scikit_learn_version_is_refused_with_both_versions(registered, monkeypatch) -> None:
    import sklearn

    monkeypatch.setattr(sklearn, "__version__", "1.8.0")
    with pytest.raises(ArtifactError) as caught:
        load_model(registered.models_dir, registered.versions["complement_nb"])
    assert caught.value.reason == "incompatible"
    saved_with = json.loads(
        (registered.models_dir / registered.versions["complement_nb"] / "manifest.json").read_text()
    )
    assert f"saved with scikit-learn {saved_with['artifact']['scikit_learn']}" in str(caught.value)
    assert "this runtime has scikit-learn 1.8.0" in str(caught.value)


@pytest.mark.parametrize("drift", [1e-4, float("nan")], ids=["off-by-1e-4", "nan"])
def test_known_answers_that_no_longer_reproduce_refuse_the_version(registered, byo_copy, drift) -> None:
    version = registered.versions["sgd"]
    path = byo_copy / version / "manifest.json"
    raw = json.loads(path.read_text())
    raw["known_answers"]["probabilities"][2][0] += drift  # what a drifted library would give
    path.write_text(json.dumps(raw))
    with pytest.raises(ArtifactError) as caught:
        load_model(byo_copy, version)
    assert caught.value.reason == "drifted"
    assert "known answer #2" in str(caught.value)


_WITHOUT_SKLEARN = """
import json, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"sklearn", "numpy", "scipy", "joblib", "threadpoolctl"}:
            raise ImportError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from fastapi.testclient import TestClient
from serving.bootstrap import build_app
from serving.config import load_settings
app = build_app(load_settings({"MODELS_DIR": sys.argv[1], "DEFAULT_MODEL_VERSION": "v1"}))
client = TestClient(app)
answers = [client.post("/predict", json={"text": "great phone"}, params=params).json() for params in
           ({}, {"model_version": sys.argv[2]}, {"model_version": sys.argv[3]})]
print(json.dumps(answers))
"""


def test_without_scikit_learn_linear_versions_serve_and_pipeline_versions_fall_back(registered) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SKLEARN, str(registered.models_dir), registered.versions["word_lr"],
         registered.versions["sgd"]],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={"PYTHONPATH": str(ROOT / "functions" / "inference"), "PATH": "/usr/bin:/bin",
             "POWERTOOLS_TRACE_DISABLED": "true"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    default, fast, pipeline = json.loads(result.stdout.strip().splitlines()[-1])
    assert default["model_version"] == "v1"
    assert fast["model_version"] == registered.versions["word_lr"] and fast["routing"] == "explicit"
    assert pipeline["routing"] == "fallback" and pipeline["model_version"] == "v1"
    assert "incompatible" in pipeline["fallback_reason"]
