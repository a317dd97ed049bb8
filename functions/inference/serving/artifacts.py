"""The model artifact contract: immutable version folders, verified before unpickling.

Layout (one folder per version, never rewritten once published)::

    <models_dir>/<version>/manifest.json   what was trained, on what, and how well it did
    <models_dir>/<version>/model.joblib    a scikit-learn Pipeline (no project code inside)

``load_model`` checks the artifact's size and sha256 against the manifest and the
scikit-learn minor version against the running one BEFORE ``joblib.load`` runs, so a
tampered or incompatible pickle is never executed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A version is "v" followed by a number: it names a folder, so nothing else is allowed.
VERSION_PATTERN = r"^v[1-9][0-9]{0,3}$"
_VERSION_RE = re.compile(VERSION_PATTERN)

MANIFEST_FILE = "manifest.json"
ARTIFACT_FILE = "model.joblib"
MANIFEST_SCHEMA_VERSION = 1
_CHUNK = 1 << 20


class ArtifactError(Exception):
    """A model version cannot be served; ``reason`` is one of REASONS."""

    REASONS = ("invalid", "missing", "tampered", "incompatible", "corrupt")

    def __init__(self, version: str, reason: str, detail: str) -> None:
        super().__init__(f"model version {version!r} is {reason}: {detail}")
        self.version = version
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Manifest:
    """The parts of manifest.json the service relies on, plus the raw document."""

    version: str
    sha256: str
    size_bytes: int
    sklearn_version: str
    labels: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def digest(self) -> str:
        """Short artifact digest: enough to tell two artifacts of one version apart."""
        return self.sha256[:16]


@dataclass(frozen=True)
class LoadedModel:
    manifest: Manifest
    pipeline: Any  # sklearn.pipeline.Pipeline; typed loosely so importing this module stays cheap


def is_valid_version(version: str) -> bool:
    return bool(_VERSION_RE.fullmatch(version))


def version_number(version: str) -> int:
    return int(version[1:])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
        manifest = Manifest(
            version=raw["version"],
            sha256=raw["artifact"]["sha256"],
            size_bytes=int(raw["artifact"]["size_bytes"]),
            sklearn_version=raw["runtime"]["scikit_learn"],
            labels=tuple(raw["labels"]),
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(version, "corrupt", f"manifest lacks field {exc}") from None
    if manifest.version != version:
        raise ArtifactError(version, "corrupt", f"manifest says version {manifest.version!r}, folder says {version!r}")
    return manifest


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def verify_artifact(models_dir: Path, manifest: Manifest, sklearn_version: str) -> Path:
    """Check compatibility, size and sha256; return the artifact path if it may be unpickled."""
    version = manifest.version
    if _minor(manifest.sklearn_version) != _minor(sklearn_version):
        raise ArtifactError(
            version,
            "incompatible",
            f"built with scikit-learn {manifest.sklearn_version}, running {sklearn_version}",
        )
    path = models_dir / version / ARTIFACT_FILE
    if not path.is_file():
        raise ArtifactError(version, "missing", f"no artifact at {path}")
    size = path.stat().st_size
    if size != manifest.size_bytes:
        raise ArtifactError(version, "tampered", f"artifact is {size} bytes, manifest says {manifest.size_bytes}")
    actual = file_sha256(path)
    if actual != manifest.sha256:
        raise ArtifactError(
            version, "tampered", f"artifact sha256 {actual[:16]}... != manifest {manifest.sha256[:16]}..."
        )
    return path


def load_model(models_dir: Path, version: str) -> LoadedModel:
    """Read the manifest, verify the artifact, and only then unpickle it."""
    import joblib  # deferred: importing joblib/sklearn is the expensive part of a cold start
    import sklearn

    manifest = read_manifest(models_dir, version)
    path = verify_artifact(models_dir, manifest, sklearn.__version__)
    try:
        pipeline = joblib.load(path)
    except Exception as exc:  # a verified file that still fails to unpickle is corrupt
        raise ArtifactError(version, "corrupt", f"unpickling failed: {exc}") from None
    classes = tuple(str(label) for label in getattr(pipeline, "classes_", ()))
    if classes != manifest.labels:
        raise ArtifactError(version, "corrupt", f"model labels {classes} differ from manifest {manifest.labels}")
    return LoadedModel(manifest=manifest, pipeline=pipeline)
