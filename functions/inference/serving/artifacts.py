"""The model artifact contract: immutable version folders, verified before they are parsed.

Layout (one folder per version, never rewritten once published)::

    <models_dir>/<version>/manifest.json   what was trained, on what, and how well it did
    <models_dir>/<version>/model.ltm       the served model (serving/linear_text.py): numbers, no code
    <models_dir>/<version>/model.joblib    the scikit-learn pipeline it was exported from; used by
                                           training and tests, never shipped or loaded at serve time

``load_model`` reads the served file once, checks its format, size and sha256 against the
manifest, and only then parses those same bytes. Nothing is unpickled at serve time.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving import linear_text

# A version is "v" followed by a number: it names a folder, so nothing else is allowed.
VERSION_PATTERN = r"^v[1-9][0-9]{0,3}$"
_VERSION_RE = re.compile(VERSION_PATTERN)

MANIFEST_FILE = "manifest.json"
ARTIFACT_FILE = "model.ltm"
REFERENCE_FILE = "model.joblib"
MANIFEST_SCHEMA_VERSION = 2


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
    format: str
    labels: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def digest(self) -> str:
        """Short artifact digest: enough to tell two artifacts of one version apart."""
        return self.sha256[:16]


@dataclass(frozen=True)
class LoadedModel:
    manifest: Manifest
    model: linear_text.LinearTextModel


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
            format=raw["artifact"]["format"],
            labels=tuple(raw["labels"]),
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(version, "corrupt", f"manifest lacks field {exc}") from None
    if manifest.version != version:
        raise ArtifactError(version, "corrupt", f"manifest says version {manifest.version!r}, folder says {version!r}")
    return manifest


def verified_bytes(models_dir: Path, manifest: Manifest) -> bytes:
    """The served file's bytes, once its format, size and sha256 match the manifest."""
    version = manifest.version
    if manifest.format != linear_text.FORMAT:
        raise ArtifactError(
            version, "incompatible", f"format {manifest.format!r}, this service reads {linear_text.FORMAT!r}"
        )
    path = models_dir / version / ARTIFACT_FILE
    try:
        data = path.read_bytes()  # one read: the bytes checked are the bytes parsed
    except FileNotFoundError:
        raise ArtifactError(version, "missing", f"no artifact at {path}") from None
    except OSError as exc:
        raise ArtifactError(version, "corrupt", f"artifact unreadable: {exc}") from None
    if len(data) != manifest.size_bytes:
        raise ArtifactError(version, "tampered", f"artifact is {len(data)} bytes, manifest says {manifest.size_bytes}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != manifest.sha256:
        raise ArtifactError(
            version, "tampered", f"artifact sha256 {actual[:16]}... != manifest {manifest.sha256[:16]}..."
        )
    return data


def load_model(models_dir: Path, version: str) -> LoadedModel:
    """Read the manifest, verify the served file, and only then parse it."""
    manifest = read_manifest(models_dir, version)
    data = verified_bytes(models_dir, manifest)
    try:
        model = linear_text.decode(data)
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:  # verified, yet unreadable: corrupt
        raise ArtifactError(version, "corrupt", f"unreadable model file: {exc}") from None
    if model.labels != manifest.labels:
        raise ArtifactError(version, "corrupt", f"model labels {model.labels} differ from manifest {manifest.labels}")
    return LoadedModel(manifest=manifest, model=model)
