"""serving.manifest.Manifest: the one model of manifest.json that training writes and serving reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from serving.artifacts import MANIFEST_FILE, ArtifactError, list_versions, load_model, read_manifest
from serving.manifest import ArtifactRef, Manifest, Targets
from training.manifest import REQUIRED_KEYS

Edit = Callable[[dict[str, Any]], object]


def _edit(models_dir: Path, version: str, edit: Edit) -> None:
    path = models_dir / version / MANIFEST_FILE
    raw = json.loads(path.read_text())
    edit(raw)
    path.write_text(json.dumps(raw))


def _corrupt(models_dir: Path, version: str) -> ArtifactError:
    with pytest.raises(ArtifactError) as caught:
        read_manifest(models_dir, version)
    assert (caught.value.reason, caught.value.version) == ("corrupt", version)
    return caught.value


# --- the committed manifests --------------------------------------------------------------------


def test_every_committed_manifest_round_trips_byte_for_byte(committed_models: Path) -> None:
    versions = list_versions(committed_models)
    assert {"v1", "v2", "v3"} <= set(versions)
    for version in versions:
        text = (committed_models / version / MANIFEST_FILE).read_text(encoding="utf-8")
        manifest = read_manifest(committed_models, version)
        assert manifest.dumps() == text, version  # one serializer: what training writes
        assert manifest.document() == json.loads(text)
        assert not manifest.model_extra, f"{version} has keys the model does not type: {manifest.model_extra}"


def test_committed_manifests_are_complete_and_typed(committed_models: Path) -> None:
    for version in list_versions(committed_models):
        manifest = read_manifest(committed_models, version)
        assert set(REQUIRED_KEYS) <= manifest.model_fields_set, version
        assert manifest.metrics is not None and manifest.data is not None and manifest.targets is not None
        assert manifest.metrics.confusion_matrix.labels == manifest.labels
        assert manifest.targets.met and all(manifest.targets.met.values())


# --- what a bad manifest is ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda raw: raw.pop("artifact"), "artifact (Field required)"),
        (lambda raw: raw["artifact"].pop("sha256"), "artifact.sha256 (Field required)"),
        (lambda raw: raw.pop("labels"), "labels (Field required)"),
        (lambda raw: raw.update(labels="negative"), "labels"),
        (lambda raw: raw["artifact"].update(size_bytes="big"), "artifact.size_bytes"),
        (lambda raw: raw["artifact"].update(file="../v2/model.ltm"), "is not a plain file name"),
        (lambda raw: raw["artifact"].update(file=".hidden"), "is not a plain file name"),
        (lambda raw: raw.update(fallback_artifact={"file": "model.joblib"}), "fallback_artifact.format"),
        (lambda raw: raw["known_answers"]["labels"].pop(), "differ in length"),
        (lambda raw: raw["known_answers"].update(tolerance=None), "known_answers.tolerance"),
        (lambda raw: raw["metrics"].update(accuracy="high"), "metrics.accuracy"),  # typed beyond serving's needs
        (lambda raw: raw.update(version="v2"), "manifest says version 'v2', folder says 'v1'"),
    ],
    ids=[
        "no-artifact",
        "no-sha256",
        "no-labels",
        "labels-a-string",
        "size-not-a-number",
        "file-a-path",
        "file-hidden",
        "fallback-incomplete",
        "known-answers-uneven",
        "known-answers-no-tolerance",
        "metrics-mistyped",
        "other-version",
    ],
)
def test_a_missing_or_mistyped_field_is_corrupt_and_named(models_copy: Path, edit: Edit, says: str) -> None:
    _edit(models_copy, "v1", edit)
    error = _corrupt(models_copy, "v1")
    assert says in str(error)
    with pytest.raises(ArtifactError, match="corrupt"):
        load_model(models_copy, "v1")


def test_unreadable_manifests_are_corrupt(models_copy: Path) -> None:
    (models_copy / "v1" / MANIFEST_FILE).write_text("{not json")
    assert "manifest unreadable" in str(_corrupt(models_copy, "v1"))
    (models_copy / "v1" / MANIFEST_FILE).write_text("[]")
    assert "the document (Input should be a valid dictionary" in str(_corrupt(models_copy, "v1"))


def test_many_flaws_are_summarised_on_one_line(models_copy: Path) -> None:
    def four_flaws(raw: dict[str, Any]) -> None:
        for key in ("file", "format", "sha256"):
            del raw["artifact"][key]
        del raw["labels"]

    _edit(models_copy, "v1", four_flaws)
    error = str(_corrupt(models_copy, "v1"))
    assert "\n" not in error and error.endswith("and 1 more")


def test_missing_and_invalid_versions_keep_their_reasons(models_copy: Path) -> None:
    (models_copy / "v1" / MANIFEST_FILE).unlink()
    with pytest.raises(ArtifactError) as caught:
        read_manifest(models_copy, "v1")
    assert caught.value.reason == "missing"
    with pytest.raises(ArtifactError) as caught:
        read_manifest(models_copy, "../v1")
    assert caught.value.reason == "invalid"


# --- what serving tolerates, as before ----------------------------------------------------------


def test_an_unknown_format_reads_and_is_incompatible_at_load(models_copy: Path) -> None:
    _edit(models_copy, "v1", lambda raw: raw["artifact"].update(format="linear-text/9"))
    assert read_manifest(models_copy, "v1").artifact.format == "linear-text/9"
    with pytest.raises(ArtifactError) as caught:
        load_model(models_copy, "v1")
    assert caught.value.reason == "incompatible"


def test_only_version_artifact_and_labels_are_required(models_copy: Path) -> None:
    def minimal(raw: dict[str, Any]) -> None:
        for key in set(raw) - {"version", "artifact", "labels"}:
            del raw[key]

    _edit(models_copy, "v1", minimal)
    loaded = load_model(models_copy, "v1")  # no known answers to check, nothing else needed
    assert loaded.manifest.known_answers is None and loaded.manifest.metrics is None
    assert set(loaded.manifest.document()) == {"version", "artifact", "labels"}


def test_empty_optional_sections_read_as_none(models_copy: Path) -> None:
    _edit(models_copy, "v1", lambda raw: raw.update(fallback_artifact={}, known_answers=None))
    manifest = read_manifest(models_copy, "v1")
    assert manifest.fallback_artifact is None and manifest.known_answers is None
    assert manifest.artifacts == (manifest.artifact,)


def test_unknown_keys_are_kept_not_refused(models_copy: Path, make_client: Callable[..., Any]) -> None:
    _edit(models_copy, "v1", lambda raw: (raw.update(future={"a": [1, 2.5]}), raw["artifact"].update(extra=True)))
    manifest = read_manifest(models_copy, "v1")
    assert manifest.document()["future"] == {"a": [1, 2.5]} and manifest.artifact.model_extra == {"extra": True}
    on_disk = json.loads((models_copy / "v1" / MANIFEST_FILE).read_text())
    assert make_client(models_copy).get("/models/v1").json() == on_disk


# --- writing ------------------------------------------------------------------------------------


def test_absent_stays_absent_and_an_explicit_null_is_written() -> None:
    artifact = ArtifactRef(file="model.ltm", format="linear-text/1", sha256="0" * 64, size_bytes=1)
    manifest = Manifest(version="v7", artifact=artifact, labels=("a", "b"), reference=None)
    assert json.loads(manifest.dumps()) == {
        "version": "v7",
        "artifact": {"file": "model.ltm", "format": "linear-text/1", "sha256": "0" * 64, "size_bytes": 1},
        "reference": None,
        "labels": ["a", "b"],
    }
    later = manifest.model_copy(update={"targets": Targets(max_size_bytes=None, max_load_ms=100, max_predict_ms=None)})
    assert list(json.loads(later.dumps())) == ["version", "artifact", "reference", "labels", "targets"]
    assert later.dumps().endswith('"max_load_ms": 100.0,\n    "max_predict_ms": null\n  }\n}\n')


def test_non_ascii_is_written_as_is() -> None:
    artifact = ArtifactRef(file="model.ltm", format="linear-text/1", sha256="0" * 64, size_bytes=1)
    text = Manifest(version="v7", artifact=artifact, labels=("négatif", "😀")).dumps()
    assert '"négatif"' in text and '"😀"' in text


# --- /models reads the typed fields -------------------------------------------------------------


def test_models_summary_and_manifest_endpoint_come_from_the_model(
    make_client: Callable[..., Any], committed_models: Path
) -> None:
    client = make_client()
    summaries = {item["version"]: item for item in client.get("/models").json()["models"]}
    for version in list_versions(committed_models):
        manifest = read_manifest(committed_models, version)
        assert manifest.metrics is not None
        summary = summaries[version]
        assert summary["created"] == manifest.created
        assert summary["metrics"] == {"accuracy": manifest.metrics.accuracy, "macro_f1": manifest.metrics.macro_f1}
        assert summary["formats"] == [ref.format for ref in manifest.artifacts]
        assert summary["labels"] == list(manifest.labels)
        body = client.get(f"/models/{version}")
        assert body.status_code == 200
        assert body.json() == json.loads((committed_models / version / MANIFEST_FILE).read_text())
        assert list(body.json()) == list(manifest.document())  # the file's key order


def test_a_version_without_metrics_summarises_them_as_null(models_copy: Path, make_client: Callable[..., Any]) -> None:
    _edit(models_copy, "v2", lambda raw: (raw.update(metrics=None), raw.pop("created")))  # as a registered one
    summary = next(m for m in make_client(models_copy).get("/models").json()["models"] if m["version"] == "v2")
    assert summary["metrics"] == {"accuracy": None, "macro_f1": None} and summary["created"] is None


def test_a_corrupt_manifest_is_reported_not_raised(models_copy: Path, make_client: Callable[..., Any]) -> None:
    _edit(models_copy, "v2", lambda raw: raw["artifact"].pop("sha256"))
    client = make_client(models_copy)
    summary = next(m for m in client.get("/models").json()["models"] if m["version"] == "v2")
    assert summary == {"version": "v2", "status": "corrupt", "loaded": False}
    answer = client.get("/models/v2")
    assert answer.status_code == 503 and "corrupt" in answer.json()["message"]
