"""The committed versions satisfy the loading contract and carry a complete, consistent manifest."""

from __future__ import annotations

import re

import pytest
import sklearn

from serving.artifacts import ARTIFACT_FILE, REFERENCE_FILE, list_versions, load_model
from serving.linear_text import FORMAT
from training.card import CARD_FILE, CONFUSION_PNG
from training.corpus import CSV_SHA256
from training.dataset import SPLIT_SEED
from training.manifest import REQUIRED_KEYS, file_sha256, read_manifest_json

from .conftest import ALL_VERSIONS, COMMITTED, VERSIONS

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_both_versions_are_committed() -> None:
    assert set(VERSIONS) <= set(list_versions(COMMITTED))


@pytest.mark.parametrize("version", VERSIONS)
def test_manifest_schema(version: str) -> None:
    folder = COMMITTED / version
    raw = read_manifest_json(folder)
    assert set(REQUIRED_KEYS) <= set(raw), f"missing {set(REQUIRED_KEYS) - set(raw)}"
    assert raw["version"] == version

    for section, name in (("artifact", ARTIFACT_FILE), ("reference", REFERENCE_FILE)):
        path = folder / name
        assert raw[section]["file"] == name
        assert raw[section]["sha256"] == file_sha256(path)
        assert raw[section]["size_bytes"] == path.stat().st_size
    assert raw["artifact"]["format"] == FORMAT

    # The reference pickles are unpickled by training and the parity tests: same scikit-learn minor.
    runtime = raw["runtime"]
    assert {"python", "scikit_learn", "numpy", "joblib"} <= set(runtime)
    assert runtime["scikit_learn"].split(".")[:2] == sklearn.__version__.split(".")[:2]

    data = raw["data"]
    assert data["corpus_sha256"] == CSV_SHA256  # trained on the pinned corpus, not the test sample
    assert data["split_seed"] == SPLIT_SEED
    assert HEX64.match(data["test_sha256"])
    assert data["train_rows"] > 0 and data["test_rows"] > 0

    loaded = load_model(COMMITTED, version)  # verifies format, size and sha256, then compares labels
    assert list(loaded.manifest.labels) == raw["labels"] == list(loaded.model.labels)

    parity = raw["parity"]  # the served file reproduced the pipeline on the whole test split
    assert parity["passed"] is True
    assert parity["texts"] == parity["labels_equal"] == data["test_rows"]
    assert parity["max_abs_probability_diff"] <= parity["tolerance"] <= 1e-9

    bench = raw["benchmark"]
    for key in ("load_ms", "predict_one_ms", "import_ms", "predict_one_p95_ms", "reference_predict_one_ms"):
        assert bench[key] > 0
    assert {"params", "steps"} <= set(raw["pipeline"])
    assert all(cls.startswith("sklearn.") for cls in raw["pipeline"]["classes"])


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_metrics_are_internally_consistent(version: str) -> None:
    raw = read_manifest_json(COMMITTED / version)
    metrics, test_rows = raw["metrics"], raw["data"]["test_rows"]
    matrix = metrics["confusion_matrix"]["matrix"]
    assert metrics["confusion_matrix"]["labels"] == raw["labels"]
    assert sum(map(sum, matrix)) == test_rows
    assert metrics["accuracy"] == pytest.approx(sum(matrix[i][i] for i in range(len(matrix))) / test_rows)
    per_class = metrics["per_class"]
    assert list(per_class) == raw["labels"]
    assert sum(c["support"] for c in per_class.values()) == test_rows
    for i, label in enumerate(raw["labels"]):
        assert per_class[label]["support"] == sum(matrix[i])
        assert per_class[label]["recall"] == pytest.approx(matrix[i][i] / sum(matrix[i]))
    assert metrics["macro_f1"] == pytest.approx(sum(c["f1"] for c in per_class.values()) / len(per_class))


def test_versions_share_one_split_and_v2_beats_v1() -> None:
    v1, v2 = (read_manifest_json(COMMITTED / v) for v in ("v1", "v2"))
    assert v1["data"]["test_sha256"] == v2["data"]["test_sha256"]
    assert v2["metrics"]["macro_f1"] > v1["metrics"]["macro_f1"]


def test_v1_size_target() -> None:
    assert (COMMITTED / "v1" / ARTIFACT_FILE).stat().st_size <= 3_000_000


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_model_card_is_generated_from_the_manifest(version: str) -> None:
    folder = COMMITTED / version
    raw = read_manifest_json(folder)
    card = (folder / CARD_FILE).read_text(encoding="utf-8")
    assert raw["artifact"]["sha256"] in card
    assert f"{raw['metrics']['macro_f1']:.4f}" in card
    assert raw["data"]["test_sha256"] in card
    assert (folder / CONFUSION_PNG).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_v3_is_a_pipeline_the_fast_path_cannot_express_served_by_the_general_runtime() -> None:
    import joblib

    from serving.runtimes import SKLEARN_FORMAT
    from training.export import ExportError, export

    folder = COMMITTED / "v3"
    raw = read_manifest_json(folder)
    assert set(REQUIRED_KEYS) <= set(raw)
    artifact = raw["artifact"]
    assert artifact["format"] == SKLEARN_FORMAT and artifact["file"] == REFERENCE_FILE
    assert artifact["sha256"] == file_sha256(folder / REFERENCE_FILE)
    assert artifact["size_bytes"] == (folder / REFERENCE_FILE).stat().st_size
    assert artifact["scikit_learn"] == sklearn.__version__  # the serving runtime must be exactly this
    assert raw["reference"] is None and raw["parity"]["fast_path"] is False
    with pytest.raises(ExportError):
        export(joblib.load(folder / REFERENCE_FILE))
    loaded = load_model(COMMITTED, "v3")  # size, sha256, scikit-learn version, unpickle, known answers
    assert loaded.runtime == SKLEARN_FORMAT
    assert list(loaded.model.labels) == raw["labels"]
    assert raw["data"]["corpus_sha256"] == CSV_SHA256 and raw["data"]["split_seed"] == SPLIT_SEED


def test_v3_beats_v2_on_the_same_split() -> None:
    v2, v3 = (read_manifest_json(COMMITTED / v) for v in ("v2", "v3"))
    assert v2["data"]["test_sha256"] == v3["data"]["test_sha256"]
    assert v3["metrics"]["macro_f1"] > v2["metrics"]["macro_f1"]
    assert v3["metrics"]["accuracy"] > v2["metrics"]["accuracy"]
