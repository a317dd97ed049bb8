"""`python -m training register`: what it publishes, and what it refuses without writing anything."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from serving.artifacts import ARTIFACT_FILE, PIPELINE_FILE, load_model
from serving.linear_text import FORMAT
from serving.runtimes import SKLEARN_FORMAT
from tests.byo.conftest import FAST_SHAPES, SHAPES, Registered, register, user_pipeline
from tests.conftest import MODELS_DIR
from training import known_answers
from training.manifest import file_sha256, read_manifest_json


@pytest.mark.parametrize("shape", SHAPES)
def test_registered_folder_is_complete_and_verified(registered: Registered, shape: str) -> None:
    folder = registered.models_dir / registered.versions[shape]
    raw = read_manifest_json(folder)
    assert (folder / "MODEL_CARD.md").is_file()
    # The user's bytes, unchanged, verified by size and sha256, with the scikit-learn they were saved with.
    pickle_section = raw["fallback_artifact"] if shape in FAST_SHAPES else raw["artifact"]
    assert pickle_section["format"] == SKLEARN_FORMAT
    assert pickle_section["sha256"] == file_sha256(registered.files[shape]) == file_sha256(folder / PIPELINE_FILE)
    import sklearn

    assert pickle_section["scikit_learn"] == sklearn.__version__
    pipeline = user_pipeline(registered, shape)
    assert raw["labels"] == [str(label) for label in pipeline.classes_]
    # Known answers are the pipeline's own, on the fixed texts.
    answers = raw["known_answers"]
    assert answers["texts"] == list(known_answers.TEXTS)
    assert answers["labels"] == [str(label) for label in pipeline.predict(list(known_answers.TEXTS))]
    expected = pipeline.predict_proba(list(known_answers.TEXTS))
    assert max(abs(a - b) for row, exp in zip(answers["probabilities"], expected) for a, b in zip(row, exp)) == 0.0
    # The fast path exists exactly where it reproduces the pipeline.
    if shape in FAST_SHAPES:
        assert raw["artifact"]["format"] == FORMAT and (folder / ARTIFACT_FILE).is_file()
        assert raw["fast_path"]["exported"] is True and raw["fast_path"]["parity"]["passed"] is True
    else:
        assert raw["fallback_artifact"] is None and not (folder / ARTIFACT_FILE).exists()
        assert raw["fast_path"]["exported"] is False and raw["fast_path"]["reason"].startswith("cannot export")
    loaded = load_model(registered.models_dir, registered.versions[shape])
    assert loaded.runtime == (FORMAT if shape in FAST_SHAPES else SKLEARN_FORMAT)


def _snapshot(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder.parent)) for path in folder.parent.rglob("*"))


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    target = tmp_path / "layer" / "models"
    shutil.copytree(MODELS_DIR / "v1", target / "v1")
    return target


def _refused(artifact: Path, version: str, models_dir: Path) -> str:
    before = _snapshot(models_dir)
    result = register(artifact, version, models_dir)
    assert result.returncode != 0
    assert _snapshot(models_dir) == before, "a refused registration wrote something"
    assert result.stderr.startswith("error: refused, nothing written:"), result.stderr
    return result.stderr


def test_refuses_a_file_that_does_not_load(tmp_path: Path, models_dir: Path) -> None:
    junk = tmp_path / "model.joblib"
    junk.write_bytes(b"this is not a pickle at all" * 10)
    assert "does not load with joblib" in _refused(junk, "v7", models_dir)


def test_refuses_an_object_that_is_not_a_text_classifier(tmp_path: Path, models_dir: Path) -> None:
    vectoriser = tmp_path / "vectoriser.joblib"
    joblib.dump(TfidfVectorizer().fit(["a text", "another text"]), vectoriser)
    assert "TfidfVectorizer is not a text classifier" in _refused(vectoriser, "v7", models_dir)


def test_refuses_a_classifier_whose_predictions_fail_on_texts(tmp_path: Path, models_dir: Path) -> None:
    numeric = tmp_path / "numeric.joblib"
    joblib.dump(
        make_pipeline(StandardScaler(), LogisticRegression()).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]), numeric
    )
    assert "predictions fail on sample texts" in _refused(numeric, "v7", models_dir)


def test_refuses_code_that_a_clean_process_does_not_have(tmp_path: Path, models_dir: Path) -> None:
    # A notebook's own tokenizer: it pickles by reference, so Lambda could never load it.
    script = (
        "import sys, joblib\n"
        "from sklearn.feature_extraction.text import TfidfVectorizer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "def my_tokenizer(text):\n    return text.split()\n"
        "p = make_pipeline(TfidfVectorizer(tokenizer=my_tokenizer, token_pattern=None), LogisticRegression())\n"
        "joblib.dump(p.fit(['good day', 'bad day', 'great', 'awful'], ['pos', 'neg', 'pos', 'neg']), sys.argv[1])\n"
    )
    custom = tmp_path / "custom.joblib"
    subprocess.run([sys.executable, "-c", script, str(custom)], check=True)
    assert "does not load with joblib in a clean Python process" in _refused(custom, "v7", models_dir)


def test_refuses_an_existing_version(registered: Registered, models_dir: Path) -> None:
    stderr = _refused(registered.files["sgd"], "v1", models_dir)
    assert "already exists" in stderr
    assert json.loads((models_dir / "v1" / "manifest.json").read_text())["artifact"]["format"] == FORMAT
