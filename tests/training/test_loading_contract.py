"""Refusals before parsing, and what the served file needs (nothing but the standard library)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from serving import linear_text
from serving.artifacts import ARTIFACT_FILE, MANIFEST_FILE, REFERENCE_FILE, ArtifactError, load_model
from training.cli import REPO_ROOT

from .conftest import COMMITTED, VERSIONS, load_linear


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        pytest.fail("a model file that should have been refused was parsed")

    monkeypatch.setattr(linear_text, "decode", forbidden)


def _flip_one_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_manifest(models_dir: Path, version: str, **artifact: object) -> dict:
    path = models_dir / version / MANIFEST_FILE
    raw = json.loads(path.read_text())
    raw["artifact"].update(artifact)
    path.write_text(json.dumps(raw))
    return raw


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_flipped_byte_is_refused_before_parsing(
    models_copy: Path, version: str, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = models_copy / version / ARTIFACT_FILE
    assert load_linear(models_copy, version).n_terms > 1000  # the untouched copy loads
    size = artifact.stat().st_size
    _flip_one_byte(artifact, {"first": 0, "middle": size // 2, "last": size - 1}[where])
    assert artifact.stat().st_size == size  # same size: only the sha256 can catch it

    monkeypatch.setattr(linear_text, "decode", lambda data: pytest.fail("tampered bytes were parsed"))
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, version)
    assert caught.value.reason == "tampered"
    assert caught.value.version == version


@pytest.mark.usefixtures("no_parsing")
def test_unknown_format_is_refused_before_parsing(models_copy: Path) -> None:
    _rewrite_manifest(models_copy, "v1", format="linear-text/99")
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v1")
    assert caught.value.reason == "incompatible"
    assert "linear-text/99" in str(caught.value)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) - 12],  # weights cut short
        lambda data: b"LTM1\n" + b"\xff\xff\xff\x7f" + data[9:],  # header length beyond the file
        lambda data: data.replace(b'"format": "linear-text/1"', b'"format": "linear-text/0"', 1),
        lambda data: b"PK\x03\x04" + data[4:],  # not our file at all
    ],
    ids=["truncated-weights", "header-length", "header-format", "wrong-magic"],
)
def test_verified_but_malformed_file_is_corrupt_not_a_crash(models_copy: Path, damage) -> None:
    # A publisher bug, not tampering: the manifest matches the bad bytes, so only parsing can tell.
    artifact = models_copy / "v2" / ARTIFACT_FILE
    bad = damage(artifact.read_bytes())
    artifact.write_bytes(bad)
    _rewrite_manifest(models_copy, "v2", sha256=hashlib.sha256(bad).hexdigest(), size_bytes=len(bad))
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v2")
    assert (caught.value.reason, caught.value.version) == ("corrupt", "v2")


@pytest.mark.usefixtures("no_parsing")
def test_missing_artifact(models_copy: Path) -> None:
    (models_copy / "v2" / ARTIFACT_FILE).unlink()
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v2")
    assert (caught.value.reason, caught.value.version) == ("missing", "v2")


@pytest.mark.usefixtures("no_parsing")
def test_missing_version(models_copy: Path) -> None:
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v99")
    assert (caught.value.reason, caught.value.version) == ("missing", "v99")


# Serving must work where scikit-learn and its stack are absent (they are not in the Lambda layer).
_SERVE_WITHOUT_SCIENTIFIC_STACK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"sklearn", "numpy", "scipy", "joblib", "training", "tests"}:
            raise ImportError(f"the serving path imported {name}")
sys.meta_path.insert(0, Block())
from pathlib import Path
from serving.artifacts import load_model
from serving.predictor import predict
model = load_model(Path(sys.argv[1]), sys.argv[2])
print(predict(model, ["what a great phone", "the battery died again"])[0].label)
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_served_file_needs_only_the_standard_library(version: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SERVE_WITHOUT_SCIENTIFIC_STACK, str(COMMITTED), version],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT / "functions" / "inference"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"negative", "neutral", "positive"}


_ISOLATED_REFERENCE_LOAD = """
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
def test_reference_pickle_needs_no_project_code(version: str, tmp_path: Path) -> None:
    # -I: no cwd / PYTHONPATH on sys.path, so only installed libraries can be imported.
    result = subprocess.run(
        [sys.executable, "-I", "-c", _ISOLATED_REFERENCE_LOAD, str(COMMITTED / version / REFERENCE_FILE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sklearn.pipeline")
