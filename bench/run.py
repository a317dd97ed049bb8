"""`make bench`: every figure in one run, written to bench/results/ (JSON + PNG) and printed.

  1. warm path through the real handler (bench/handler_latency.py): MISS, HIT from Redis, HIT from
     the in-process tier, beside the model's own predict and one Redis GET; batch throughput; for
     v1 (the fast path) and for the first version served by the scikit-learn runtime (v3)
  2. cold start, ours beside a naive eager baseline (bench/cold_start.py), with peak RSS
  3. a bounded loopback load run against the local server (bench/load.py)
  4. latency through `sam local start-api` with warm containers and Redis on a docker network, and the
     warm function container's memory (bench/sam_local.py; skipped without a Docker engine)
  5. deployment size (function + layers, unzipped) if `sam build` output exists

Ratios, not absolute times, are the targets: they hold on a noisy machine because numerator and
denominator are measured in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def run(title: str, args: list[str]) -> None:
    print(f"\n=== {title} ===", flush=True)
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True)


def plot(samples: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = list(samples)
    ax.boxplot([samples[name] for name in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_yscale("log")
    ax.set_ylabel("milliseconds (log scale)")
    ax.set_title("Warm-path latency through the Lambda handler, beside its floors")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_targets(summary: dict[str, Any]) -> None:
    """Issue #15's targets, each measured/target/met, all from this run."""
    print("\n=== targets (issue #15), all from this run ===", flush=True)
    sections = [("v1 fast path", summary["warm"]), ("cold start", summary["cold_start"])]
    if summary["warm_general"]:
        sections.insert(1, (f"{summary['warm_general']['version']} scikit-learn runtime", summary["warm_general"]))
    for title, report in sections:
        for name, row in report["targets"].items():
            verdict = "met" if row["met"] else "MISSED"
            print(f"{title:<28}{name:<46}{row['measured']:>11.3f}{row['target']:>11.3f}  {verdict}")


def _general_version() -> str | None:
    """The first version whose preferred artifact needs the scikit-learn runtime, if any."""
    from serving.artifacts import list_versions, read_manifest
    from serving.runtimes import SKLEARN_FORMAT

    models = ROOT / "layers" / "models" / "models"
    found = [v for v in list_versions(models) if read_manifest(models, v).artifact.format == SKLEARN_FORMAT]
    return found[0] if found else None


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    warm = RESULTS / "warm.json"
    cold = RESULTS / "cold_start.json"
    sam_local = RESULTS / "sam_local.json"
    sam_local.unlink(missing_ok=True)
    run("warm path (handler, real Redis)", ["bench/handler_latency.py", "--requests", "400", "--json", str(warm)])
    general = _general_version()
    warm_general = RESULTS / f"warm_{general}.json"
    if general:
        run(
            f"warm path, {general} (scikit-learn runtime)",
            ["bench/handler_latency.py", "--requests", "200", "--version", general, "--json", str(warm_general)],
        )
    run("cold start", ["bench/cold_start.py", "--runs", "7", "--json", str(cold)])
    run("load (local server, 8 clients x 250 requests)", ["bench/load.py", "--clients", "8", "--requests", "250"])
    run(
        "sam local start-api (warm containers, Redis)",
        ["bench/sam_local.py", "--requests", "300", "--json", str(sam_local)],
    )
    if (ROOT / ".aws-sam" / "build" / "template.yaml").is_file():
        print("\n=== deployment size ===", flush=True)
        subprocess.run(["bash", "local/size-report.sh"], cwd=ROOT, check=True)
    else:
        print("\n(deployment size: run `make build` first)")
    report = json.loads(warm.read_text())
    plot(report.pop("samples_ms"), RESULTS / "warm_latency.png")
    summary = {
        "warm": report,
        "warm_general": (
            {k: v for k, v in json.loads(warm_general.read_text()).items() if k != "samples_ms"} if general else None
        ),
        "cold_start": json.loads(cold.read_text()),
        "sam_local": json.loads(sam_local.read_text()),
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2))
    print_targets(summary)
    print(f"\nwrote {RESULTS.relative_to(ROOT)}/summary.json and warm_latency.png")


if __name__ == "__main__":
    main()
