"""Bring-your-own models: common scikit-learn pipeline shapes, fitted on the committed real sample,
saved with joblib by a user's own script, and registered with the documented command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pytest

from tests.conftest import MODELS_DIR, ROOT

# Every shape the fast exporter refuses, plus the one it takes (word_lr), as a user would write them.
SHAPES_SOURCE = """
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.feature_selection import SelectKBest, chi2
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC, LinearSVC

SHAPES = {
    "word_lr": lambda: make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
    "char_wb": lambda: make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)), LogisticRegression(max_iter=1000)
    ),
    "stop_words": lambda: make_pipeline(TfidfVectorizer(stop_words="english"), LogisticRegression(max_iter=1000)),
    "binary_counts": lambda: make_pipeline(CountVectorizer(binary=True), LogisticRegression(max_iter=1000)),
    "sgd": lambda: make_pipeline(TfidfVectorizer(), SGDClassifier(loss="log_loss", random_state=0)),
    "complement_nb": lambda: make_pipeline(TfidfVectorizer(), ComplementNB()),
    "calibrated_svm": lambda: make_pipeline(TfidfVectorizer(), CalibratedClassifierCV(LinearSVC(random_state=0), cv=3)),
    "svc_probability": lambda: make_pipeline(TfidfVectorizer(), SVC(probability=True, random_state=0)),
    "select_k_best": lambda: make_pipeline(
        TfidfVectorizer(), SelectKBest(chi2, k=300), LogisticRegression(max_iter=1000)
    ),
}
"""
SHAPES = (
    "word_lr",
    "char_wb",
    "stop_words",
    "binary_counts",
    "sgd",
    "complement_nb",
    "calibrated_svm",
    "svc_probability",
    "select_k_best",
)
FAST_SHAPES = {"word_lr"}

# A user's training script: fits every shape on the real sample and saves each with joblib.
_USER_SCRIPT = (
    SHAPES_SOURCE
    + """
import sys, warnings, joblib
from training.bench import SAMPLE_CSV
from training.corpus import load_csv_file
warnings.simplefilter("ignore", FutureWarning)  # SVC(probability=True) is deprecated in 1.9, still common
rows = load_csv_file(SAMPLE_CSV).rows
texts, labels = [r.text for r in rows], [r.label for r in rows]
for name, build in SHAPES.items():
    joblib.dump(build().fit(texts, labels), f"{sys.argv[1]}/{name}.joblib")
"""
)


@dataclass(frozen=True)
class Registered:
    models_dir: Path  # v1 (committed, the default) + one registered version per shape
    files: dict[str, Path]  # shape -> the user's .joblib
    versions: dict[str, str]  # shape -> its version


def register(artifact: Path, version: str, models_dir: Path) -> subprocess.CompletedProcess[str]:
    """The documented command, exactly as users script it."""
    command = [sys.executable, "-m", "training", "register", "--artifact", str(artifact), "--version", version,
               "--models-dir", str(models_dir)]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    user_dir = tmp_path_factory.mktemp("user")
    subprocess.run([sys.executable, "-c", _USER_SCRIPT, str(user_dir)], check=True, cwd=user_dir)
    models_dir = tmp_path_factory.mktemp("byo") / "models"
    models_dir.mkdir()
    shutil.copytree(MODELS_DIR / "v1", models_dir / "v1")
    versions = {}
    for number, shape in enumerate(SHAPES, start=10):
        result = register(user_dir / f"{shape}.joblib", f"v{number}", models_dir)
        assert result.returncode == 0, f"{shape}: {result.stderr}"
        versions[shape] = f"v{number}"
    return Registered(models_dir, {shape: user_dir / f"{shape}.joblib" for shape in SHAPES}, versions)


def user_pipeline(registered: Registered, shape: str) -> Any:
    return joblib.load(registered.files[shape])
