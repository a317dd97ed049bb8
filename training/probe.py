"""Run inside a FRESH interpreter by bench.py: time one cold load and single-text predictions
of the served file, then the scikit-learn pipeline it was exported from, for comparison.

Reads {"models_dir", "version", "texts", "warmup"} as JSON on stdin, prints JSON on stdout.
Kept free of training imports, so nothing is pre-warmed.
"""

from __future__ import annotations

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
    from serving.artifacts import load_model

    import_ms = (time.perf_counter() - start) * 1e3

    start = time.perf_counter()
    # manifest, format, size, sha256, then parse or unpickle (with the runtime's imports), known answers
    model = load_model(models_dir, version)
    load_ms = (time.perf_counter() - start) * 1e3

    texts, warmup = request["texts"], request["warmup"]
    served = _timings(model.model.classify, texts, warmup)
    figures = {
        "runtime": model.runtime,
        "import_ms": import_ms,
        "load_ms": load_ms,
        "predict_median_ms": statistics.median(served),
        "predict_p95_ms": statistics.quantiles(served, n=20)[-1],
    }
    reference = model.manifest.reference
    if reference is not None:
        # The scikit-learn pipeline a fast file was exported from, for comparison (after the served
        # figures, so its imports cannot help them).
        start = time.perf_counter()
        import joblib
        import sklearn

        figures["reference_import_ms"] = (time.perf_counter() - start) * 1e3
        pipeline = joblib.load(models_dir / version / reference.file)
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            figures["reference_predict_median_ms"] = statistics.median(_timings(pipeline.predict_proba, texts, warmup))
    json.dump(figures, sys.stdout)


if __name__ == "__main__":
    main()
