"""Fixtures for the training tests: the committed versions, copies of them, and a small real sample."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from serving.artifacts import load_model
from serving.linear_text import LinearTextModel
from training.bench import SAMPLE_CSV
from training.cli import DEFAULT_MODELS_DIR, REPO_ROOT

COMMITTED = DEFAULT_MODELS_DIR
VERSIONS = ("v1", "v2")  # served by the fast path (model.ltm)
GENERAL_VERSIONS = ("v3",)  # served by the scikit-learn runtime (model.joblib)
ALL_VERSIONS = VERSIONS + GENERAL_VERSIONS


def load_linear(models_dir: Path, version: str) -> LinearTextModel:
    """A fast-path version's served model as what it is (load_model types it as any runtime's model)."""
    model = load_model(models_dir, version).model
    assert isinstance(model, LinearTextModel), f"{version} is not served by the fast path"
    return model


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    """A writable copy of the committed models folder (the real artifacts, not stand-ins)."""
    target = tmp_path / "models"
    shutil.copytree(COMMITTED, target, ignore=shutil.ignore_patterns(".*"))
    return target


@pytest.fixture(scope="session")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Train every version twice from scratch on the committed sample, each time in a separate process
    running the same command as `make models` (separate processes: nothing in memory is shared)."""
    dirs = []
    for run in ("first", "second"):
        models_dir = tmp_path_factory.mktemp(run) / "models"
        command = [sys.executable, "-m", "training", "--models-dir", str(models_dir), "train",
                   "--corpus-csv", str(SAMPLE_CSV), "--bench-runs", "1"]  # fmt: skip
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        dirs.append(models_dir)
    return dirs[0], dirs[1]
