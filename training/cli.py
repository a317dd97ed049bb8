"""python -m training {train,register,evaluate,bench,sample}."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from serving.artifacts import ArtifactError, is_valid_version, list_versions, load_model
from training import bench
from training.corpus import DEFAULT_CACHE, Corpus, CorpusError, load_corpus, load_csv_file, write_csv
from training.manifest import targets_met
from training.pipelines import SPECS

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS_DIR = REPO_ROOT / "layers" / "models" / "models"


def _corpus(args: argparse.Namespace) -> Corpus:
    # --corpus-csv is for tests and experiments; the manifest records that file's sha256 either way.
    return load_csv_file(args.corpus_csv) if args.corpus_csv else load_corpus(args.cache_dir)


def cmd_train(args: argparse.Namespace) -> int:
    from training.train import train_version  # deferred: pulls in matplotlib for the card

    unknown = [v for v in args.version or [] if v not in SPECS]
    if unknown:
        print(
            f"error: unknown version(s) {unknown}; defined in training/pipelines.py: {sorted(SPECS)}", file=sys.stderr
        )
        return 2
    existing = [v for v in args.version or [] if (args.models_dir / v).exists()]
    if existing:
        print(
            f"error: refusing to overwrite existing version(s) {existing} in {args.models_dir}: a published version "
            "is immutable. A new model is a new version: add it (e.g. v3) to training/pipelines.py.",
            file=sys.stderr,
        )
        return 1
    wanted = args.version or list(SPECS)
    missing = [v for v in wanted if not (args.models_dir / v).exists()]
    for version in sorted(set(wanted) - set(missing)):
        print(f"{version}: exists in {args.models_dir}, left alone")
    if not missing:
        print("nothing to train")
        return 0
    corpus = _corpus(args)
    for version in missing:
        train_version(SPECS[version], corpus, args.models_dir, bench_runs=args.bench_runs)
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    from training.register import RegistrationError, register

    try:
        register(args.artifact, args.version, args.models_dir)
    except RegistrationError as refusal:
        print(f"error: refused, nothing written: {refusal}", file=sys.stderr)
        return 1
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Re-derive the split, check it is the recorded one, and re-score the committed artifact."""
    from training.evaluate import evaluate
    from training.train import prepare

    data, _ = prepare(_corpus(args))
    failures = 0
    for version in args.version or list_versions(args.models_dir):
        model = load_model(args.models_dir, version)
        recorded = model.manifest
        if recorded.data is None or recorded.data.test_sha256 != data.test_sha256:
            print(f"{version}: MISMATCH test split differs from the recorded one (or none is recorded)")
            failures += 1
            continue
        predicted = [model.model.labels[best] for best, _ in model.model.classify([row.text for row in data.test])]
        metrics = evaluate([row.label for row in data.test], predicted, recorded.labels)
        same = metrics == recorded.metrics
        failures += not same
        print(
            f"{version}: accuracy {metrics.accuracy:.4f} macro-F1 {metrics.macro_f1:.4f} "
            f"({'matches manifest' if same else 'MISMATCH with manifest'})"
        )
    return 1 if failures else 0


def cmd_bench(args: argparse.Namespace) -> int:
    versions = list_versions(args.models_dir)
    if not versions:
        print(f"no versions in {args.models_dir}")
        return 1
    print(
        f"{'version':8} {'size MB':>8} {'load ms':>9} {'target':>7} {'predict ms':>11} {'p95':>7} "
        f"{'target':>7} {'sklearn ms':>11}  verdict"
    )
    missed = 0
    for version in versions:
        manifest = load_model(args.models_dir, version).manifest  # verified before timing
        targets = manifest.targets
        if targets is None:  # a registered version: nothing to measure against
            print(f"{version:8} (no targets: registered, not trained here)")
            continue
        figures = bench.measure(args.models_dir, version, runs=args.runs)
        size = manifest.artifact.size_bytes
        ok = all(targets_met(targets, figures, size).values())
        missed += not ok
        predict_target = targets.max_predict_ms or "-"
        print(
            f"{version:8} {size / 1e6:8.2f} {figures.load_ms:9.1f} {targets.max_load_ms:>7} "
            f"{figures.predict_one_ms:11.3f} {figures.predict_one_p95_ms:7.3f} {predict_target:>7} "
            f"{figures.reference_predict_one_ms or float('nan'):11.3f}  {'ok' if ok else 'MISSED'}"
        )
    print(
        f"({args.runs} fresh processes per version; 1-min load average now {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs)"
    )
    return 1 if (missed and args.strict) else 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Write a small stratified sample of the real corpus (the committed test fixture)."""
    from sklearn.model_selection import train_test_split

    rows = load_corpus(args.cache_dir).rows
    sample, _ = train_test_split(list(rows), train_size=args.rows, stratify=[r.label for r in rows], random_state=42)
    write_csv(sample, args.out)
    print(f"wrote {len(sample)} rows to {args.out}")
    return 0


def _version(value: str) -> str:
    if not is_valid_version(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a version like v1, v2, v3")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / DEFAULT_CACHE)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train the versions that are missing; never overwrite one")
    train.add_argument("--version", action="append", type=_version, help="only these (repeatable)")
    train.add_argument("--corpus-csv", type=Path, help="train on this CSV instead of the pinned corpus")
    train.add_argument("--bench-runs", type=int, default=5, help="fresh processes for the load benchmark")
    train.set_defaults(func=cmd_train)

    register = sub.add_parser(
        "register",
        help="register your own scikit-learn pipeline (saved with joblib) as a new version",
        description="Check a joblib-saved text classifier in a clean process and publish it as a new, "
        "immutable version folder (artifact, manifest, model card, known answers); refuses, writing nothing, "
        "a file that does not load, is not a text classifier, or fails on sample texts, and an existing version.",
    )
    register.add_argument("--artifact", type=Path, required=True, help="the .joblib file (a fitted classifier)")
    register.add_argument("--version", type=_version, required=True, help="the new version, e.g. v3")
    # SUPPRESS: given here it wins, absent it leaves the top-level --models-dir alone.
    register.add_argument("--models-dir", type=Path, default=argparse.SUPPRESS, help="default: the models layer")
    register.set_defaults(func=cmd_register)

    evaluate = sub.add_parser("evaluate", help="re-score committed versions on the recorded split")
    evaluate.add_argument("--version", action="append", type=_version)
    evaluate.add_argument("--corpus-csv", type=Path)
    evaluate.set_defaults(func=cmd_evaluate)

    bench_cmd = sub.add_parser("bench", help="load/predict figures of every committed version vs its targets")
    bench_cmd.add_argument("--runs", type=int, default=5)
    bench_cmd.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    bench_cmd.set_defaults(func=cmd_bench)

    sample = sub.add_parser("sample", help="write the small real-corpus sample used by the tests")
    sample.add_argument("--rows", type=int, default=600)
    sample.add_argument("--out", type=Path, default=bench.SAMPLE_CSV)
    sample.set_defaults(func=cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func  # set_defaults(func=cmd_...) of each subcommand
    try:
        return command(args)
    except (ArtifactError, CorpusError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
