"""The model artifact contract: immutable version folders, verified before they are loaded.

Layout (one folder per version, never rewritten once published)::

    <models_dir>/<version>/manifest.json   what was trained, on what, how well it did, and which
                                           file(s) serve it: ``artifact`` and optionally ``fallback_artifact``
                                           (one typed model: serving/manifest.py)
    <models_dir>/<version>/model.ltm       format linear-text/1 (serving/linear_text.py): numbers, no code
    <models_dir>/<version>/model.joblib    format sklearn-joblib/1 (serving/sklearn_pipeline.py): a pickled
                                           scikit-learn pipeline; or, as ``reference``, the pipeline a
                                           model.ltm was exported from (training only, never shipped)

The manifest's ``artifact.format`` picks the runtime. A version may carry both formats: the fast
file as ``artifact`` and the pipeline as ``fallback_artifact``, served only when the fast file is
missing or fails verification. ``load_model`` reads a file once, checks its size and sha256 against
the manifest, and only then hands those same bytes to the runtime; then the model must reproduce
the manifest's ``known_answers``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from serving import runtimes
from serving.manifest import MANIFEST_FILE, ArtifactRef, KnownAnswers, Manifest

__all__ = [  # Manifest and MANIFEST_FILE are re-exported: the registry and tests import them from here
    "ARTIFACT_FILE",
    "MANIFEST_FILE",
    "PIPELINE_FILE",
    "REFERENCE_FILE",
    "VERSION_PATTERN",
    "ArtifactError",
    "LoadedModel",
    "Manifest",
    "is_valid_version",
    "list_versions",
    "load_artifact",
    "load_model",
    "read_manifest",
    "verified_bytes",
    "version_number",
]

# A version is "v" followed by a number: it names a folder, so nothing else is allowed.
VERSION_PATTERN = r"^v[1-9][0-9]{0,3}$"
_VERSION_RE = re.compile(VERSION_PATTERN)

ARTIFACT_FILE = "model.ltm"
PIPELINE_FILE = "model.joblib"
REFERENCE_FILE = PIPELINE_FILE  # v1/v2: the pipeline model.ltm was exported from (not served)


class ArtifactError(Exception):
    """A model version cannot be served; ``reason`` says why in one word (see routing's public texts)."""

    def __init__(self, version: str, reason: str, detail: str) -> None:
        super().__init__(f"model version {version!r} is {reason}: {detail}")
        self.version = version
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class LoadedModel:
    manifest: Manifest
    artifact: ArtifactRef  # the one that serves
    model: runtimes.TextClassifier
    # Preferred artifacts that could not serve (e.g. a tampered fast file), so /models can say why.
    skipped: tuple[ArtifactError, ...] = field(default=())

    @property
    def runtime(self) -> str:
        return self.artifact.format

    @property
    def digest(self) -> str:
        """Short digest of the serving artifact: cache entries never cross artifacts or runtimes."""
        return self.artifact.sha256[:16]


def is_valid_version(version: str) -> bool:
    return bool(_VERSION_RE.fullmatch(version))


def version_number(version: str) -> int:
    return int(version[1:])


def list_versions(models_dir: Path) -> list[str]:
    """Versions that have a manifest, in numeric order (v2 before v10)."""
    if not models_dir.is_dir():
        return []
    found = [
        entry.name
        for entry in models_dir.iterdir()
        if is_valid_version(entry.name) and (entry / MANIFEST_FILE).is_file()
    ]
    return sorted(found, key=version_number)


def read_manifest(models_dir: Path, version: str) -> Manifest:
    """The version's manifest, validated once (serving/manifest.py): any flaw is "corrupt"."""
    if not is_valid_version(version):
        raise ArtifactError(version, "invalid", f"version must match {VERSION_PATTERN}")
    path = models_dir / version / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(version, "missing", f"no manifest at {path}") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(version, "corrupt", f"manifest unreadable: {exc}") from None
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ArtifactError(version, "corrupt", f"manifest lacks or mistypes {_flaws(exc)}") from None
    if manifest.version != version:
        raise ArtifactError(version, "corrupt", f"manifest says version {manifest.version!r}, folder says {version!r}")
    return manifest


def _flaws(error: ValidationError, shown: int = 3) -> str:
    """The first few field errors on one line, e.g. "artifact.sha256 (Field required)"."""
    flaws = [
        f"{'.'.join(str(part) for part in flaw['loc']) or 'the document'} ({flaw['msg']})"
        for flaw in error.errors(include_url=False, include_input=False)
    ]
    more = f" and {len(flaws) - shown} more" if len(flaws) > shown else ""
    return "; ".join(flaws[:shown]) + more


def verified_bytes(models_dir: Path, version: str, ref: ArtifactRef) -> bytes:
    """An artifact's bytes, once its size and sha256 match the manifest (one read: checked = loaded)."""
    path = models_dir / version / ref.file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(version, "missing", f"no artifact at {path}") from None
    except OSError as exc:
        raise ArtifactError(version, "corrupt", f"{ref.file} unreadable: {exc}") from None
    if len(data) != ref.size_bytes:
        raise ArtifactError(version, "tampered", f"{ref.file} is {len(data)} bytes, manifest says {ref.size_bytes}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != ref.sha256:
        raise ArtifactError(version, "tampered", f"{ref.file} sha256 {actual[:16]}... != manifest {ref.sha256[:16]}...")
    return data


def load_model(models_dir: Path, version: str) -> LoadedModel:
    """The first of the manifest's artifacts that verifies, loads and reproduces the known answers."""
    manifest = read_manifest(models_dir, version)
    skipped: list[ArtifactError] = []
    for ref in manifest.artifacts:
        try:
            model = load_artifact(models_dir, manifest, ref)
        except ArtifactError as error:
            skipped.append(error)
            continue
        return LoadedModel(manifest=manifest, artifact=ref, model=model, skipped=tuple(skipped))
    first = skipped[0]
    if len(skipped) == 1:
        raise first
    raise ArtifactError(version, first.reason, "; ".join(error.detail for error in skipped))


def load_artifact(models_dir: Path, manifest: Manifest, ref: ArtifactRef) -> runtimes.TextClassifier:
    """One artifact through its runtime: format known, bytes verified, then (and only then) loaded."""
    version = manifest.version
    if ref.format not in runtimes.FORMATS:
        raise ArtifactError(
            version, "incompatible", f"{ref.file}: format {ref.format!r}, this service reads {runtimes.FORMATS}"
        )
    data = verified_bytes(models_dir, version, ref)
    try:
        model = runtimes.load(ref.format, data, saved_with=ref.scikit_learn)
    except runtimes.RuntimeUnavailable as exc:
        raise ArtifactError(version, "incompatible", f"{ref.file}: {exc}") from None
    except runtimes.UnreadableModel as exc:  # verified, yet unreadable: a publisher bug
        raise ArtifactError(version, "corrupt", f"{ref.file}: unreadable model file: {exc}") from None
    if model.labels != manifest.labels:
        raise ArtifactError(
            version, "corrupt", f"{ref.file}: model labels {model.labels} differ from manifest {manifest.labels}"
        )
    if manifest.known_answers is not None:
        _check_known_answers(version, ref, model, manifest.known_answers)
    return model


def _check_known_answers(version: str, ref: ArtifactRef, model: runtimes.TextClassifier, answers: KnownAnswers) -> None:
    """Library drift or a wrong runtime shows up here, before the model answers anybody."""
    got = model.classify(list(answers.texts))
    for number, ((best, row), expected, label) in enumerate(
        zip(got, answers.probabilities, answers.labels, strict=True)
    ):
        diffs = [abs(a - b) for a, b in zip(row, expected, strict=False)] if len(row) == len(expected) else []
        reproduced = bool(diffs) and all(diff <= answers.tolerance for diff in diffs)  # a NaN fails "<="
        if model.labels[best] != label or not reproduced:
            worst = max(diffs, key=lambda diff: math.inf if math.isnan(diff) else diff, default=math.inf)
            raise ArtifactError(
                version,
                "drifted",
                f"{ref.file} ({ref.format}) no longer reproduces known answer #{number}: label "
                f"{model.labels[best]!r} (recorded {label!r}), max probability difference {worst:.3g} "
                f"(tolerance {answers.tolerance:g})",
            )
