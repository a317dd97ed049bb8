"""Refusals before unpickling: a tampered, incompatible or missing artifact is never joblib.load-ed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from serving.artifacts import ARTIFACT_FILE, MANIFEST_FILE, ArtifactError, load_model

from .conftest import COMMITTED, VERSIONS


def _forbid_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        pytest.fail("joblib.load was called on an artifact that should have been refused")

    monkeypatch.setattr(joblib, "load", forbidden)


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    _forbid_unpickling(monkeypatch)


def _flip_one_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_flipped_byte_is_refused_before_unpickling(
    models_copy: Path, version: str, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = models_copy / version / ARTIFACT_FILE
    assert load_model(models_copy, version).pipeline is not None  # the untouched copy loads
    size = artifact.stat().st_size
    _flip_one_byte(artifact, {"first": 0, "middle": size // 2, "last": size - 1}[where])
    assert artifact.stat().st_size == size  # same size: only the sha256 can catch it

    _forbid_unpickling(monkeypatch)
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, version)
    assert caught.value.reason == "tampered"
    assert caught.value.version == version


@pytest.mark.usefixtures("no_unpickling")
def test_other_sklearn_minor_is_refused_before_unpickling(models_copy: Path) -> None:
    manifest_path = models_copy / "v1" / MANIFEST_FILE
    raw = json.loads(manifest_path.read_text())
    major, minor, *_ = raw["runtime"]["scikit_learn"].split(".")
    raw["runtime"]["scikit_learn"] = f"{major}.{int(minor) - 1}.0"
    manifest_path.write_text(json.dumps(raw))
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v1")
    assert caught.value.reason == "incompatible"
    assert raw["runtime"]["scikit_learn"] in str(caught.value)


@pytest.mark.usefixtures("no_unpickling")
def test_missing_artifact(models_copy: Path) -> None:
    (models_copy / "v2" / ARTIFACT_FILE).unlink()
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v2")
    assert (caught.value.reason, caught.value.version) == ("missing", "v2")


@pytest.mark.usefixtures("no_unpickling")
def test_missing_version(models_copy: Path) -> None:
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v99")
    assert (caught.value.reason, caught.value.version) == ("missing", "v99")


_ISOLATED_LOAD = """
import sys, joblib
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"training", "serving", "tests"}:
            raise ImportError(f"artifact tried to import project code: {name}")
sys.meta_path.insert(0, Block())
pipeline = joblib.load(sys.argv[1])
vocabulary = pipeline.steps[0][1].vocabulary_
assert type(vocabulary) is dict and len(vocabulary) > 1000
print(type(pipeline).__module__, len(vocabulary))
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_artifact_needs_no_project_code(version: str, tmp_path: Path) -> None:
    # -I: no cwd / PYTHONPATH on sys.path, so only installed libraries can be imported.
    result = subprocess.run(
        [sys.executable, "-I", "-c", _ISOLATED_LOAD, str(COMMITTED / version / ARTIFACT_FILE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sklearn.pipeline")
