"""Load and single-text predict timings, each run in a fresh interpreter (like a cold start)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from serving.manifest import Benchmark
from training.corpus import load_csv_file

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real tweets from the corpus, committed so benchmarks and tests need no network.
SAMPLE_CSV = Path(__file__).resolve().parent / "data" / "sample.csv"


def bench_texts(limit: int = 200) -> list[str]:
    return [row.text for row in load_csv_file(SAMPLE_CSV).rows[:limit]]


def _probe_once(models_dir: Path, version: str, texts: list[str], warmup: int) -> dict[str, Any]:
    request = json.dumps(
        {"models_dir": str(models_dir.resolve()), "version": version, "texts": texts, "warmup": warmup}
    )
    result = subprocess.run(
        [sys.executable, "-m", "training.probe"],
        input=request,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark probe failed for {version}:\n{result.stderr}")
    timings: dict[str, Any] = json.loads(result.stdout)  # figures in ms, and the runtime's name
    return timings


def measure(models_dir: Path, version: str, runs: int = 5, texts: list[str] | None = None) -> Benchmark:
    """Median over ``runs`` fresh processes (one cold load each) of the probe's figures."""
    texts = texts if texts is not None else bench_texts()
    load_before = os.getloadavg()[0]
    probes = [_probe_once(models_dir, version, texts, warmup=20) for _ in range(runs)]

    def median(key: str) -> float | None:  # None: no probe measured it (no reference pipeline)
        values = [probe[key] for probe in probes if key in probe]
        return round(statistics.median(values), 3) if values else None

    def every(key: str) -> float:
        value = median(key)
        if value is None:
            raise RuntimeError(f"benchmark probe for {version} did not report {key}")
        return value

    return Benchmark(
        method=(
            f"median of {runs} fresh `python -m training.probe` processes; load = serving.artifacts.load_model "
            f"(manifest, size, sha256, then the {probes[0]['runtime']} runtime: parse, or import scikit-learn "
            f"and unpickle; known answers); predict = classify([text]) of the served artifact, median over "
            f"{len(texts)} real texts after 20 warm-up calls; reference (fast files only) = the scikit-learn "
            f"pipeline it was exported from, under assume_finite + skip_parameter_validation"
        ),
        runs=runs,
        import_ms=every("import_ms"),
        load_ms=every("load_ms"),
        load_ms_runs=tuple(round(probe["load_ms"], 3) for probe in probes),
        predict_one_ms=every("predict_median_ms"),
        predict_one_p95_ms=every("predict_p95_ms"),
        reference_import_ms=median("reference_import_ms"),
        reference_predict_one_ms=median("reference_predict_median_ms"),
        cpu_count=os.cpu_count(),
        load_average_1m=(round(load_before, 2), round(os.getloadavg()[0], 2)),
    )
