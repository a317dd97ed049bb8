"""Run inside a FRESH interpreter by bench.py: time one cold load and single-text predictions.

Reads {"models_dir", "version", "texts", "warmup"} as JSON on stdin, prints JSON on stdout.
Kept free of training imports beyond the package's sys.path setup, so nothing is pre-warmed.
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _timings(predict: Callable[[list[str]], object], texts: list[str], warmup: int) -> list[float]:
    for text in texts[:warmup]:
        predict([text])
    out = []
    for text in texts:
        start = time.perf_counter()
        predict([text])
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main() -> None:
    request = json.load(sys.stdin)
    models_dir, version = Path(request["models_dir"]), request["version"]

    start = time.perf_counter()
    import joblib  # noqa: F401
    import sklearn

    from serving.artifacts import load_model, read_manifest

    # Import the modules the pickle refers to first, so load_ms measures verify + unpickle,
    # not scikit-learn's first-import cost (reported separately as import_ms).
    for dotted in read_manifest(models_dir, version).raw.get("pipeline", {}).get("classes", []):
        importlib.import_module(dotted.rsplit(".", 1)[0])
    import_ms = (time.perf_counter() - start) * 1e3

    start = time.perf_counter()
    model = load_model(models_dir, version)  # manifest + size + sha256 + version check + joblib.load
    load_ms = (time.perf_counter() - start) * 1e3

    texts, warmup = request["texts"], request["warmup"]
    default = _timings(model.pipeline.predict_proba, texts, warmup)
    # The service predicts under this context (serving/predictor.py): report that figure too.
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        fast = _timings(model.pipeline.predict_proba, texts, warmup)
    json.dump(
        {
            "import_ms": import_ms,
            "load_ms": load_ms,
            "predict_median_ms": statistics.median(default),
            "predict_p95_ms": statistics.quantiles(default, n=20)[-1],
            "predict_fast_config_median_ms": statistics.median(fast),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
