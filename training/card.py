"""MODEL_CARD.md and confusion_matrix.png, generated from the manifest alone (no retraining)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

from serving.manifest import (
    Benchmark,
    Data,
    Manifest,
    Metrics,
    NoFastPath,
    Parity,
    PipelineInfo,
    Runtime,
    Targets,
)

CARD_FILE = "MODEL_CARD.md"
CONFUSION_PNG = "confusion_matrix.png"
_LIBRARIES = (
    ("python", "Python"),
    ("scikit_learn", "scikit-learn"),
    ("numpy", "numpy"),
    ("scipy", "scipy"),
    ("joblib", "joblib"),
)


class Trained(NamedTuple):
    """The sections a trained manifest has and a registered one does not."""

    metrics: Metrics
    data: Data
    benchmark: Benchmark
    targets: Targets
    runtime: Runtime
    parity: Parity | NoFastPath
    pipeline: PipelineInfo


def _trained(manifest: Manifest) -> Trained:
    m = manifest
    if m.metrics is None or m.data is None or m.benchmark is None or m.targets is None or m.runtime is None:
        raise ValueError(f"{m.version}: not a trained manifest (metrics, data, benchmark, targets, runtime)")
    if m.parity is None or m.pipeline is None:
        raise ValueError(f"{m.version}: not a trained manifest (parity, pipeline)")
    return Trained(m.metrics, m.data, m.benchmark, m.targets, m.runtime, m.parity, m.pipeline)


def plot_confusion(manifest: Manifest, path: Path) -> None:
    import matplotlib  # a development dependency: never imported by the service

    matplotlib.use("Agg")  # headless
    import matplotlib.pyplot as plt

    metrics = _trained(manifest).metrics
    labels = list(metrics.confusion_matrix.labels)
    matrix = [list(row) for row in metrics.confusion_matrix.matrix]
    fig, ax = plt.subplots(figsize=(4.8, 4.2), dpi=100)
    image = ax.imshow(matrix, cmap="Blues")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center", color="white" if count > peak / 2 else "black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{manifest.version}: acc {metrics.accuracy:.3f}, macro-F1 {metrics.macro_f1:.3f}")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    # No timestamps in the PNG metadata, so regenerating a card does not change the file.
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _ms(value: float) -> str:
    return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"


def _known(value: float | None) -> float:
    return math.nan if value is None else value


def render_card(manifest: Manifest) -> str:
    m, data, bench, targets, run, parity, pipeline = _trained(manifest)
    art, ref, labels = manifest.artifact, manifest.reference, manifest.labels
    if ref is not None and isinstance(parity, Parity):  # a fast file exported from a pipeline
        exported_from = (
            f"| exported from | `{ref.file}` (scikit-learn pipeline), {ref.size_bytes:,} bytes, "
            f"sha256 `{ref.sha256}` |\n"
        )
        serving = (
            f"The service serves `{art.file}`: the fitted pipeline's numbers in a file that is parsed, never "
            f"unpickled, and only after its format, size and sha256 match this manifest. On all "
            f"{parity.texts:,} test texts it gives the pipeline's label every time ({parity.labels_equal:,} "
            f"of {parity.texts:,}), and probabilities within {parity.max_abs_probability_diff:.1e} of the "
            "pipeline's."
        )
        reference_figures = (
            "The scikit-learn pipeline it was exported from, under\n  `assume_finite` + `skip_parameter_validation`: "
            f"median {_ms(_known(bench.reference_predict_one_ms))}, after a\n  "
            f"{_known(bench.reference_import_ms):.0f} ms import of scikit-learn."
        )
        load_note = "no scikit-learn import needed"
    elif isinstance(parity, NoFastPath):  # the pickled pipeline itself, through the general runtime
        exported_from = ""
        serving = (
            f"The service serves `{art.file}`, the pickled scikit-learn pipeline, through its general scikit-learn "
            f"runtime (scikit-learn {art.scikit_learn} exactly; another version is refused), and only after its "
            f"size and sha256 match this manifest and it reproduces the manifest's known answers. The fast linear "
            f"file cannot express it: {parity.reason}."
        )
        reference_figures = ""
        load_note = "includes importing scikit-learn, NumPy and SciPy, and unpickling"
    else:
        raise ValueError(f"{manifest.version}: a reference file needs a parity check, a served pickle a reason")
    notes = f"\n- {manifest.notes}\n" if manifest.notes else ""
    per_class = "\n".join(
        f"| {label} | {c.precision:.4f} | {c.recall:.4f} | {c.f1:.4f} | {c.support} |"
        for label, c in m.per_class.items()
    )
    confusion = "\n".join(
        f"| **{labels[i]}** | " + " | ".join(str(n) for n in row) + " |"
        for i, row in enumerate(m.confusion_matrix.matrix)
    )
    libraries = ", ".join(f"{name} {getattr(run, key)}" for key, name in _LIBRARIES)
    met = targets.met or {}

    def verdict(key: str) -> str:
        return "" if key not in met else (" (met)" if met[key] else " (**missed**)")

    size_target = f" / target <= {targets.max_size_bytes / 1e6:.1f} MB" if targets.max_size_bytes else ""
    predict_target = f" / target < {targets.max_predict_ms} ms" if targets.max_predict_ms else ""
    dedup = data.dedup
    total = sum(data.label_counts.values())
    balance = ", ".join(f"{label} {count:,} ({count / total:.0%})" for label, count in data.label_counts.items())
    params = "\n".join(
        f"| `{key}` | `{value}` |"
        for key, value in pipeline.params.items()
        if not key.endswith(("__verbose", "__n_jobs", "__input", "__encoding", "__decode_error"))
    )
    return f"""# Model card: sentiment {manifest.version}

