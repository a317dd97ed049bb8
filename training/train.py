"""Train one version and publish it atomically: build in a staging folder, rename into place.

A crash leaves at most a ``.staging-*`` folder next to the models folder (outside what the models
layer copies), never a half-written version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from serving.artifacts import ARTIFACT_FILE, PIPELINE_FILE, load_model
from serving.linear_text import FORMAT, LinearTextModel
from serving.manifest import Data, Dedup, NoFastPath, Parity, ReferenceFile
from serving.runtimes import SKLEARN_FORMAT
from training import bench, card, export, known_answers, manifest, packing
from training.corpus import Corpus
from training.dataset import Split, deduplicate, split
from training.evaluate import evaluate
from training.pipelines import VersionSpec


class VersionExistsError(RuntimeError):
    """Refusal to overwrite a version folder: a published version is immutable."""


class ParityError(RuntimeError):
    """The served file does not reproduce the fitted pipeline: nothing is published."""


def prepare(corpus: Corpus) -> tuple[Split, Dedup]:
    rows, stats = deduplicate(corpus.rows)
    return split(rows), stats


def fit(spec: VersionSpec, data: Split) -> Pipeline:
    pipeline = spec.build()
    # One thread and an error on non-convergence: same inputs + library versions => same coefficients.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        pipeline.fit([row.text for row in data.train], [row.label for row in data.train])
    for step in pipeline.get_params(deep=True).values():  # nested steps too (a FeatureUnion's vectorisers)
        # id() of the stop-word list: a memory address that differs per process, kept only to skip
        # re-running a cheap check. Dropping it makes retrained artifacts byte-for-byte identical.
        if hasattr(step, "_stop_words_id"):
            del step._stop_words_id
    return pipeline


def _why_not_fast(pipeline: Pipeline) -> str:
    try:
        export.export(pipeline)
    except export.ExportError as error:
        return str(error)
    return "the fast export was not asked for"


def _data_section(corpus: Corpus, data: Split, stats: Dedup) -> Data:
    counts = Counter(row.label for row in data.train + data.test)
    return Data(
        corpus_source=corpus.source,
        corpus_sha256=corpus.sha256,
        dedup=stats,
        label_counts={label: counts[label] for label in sorted(counts)},
        split_seed=data.seed,
        test_size=data.test_size,
        train_rows=len(data.train),
        test_rows=len(data.test),
        train_sha256=data.train_sha256,
        test_sha256=data.test_sha256,
    )


def train_version(
    spec: VersionSpec,
    corpus: Corpus,
    models_dir: Path,
    bench_runs: int = 5,
    log: Callable[[str], None] = print,
) -> Path:
    """Fit, evaluate the written bytes, benchmark, write manifest + card, publish. Returns the folder."""
    target = models_dir / spec.version
    if target.exists():
        raise VersionExistsError(f"{target} already exists")
    models_dir.mkdir(parents=True, exist_ok=True)
    data, stats = prepare(corpus)
    log(f"{spec.version}: {len(data.train)} train / {len(data.test)} test rows (test sha256 {data.test_sha256[:12]})")
    pipeline = fit(spec, data)

    staging = Path(tempfile.mkdtemp(prefix=f".staging-{spec.version}-", dir=models_dir.parent))
    try:
        version_dir = staging / spec.version
        version_dir.mkdir()
        pickled = version_dir / PIPELINE_FILE
        packing.dump(pipeline, pickled, compress=spec.compress)
        reference: ReferenceFile | None
        if spec.fast:
            # Served: the exported numbers. The pickle is kept as the reference for training and tests.
            fast = version_dir / ARTIFACT_FILE
            fast.write_bytes(export.export(pipeline))
            artifact = manifest.artifact_ref(fast, FORMAT)
            reference = manifest.reference_file(pickled, spec.compress)
        else:
            # Served: the pickle itself, through the general scikit-learn runtime.
            artifact = manifest.packed(manifest.artifact_ref(pickled, SKLEARN_FORMAT), spec.compress)
            reference = None
        base = manifest.base_manifest(
            version=spec.version,
            summary=spec.summary,
            artifact=artifact,
            reference=reference,
            labels=tuple(str(label) for label in pipeline.classes_),
            data=_data_section(corpus, data, stats),
            pipeline=manifest.describe_pipeline(pipeline),
            known_answers=known_answers.record(pipeline),
            targets=spec.targets,
            notes=spec.notes,
        )
        manifest.write_manifest(version_dir, base)
        # Evaluate the bytes that will be served, loaded through the service's own verified path
        # (known answers included), and publish a fast file only if it reproduces the pipeline.
        loaded = load_model(staging, spec.version)
        test_texts = [row.text for row in data.test]
        agreement: Parity | NoFastPath
        if spec.fast:
            assert isinstance(loaded.model, LinearTextModel)
            agreement = export.parity(pipeline, loaded.model, test_texts)
            log(f"{spec.version}: parity {agreement.labels_equal}/{agreement.texts} labels, "
                f"max probability difference {agreement.max_abs_probability_diff:.1e}")  # fmt: skip
            if not agreement.passed:
                raise ParityError(f"{spec.version}: the served file does not reproduce the pipeline: {agreement}")
        else:
            agreement = NoFastPath(fast_path=False, reason=_why_not_fast(pipeline))
            log(f"{spec.version}: served by the scikit-learn runtime ({agreement.reason})")
        predicted = [loaded.model.labels[best] for best, _ in loaded.model.classify(test_texts)]
        metrics = evaluate([row.label for row in data.test], predicted, base.labels)
        log(f"{spec.version}: accuracy {metrics.accuracy:.4f}, macro-F1 {metrics.macro_f1:.4f}")
        figures = bench.measure(staging, spec.version, runs=bench_runs)
        log(
            f"{spec.version}: {base.artifact.size_bytes / 1e6:.2f} MB, load {figures.load_ms:.1f} ms, "
            f"predict one {figures.predict_one_ms:.3f} ms"
        )
        final = manifest.finalise(base, metrics, figures, agreement)
        manifest.write_manifest(version_dir, final)
        card.write_card(version_dir, final)
        if target.exists():  # someone published it while we trained
            raise VersionExistsError(f"{target} appeared while training")
        os.rename(version_dir, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    load_model(models_dir, spec.version)  # the published folder verifies and loads
    log(f"{spec.version}: published {target} (scikit-learn {sklearn.__version__})")
    return target
