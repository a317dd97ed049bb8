"""Cold start: fresh process to first answer, ours beside a naive baseline, in one run.

Each sample is a new interpreter that imports the handler module, initialises, and answers
one POST /predict through the real handler (Mangum + Powertools). Timed from inside the child
(from just before the import to the answer) so interpreter start-up, the same for both, is excluded.

  bare     Mangum + FastAPI with nothing of ours (devsupport/floor_app.py) answering the same event:
           the floor; issue #15's target is ours <= 1.15 x bare
  ours     the handler as shipped: lazy model loading, no X-Ray SDK unless tracing is on,
           nothing imported that the request path does not need
  naive    the same app done the obvious way: boto3 and the X-Ray tracer imported eagerly,
           every model loaded at import (LOAD_ALL_MODELS=true); the target ratio is against this
  sklearn  naive, plus what serving the scikit-learn pipelines themselves costs at init (the
           design before the linear-text files): import scikit-learn, unpickle every reference
           pipeline. For context only.
  general  ours, with the first version served by the general scikit-learn runtime (v3) as the
           default: the first answer imports scikit-learn and unpickles that pipeline.
  +snapstart  the same, with SnapStart's pre-snapshot hook (imports done, default model loaded) run
           first and not timed: from a restored snapshot to the first answer, without AWS's own
           restore time, which only AWS can measure.

ours, naive and sklearn see only the linear-text versions (as a linear-only deployment does), so
their figures compare with earlier runs; general sees every version.

Also reports peak RSS of each child after its first answer.
Usage: python bench/cold_start.py [--runs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from devsupport.events import rest_event

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("BENCH_MODELS_DIR", ROOT / "layers" / "models" / "models"))

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
if {naive}:
    import boto3  # noqa: F401  (eager SDK import, as many handlers do)
    from aws_lambda_powertools import Tracer
    Tracer(service="naive", disabled=True)  # imports the X-Ray SDK even when disabled
if {sklearn}:
    import joblib, pathlib
    pipelines = [joblib.load(path) for path in sorted(pathlib.Path({models_dir!r}).glob("v*/model.joblib"))]
if {bare}:
    from devsupport.floor_app import floor_handler
    lambda_handler = floor_handler()
else:
    from serving.handler import _before_snapshot, lambda_handler
    if {snapstart}:
        _before_snapshot()  # SnapStart's hook runs before the snapshot is taken, on AWS's time
        started = time.perf_counter()  # a restored instance starts here (AWS's restore time not included)
imported = time.perf_counter()
event = json.loads(sys.argv[1])
class Context:
    function_name = "bench"; memory_limit_in_mb = 1024; aws_request_id = "cold"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
response = lambda_handler(event, Context())
answered = time.perf_counter()
assert response["statusCode"] == 200, response
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT", json.dumps({{"init_ms": (imported - started) * 1000, "first_ms": (answered - started) * 1000,
                            "rss_mb": rss_mb}}), file=sys.__stderr__)
"""


# POST /predict as API Gateway sends it (REST v1 proxy), handed to each child
EVENT = json.dumps(
    rest_event(
        "POST",
        "/predict",
        json.dumps({"text": "first request after a cold start"}),
        headers={"Content-Type": "application/json"},
        stage="Prod",
        request_id="cold-1",
    )
)
VARIANTS = {  # name -> (naive, sklearn, bare, snapstart)
    "bare": (False, False, True, False),
    "ours": (False, False, False, False),
    "ours+snapstart": (False, False, False, True),
    "naive": (True, False, False, False),
    "sklearn": (True, True, False, False),
    "general": (False, False, False, False),
    "general+snapstart": (False, False, False, True),
}
BARE_TARGET = 1.15  # issue #15: ours <= 1.15 x bare, first answer