_Generated from `manifest.json` by `training/card.py`; do not edit by hand._

{manifest.summary}

| | |
|---|---|
| created | {manifest.created} |
| served artifact | `{art.file}` ({art.format}), {art.size_bytes:,} bytes, sha256 `{art.sha256}` |
{exported_from}| trained with | {libraries} |
| labels | {", ".join(labels)} |

## Intended use

Three-way sentiment (negative / neutral / positive) of short English social-media texts about products
and technology, served by the inference service. {serving}

## Data

- Corpus: {data.corpus_source}, CSV sha256 `{data.corpus_sha256}`; crowd-labelled tweets about products and
  technology, aggregated from several public sets.
- {dedup.rows_in:,} rows read; {dedup.duplicate_rows_removed:,} duplicates removed on a normalised key
  (lower-case, no leading "RT @user:", URLs, @mentions or non-ASCII); {dedup.conflicting_groups} duplicate groups had
  conflicting labels and took the majority label ({dedup.tied_groups} ties broken by label name);
  {dedup.empty_key_dropped} rows with an empty key dropped. {dedup.rows_out:,} rows remain.
- Stratified split, seed {data.split_seed}, test fraction {data.test_size}: {data.train_rows:,} train /
  {data.test_rows:,} test rows. Test-set sha256 `{data.test_sha256}` (same hash = same test rows).

## Held-out results ({data.test_rows:,} test rows)

| accuracy | macro-F1 | weighted-F1 |
|---|---|---|
| {m.accuracy:.4f} | {m.macro_f1:.4f} | {m.weighted_f1:.4f} |

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}

Confusion matrix (rows: true label, columns: predicted):

| | {" | ".join(labels)} |
|---|{"---|" * len(labels)}
{confusion}

![confusion matrix]({CONFUSION_PNG})

## Performance (measured on the build machine)

- Artifact size: {art.size_bytes / 1e6:.2f} MB{size_target}{verdict("size_bytes")}
- Load in a fresh process: {_ms(bench.load_ms)} / target < {targets.max_load_ms} ms{verdict("load_ms")}
  (single runs: {", ".join(f"{x:.0f}" for x in bench.load_ms_runs)} ms; {load_note})
- Predict one text: median {_ms(bench.predict_one_ms)}, p95 {_ms(bench.predict_one_p95_ms)}
  {predict_target}{verdict("predict_one_ms")}. {reference_figures}
- Method: {bench.method}. Machine: {bench.cpu_count} CPUs, 1-minute load average
  {bench.load_average_1m[0]} -> {bench.load_average_1m[1]} during the runs (the machine is shared).

## Pipeline

| parameter | value |
|---|---|
{params}

## Limitations
{notes}
- Domain: 2010s tweets about products and technology; other domains and languages will do worse.
- Labels are crowd-sourced and noisy; about 0.8% of the corpus bytes are already-garbled non-ASCII text.
- Class balance after de-duplication: {balance}.
- A bag of n-grams: no understanding of sarcasm, long-range negation or context.

## Reproduce

`python -m training train --version {manifest.version}` is refused while this folder exists (a published version is
immutable). Retraining into another models directory with the same corpus, seed and library versions reproduces
these metrics exactly: `python -m training evaluate --version {manifest.version}` re-checks them.
"""


def write_card(version_dir: Path, manifest: Manifest) -> None:
    plot_confusion(manifest, version_dir / CONFUSION_PNG)
    (version_dir / CARD_FILE).write_text(render_card(manifest), encoding="utf-8")


def render_registered_card(manifest: Manifest) -> str:
    """The card of a registered model: what it is and how it is served; no training data is known."""
    art, fast, run, source = manifest.artifact, manifest.fast_path, manifest.runtime, manifest.source
    answers, pipeline = manifest.known_answers, manifest.pipeline
    if fast is None or run is None or source is None or answers is None or pipeline is None:
        raise ValueError(f"{manifest.version}: not a registered manifest (fast_path, runtime, source, known_answers)")
    libraries = ", ".join(f"{name} {getattr(run, key)}" for key, name in _LIBRARIES)
    steps = "\n".join(f"| {name} | `{cls}` |" for name, cls in pipeline.steps)
    fallback = manifest.fallback_artifact
    if fast.exported and fast.parity is not None and fallback is not None:
        parity = fast.parity
        how = (
            f"The fast path: `{art.file}` reproduces the pipeline on {parity.texts} sample texts (labels "
            f"{parity.labels_equal}/{parity.texts}, probabilities within "
            f"{parity.max_abs_probability_diff:.1e}). `{fallback.file}` serves if it cannot."
        )
    else:
        how = f"The scikit-learn runtime (`{art.file}`); no fast path: {fast.reason}."
    known = "\n".join(f"| {text} | {label} |" for text, label in zip(answers.texts, answers.labels, strict=True))
    return f"""# Model card: {manifest.version} (registered)

_Generated by `python -m training register`; do not edit by hand._

{manifest.summary}

| | |
|---|---|
| created | {manifest.created} |
| registered from | `{source.registered_from}`, sha256 `{source.sha256}` |
| saved with | {libraries} |
| labels | {", ".join(manifest.labels)} |

## Served by

{how}

Every artifact is checked against this manifest (size, sha256, and for the pickle the exact scikit-learn
version) before it is loaded, and must reproduce the known answers below (tolerance
{answers.tolerance:g}) before it serves.

## Steps

| step | class |
|---|---|
{steps}

## Known answers

| text | label |
|---|---|
{known}

## Not known

Registration has no labelled data: this card has no accuracy figures. Evaluate the model on your own
held-out data, and shadow or canary it (`SHADOW_VERSION`, `CANARY_VERSION`) before it takes traffic.
"""
