"""manifest.json as one typed document: training and registration write it, serving reads it.

Here rather than in ``training`` because the function ships only ``serving`` (and training already
imports it). One model covers both kinds of version folder: a trained one (``reference`` or null,
``data``, ``parity``, ``metrics``, ``benchmark``, ``targets``) and a registered one
(``fallback_artifact``, ``source``, ``fast_path``, ``metrics: null``). A section a version does not
have is absent from its file and from the model's output (``exclude_unset``), so a manifest read and
written again is the same bytes, and /models/{version} answers exactly what the file says.

Serving needs only ``version``, ``artifact`` and ``labels`` (plus ``fallback_artifact`` and
``known_answers`` when present); every other section is optional on read but typed when present.
serving/artifacts.py turns any ``ValidationError`` into ArtifactError reason "corrupt".
"""

import json
import re
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, JsonValue, field_validator, model_validator

MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 3
# An artifact file is a bare name inside its version folder: no paths, no hidden files.
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _plain_file_name(name: str) -> str:
    if not _FILE_RE.fullmatch(name):
        raise ValueError(f"artifact file {name!r} is not a plain file name")
    return name


FileName = Annotated[str, AfterValidator(_plain_file_name)]


class Section(BaseModel):
    # frozen: a manifest is never edited once read. extra="allow": a key this code does not know yet
    # (a newer writer) is kept and answered by /models/{version}, not refused.
    model_config = ConfigDict(frozen=True, extra="allow")

    def document(self) -> dict[str, Any]:
        """As JSON values, with exactly the keys it was read or built with (absent stays absent)."""
        return self.model_dump(mode="json", exclude_unset=True)


class ArtifactRef(Section):
    """A served file, as the service verifies it before loading (size, sha256, then its runtime)."""

    file: FileName
    format: str  # not an enum: an unknown format is "incompatible" at load, not a corrupt manifest
    sha256: str
    size_bytes: int
    scikit_learn: str | None = None  # a pickled pipeline: the exact version it was saved with
    joblib_compress: int | None = None
    vocabulary_packed: bool | None = None  # see training/packing.py


class ReferenceFile(Section):
    """The pipeline a fast file was exported from: kept for training and tests, never served."""

    file: FileName
    sha256: str
    size_bytes: int
    joblib_compress: int
    vocabulary_packed: bool


class Source(Section):
    """A registered version: the user's file it was made from."""

    registered_from: str
    sha256: str


class Runtime(Section):
    """Library versions the model was trained (or registered) with."""

    python: str
    scikit_learn: str
    numpy: str
    scipy: str
    joblib: str
    platform: str
    # The BLAS kernels the libraries ran (OpenBLAS picks them by CPU; they change a solver's floats, hence the
    # bytes): e.g. "openblas 0.3.30 SkylakeX". Recorded from 2026-11-30; absent in older manifests.
    blas: str | None = None


class Dedup(Section):
    rows_in: int
    rows_out: int
    empty_key_dropped: int
    duplicate_rows_removed: int
    conflicting_groups: int
    tied_groups: int


class Data(Section):
    """The corpus, its de-duplication and the split: same test_sha256 = same test rows."""

    corpus_source: str
    corpus_sha256: str
    dedup: Dedup
    label_counts: dict[str, int]
    split_seed: int
    test_size: float
    train_rows: int
    test_rows: int
    train_sha256: str
    test_sha256: str


class PipelineInfo(Section):
    steps: tuple[tuple[str, str], ...]  # (name, class)
    classes: tuple[str, ...]
    params: dict[str, JsonValue]  # every nested hyper-parameter, as JSON


class Parity(Section):
    """How closely the fast file reproduced the pipeline it was exported from."""

    texts: int
    labels_equal: int
    max_abs_probability_diff: float
    tolerance: float
    passed: bool


class NoFastPath(Section):
    """A trained version served by the scikit-learn runtime: why it has no fast file."""

    fast_path: bool
    reason: str


class FastPath(Section):
    """A registered version: whether the fast file was exported, and its parity or why not."""

    exported: bool
    reason: str | None = None
    parity: Parity | None = None


class KnownAnswers(Section):
    """Probabilities the model gave on fixed texts when it was published; checked at every load."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    probabilities: tuple[tuple[float, ...], ...]
    tolerance: float

    @model_validator(mode="after")
    def _one_row_per_text(self) -> Self:
        if not len(self.texts) == len(self.probabilities) == len(self.labels):
            raise ValueError("known_answers texts, probabilities and labels differ in length")
        return self


class ClassMetrics(Section):
    precision: float
    recall: float
    f1: float
    support: int


class ConfusionMatrix(Section):
    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]  # rows: true label, columns: predicted


class Metrics(Section):
    """Held-out results of the served file on the test split."""

    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_class: dict[str, ClassMetrics]
    confusion_matrix: ConfusionMatrix


class Benchmark(Section):
    """Fresh-process load and predict timings (training/bench.py)."""

    method: str
    runs: int
    import_ms: float
    load_ms: float
    load_ms_runs: tuple[float, ...]
    predict_one_ms: float
    predict_one_p95_ms: float
    reference_import_ms: float | None  # None: no reference pipeline to compare with
    reference_predict_one_ms: float | None
    cpu_count: int | None
    load_average_1m: tuple[float, float]  # before, after


class Targets(Section):
    max_size_bytes: int | None
    max_load_ms: float
    max_predict_ms: float | None
    met: dict[str, bool] | None = None  # absent until the benchmark ran


class Manifest(Section):
    """One version's manifest.json. Field order is the file's key order."""

    version: str
    schema_version: int | None = None
    created: str | None = None
    summary: str | None = None
    artifact: ArtifactRef
    fallback_artifact: ArtifactRef | None = None  # served only if ``artifact`` cannot be
    reference: ReferenceFile | None = None
    source: Source | None = None
    runtime: Runtime | None = None
    labels: tuple[str, ...]
    data: Data | None = None
    pipeline: PipelineInfo | None = None
    parity: Parity | NoFastPath | None = None
    fast_path: FastPath | None = None
    known_answers: KnownAnswers | None = None
    metrics: Metrics | None = None
    benchmark: Benchmark | None = None
    targets: Targets | None = None
    notes: str | None = None

    @field_validator("fallback_artifact", "known_answers", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None  # the service has always read an empty section as "none"

    @property
    def artifacts(self) -> tuple[ArtifactRef, ...]:
        """The served files in order of preference: artifact, then fallback_artifact."""
        return (self.artifact,) if self.fallback_artifact is None else (self.artifact, self.fallback_artifact)

    def dumps(self) -> str:
        """manifest.json's text: the one serializer every writer uses."""
        return json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n"