def _versions_by_runtime() -> tuple[list[str], list[str]]:
    """(linear-text versions, versions served by the scikit-learn runtime) in the models folder."""
    from serving.artifacts import list_versions, read_manifest
    from serving.linear_text import FORMAT

    linear: list[str] = []
    general: list[str] = []
    for version in list_versions(MODELS_DIR):
        (linear if read_manifest(MODELS_DIR, version).artifact.format == FORMAT else general).append(version)
    return linear, general


def linear_only_models(into: Path) -> Path:
    """A models folder holding only the linear-text versions (symlinks): a linear-only deployment."""
    for version in _versions_by_runtime()[0]:
        (into / version).symlink_to(MODELS_DIR / version)
    return into


def sample(variant: str, linear_dir: Path, general_version: str | None) -> dict[str, float]:
    naive, sklearn, bare, snapstart = VARIANTS[variant]
    general = variant.startswith("general")
    models_dir = MODELS_DIR if general else linear_dir
    env = {
        **os.environ,
        "MODELS_DIR": str(models_dir),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOAD_ALL_MODELS": "true" if naive else "false",
        "DEFAULT_MODEL_VERSION": general_version if general and general_version else "v1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    child = CHILD.format(naive=naive, sklearn=sklearn, bare=bare, snapstart=snapstart, models_dir=str(models_dir))
    done = subprocess.run(
        [sys.executable, "-c", child, EVENT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in done.stderr.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def measure(runs: int) -> dict[str, Any]:
    general = _versions_by_runtime()[1]
    general_version = general[0] if general else None
    variants = [name for name in VARIANTS if not name.startswith("general") or general_version]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as scratch:
        linear_dir = linear_only_models(Path(scratch))
        for name in variants:
            sample(name, linear_dir, general_version)  # warm the OS page cache: no first-read disk I/O
        for _ in range(runs):  # interleaved, so drift on a busy machine hits all alike
            for name in variants:
                samples[name].append(sample(name, linear_dir, general_version))
    result: dict[str, Any] = {"general_version": general_version}
    for name, rows in samples.items():
        result[name] = {key: statistics.median(row[key] for row in rows) for key in ("init_ms", "first_ms", "rss_mb")}
        result[name]["runs"] = len(rows)
    result["ratio_first_answer"] = result["ours"]["first_ms"] / result["naive"]["first_ms"]
    ours_vs_bare = result["ours"]["first_ms"] / result["bare"]["first_ms"]
    result["targets"] = {
        "cold start <= 1.15 x bare (first answer, ms)": {
            "measured": result["ours"]["first_ms"],
            "target": BARE_TARGET * result["bare"]["first_ms"],
            "met": ours_vs_bare <= BARE_TARGET,
        }
    }
    result["ratio_first_answer_vs_bare"] = ours_vs_bare
    result["ratio_first_answer_vs_sklearn"] = result["ours"]["first_ms"] / result["sklearn"]["first_ms"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.runs)
    print(f"{'cold start (median)':<22}{'init ms':>10}{'first answer ms':>17}{'peak RSS MB':>13}")
    for name in VARIANTS:
        if name not in result:
            continue
        row = result[name]
        print(f"{name:<22}{row['init_ms']:>10.0f}{row['first_ms']:>17.0f}{row['rss_mb']:>13.0f}")
    ratio = result["ratio_first_answer"]
    bare = result["ratio_first_answer_vs_bare"]
    verdict = "met" if bare <= BARE_TARGET else "MISSED"
    print(f"\nours / bare, first answer: {bare:.2f}  target <= {BARE_TARGET}  {verdict}")
    print(f"ours / naive, first answer: {ratio:.2f}  (issue #7's target <= 0.6)")
    print(f"ours / sklearn, first answer: {result['ratio_first_answer_vs_sklearn']:.2f}  (context)")
    if "general" in result:
        print(
            f"general ({result['general_version']}, scikit-learn runtime) / ours, first answer: "
            f"{result['general']['first_ms'] / result['ours']['first_ms']:.2f}  (what the general path costs)"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
