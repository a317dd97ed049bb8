"""manifest.json: what was trained, on which data and split, with which libraries, how well it did."""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy
import scipy
import sklearn
from sklearn.pipeline import Pipeline

from serving.artifacts import MANIFEST_FILE, MANIFEST_SCHEMA_VERSION
from serving.runtimes import SKLEARN_FORMAT

# Top-level keys every published manifest has (tests check the committed versions against this).
REQUIRED_KEYS = (
    "version",
    "schema_version",
    "created",
    "summary",
    "artifact",
    "reference",
    "runtime",
    "labels",
    "data",
    "pipeline",
    "parity",
    "known_answers",
    "metrics",
    "benchmark",
    "targets",
)


def runtime_versions() -> dict[str, str]:
    """Library versions the model was trained with (the served file needs none of them)."""
    return {
        "python": platform.python_version(),
        "scikit_learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "platform": f"{platform.system()}-{platform.machine()}",
    }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def _qualname(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def describe_pipeline(pipeline: Pipeline | Any) -> dict[str, Any]:
    """Step classes and every step hyper-parameter, as JSON (a bare estimator is one step)."""
    named = pipeline.steps if isinstance(pipeline, Pipeline) else [("estimator", pipeline)]
    steps = [[name, _qualname(step)] for name, step in named]
    params = {key: _jsonable(value) for key, value in pipeline.get_params(deep=True).items() if "__" in key}
    return {"steps": steps, "classes": [cls for _, cls in steps], "params": params}


def artifact_section(path: Path, fmt: str) -> dict[str, Any]:
    """A served file as the service verifies it; a pickled pipeline also records its scikit-learn."""
    section: dict[str, Any] = {
        "file": path.name,
        "format": fmt,
        "sha256": file_sha256(path),
        "size_bytes": path.stat().st_size,
    }
    if fmt == SKLEARN_FORMAT:
        section["scikit_learn"] = sklearn.__version__
    return section


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def base_manifest(
    *,
    version: str,
    summary: str,
    artifact: dict[str, Any],
    reference: dict[str, Any] | None,
    labels: list[str],
    data: dict[str, Any],
    pipeline: dict[str, Any],
    targets: dict[str, Any],
) -> dict[str, Any]:
    """Everything known before evaluation; enough for serving.artifacts.load_model to verify and load."""
    return {
        "version": version,
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "created": utc_now(),
        "summary": summary,
        "artifact": artifact,
        "reference": reference,  # the pipeline a fast file was exported from (training only), or None
        "runtime": runtime_versions(),
        "labels": labels,
        "data": data,
        "pipeline": pipeline,
        "targets": targets,
    }


def finalise(
    base: dict[str, Any],
    metrics: dict[str, Any],
    benchmark: dict[str, Any],
    parity: dict[str, Any],
    known_answers: dict[str, Any],
) -> dict[str, Any]:
    manifest = {**base, "parity": parity, "known_answers": known_answers, "metrics": metrics, "benchmark": benchmark}
    manifest["targets"] = {**base["targets"], "met": targets_met(manifest)}
    optional = [key for key in ("notes",) if key in manifest]
    return {key: manifest[key] for key in (*REQUIRED_KEYS, *optional)}  # stable key order


def targets_met(manifest: dict[str, Any]) -> dict[str, bool]:
    targets, bench = manifest["targets"], manifest["benchmark"]
    met = {"load_ms": bench["load_ms"] < targets["max_load_ms"]}
    if targets.get("max_size_bytes") is not None:
        met["size_bytes"] = manifest["artifact"]["size_bytes"] <= targets["max_size_bytes"]
    if targets.get("max_predict_ms") is not None:
        met["predict_one_ms"] = bench["predict_one_ms"] < targets["max_predict_ms"]
    return met


def write_manifest(version_dir: Path, manifest: dict[str, Any]) -> Path:
    path = version_dir / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest_json(version_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((version_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    return data
