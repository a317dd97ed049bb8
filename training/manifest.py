"""Building manifest.json (serving.manifest.Manifest): what was trained, on which data and split, with
which libraries, how well it did. Writing it goes through ``Manifest.dumps``, the one serializer."""

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

from serving.manifest import (
    MANIFEST_FILE,
    SCHEMA_VERSION,
    ArtifactRef,
    Benchmark,
    Data,
    KnownAnswers,
    Manifest,
    Metrics,
    NoFastPath,
    Parity,
    PipelineInfo,
    ReferenceFile,
    Runtime,
    Targets,
)
from serving.runtimes import SKLEARN_FORMAT

# Top-level keys every trained manifest has (tests check the committed versions against this).
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


def runtime_versions() -> Runtime:
    """Library versions the model was trained with (the served file needs none of them)."""
    return Runtime(
        python=platform.python_version(),
        scikit_learn=sklearn.__version__,
        numpy=numpy.__version__,
        scipy=scipy.__version__,
        joblib=joblib.__version__,
        platform=f"{platform.system()}-{platform.machine()}",
        blas=blas_kernels(),
    )


def blas_kernels() -> str | None:
    """The BLAS library and kernel family NumPy/SciPy run here, e.g. "openblas 0.3.30 SkylakeX".

    Byte-identical retraining needs the same kernels as well as the same library versions: OpenBLAS picks
    them by CPU (``OPENBLAS_CORETYPE`` overrides it), and lbfgs converges to other floats on others.
    """
    from threadpoolctl import threadpool_info

    found = sorted(
        {
            f"{info.get('internal_api')} {info.get('version')} {info.get('architecture')}"
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        }
    )
    return ", ".join(found) or None


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


def describe_pipeline(pipeline: Pipeline | Any) -> PipelineInfo:
    """Step classes and every step hyper-parameter, as JSON (a bare estimator is one step)."""
    named = pipeline.steps if isinstance(pipeline, Pipeline) else [("estimator", pipeline)]
    steps = tuple((str(name), _qualname(step)) for name, step in named)
    params = {key: _jsonable(value) for key, value in pipeline.get_params(deep=True).items() if "__" in key}
    return PipelineInfo(steps=steps, classes=tuple(cls for _, cls in steps), params=params)


def artifact_ref(path: Path, fmt: str, saved_with: str = sklearn.__version__) -> ArtifactRef:
    """A served file as the service verifies it; a pickled pipeline also records its scikit-learn."""
    ref = ArtifactRef(file=path.name, format=fmt, sha256=file_sha256(path), size_bytes=path.stat().st_size)
    if fmt == SKLEARN_FORMAT:  # a pickle is served only by the scikit-learn it was saved with
        return ref.model_copy(update={"scikit_learn": saved_with})
    return ref


def packed(ref: ArtifactRef, joblib_compress: int) -> ArtifactRef:
    """Training's own pickle, served: how it was dumped (training/packing.py)."""
    return ref.model_copy(update={"joblib_compress": joblib_compress, "vocabulary_packed": True})


def reference_file(path: Path, joblib_compress: int) -> ReferenceFile:
    """The pipeline a fast file was exported from (kept, not served: no format, no runtime reads it)."""
    return ReferenceFile(
        file=path.name,
        sha256=file_sha256(path),
        size_bytes=path.stat().st_size,
        joblib_compress=joblib_compress,
        vocabulary_packed=True,  # see training/packing.py
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def base_manifest(
    *,
    version: str,
    summary: str,
    artifact: ArtifactRef,
    reference: ReferenceFile | None,
    labels: tuple[str, ...],
    data: Data,
    pipeline: PipelineInfo,
    known_answers: KnownAnswers,
    targets: Targets,
    notes: str = "",
) -> Manifest:
    """Everything known before evaluation; enough for serving.artifacts.load_model to verify and load."""
    base = Manifest(
        version=version,
        schema_version=SCHEMA_VERSION,
        created=utc_now(),
        summary=summary,
        artifact=artifact,
        reference=reference,  # the pipeline a fast file was exported from (training only), or None
        runtime=runtime_versions(),
        labels=labels,
        data=data,
        pipeline=pipeline,
        known_answers=known_answers,
        targets=targets,
    )
    return base.model_copy(update={"notes": notes}) if notes else base  # no notes: no key


def finalise(base: Manifest, metrics: Metrics, benchmark: Benchmark, parity: Parity | NoFastPath) -> Manifest:
    """The published manifest: the base plus what evaluation and the benchmark found."""
    if base.targets is None:
        raise ValueError(f"{base.version}: a trained manifest has targets")
    met = targets_met(base.targets, benchmark, base.artifact.size_bytes)
    return base.model_copy(
        update={
            "parity": parity,
            "metrics": metrics,
            "benchmark": benchmark,
            "targets": base.targets.model_copy(update={"met": met}),
        }
    )


def targets_met(targets: Targets, bench: Benchmark, size_bytes: int) -> dict[str, bool]:
    met = {"load_ms": bench.load_ms < targets.max_load_ms}
    if targets.max_size_bytes is not None:
        met["size_bytes"] = size_bytes <= targets.max_size_bytes
    if targets.max_predict_ms is not None:
        met["predict_one_ms"] = bench.predict_one_ms < targets.max_predict_ms
    return met


def write_manifest(version_dir: Path, manifest: Manifest) -> Path:
    path = version_dir / MANIFEST_FILE
    path.write_text(manifest.dumps(), encoding="utf-8")
    return path


def read_manifest_json(version_dir: Path) -> dict[str, Any]:
    """The file as plain JSON (tests compare sections as dicts)."""
    data: dict[str, Any] = json.loads((version_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    return data
