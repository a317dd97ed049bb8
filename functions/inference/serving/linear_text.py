"""The served model: a TF-IDF + linear classifier, scored with the standard library alone.

Why not unpickle the scikit-learn pipeline at serve time: scikit-learn needs SciPy and NumPy,
which were ~170 MB of a 205 MB deployment and ~1.4 s of every cold start, and unpickling
executes code. For one short text, a word TF-IDF + logistic regression is a few dozen dictionary
lookups and multiply-adds, so the served form is the fitted numbers themselves, in a plain
binary file that is parsed, never executed. ``training/export.py`` writes it from the fitted
pipeline and refuses to publish unless it reproduces that pipeline's probabilities on the whole
test split (see the manifest's ``parity`` section).

File layout (``FORMAT``), all integers and floats little-endian::

    MAGIC                     b"LTM1\\n"
    uint32                    length H of the header
    H bytes                   header, UTF-8 JSON (see ``Header``)
    header.vocabulary_bytes   terms in feature-index order, UTF-8, joined by "\\n"
    float64[n_terms * (1+R)]  per term: its idf, then its R coefficients (R = number of rows of coef_)

The scoring below mirrors scikit-learn step by step (same tokens and n-grams, sublinear tf, idf,
l2 norm, a dot product accumulated in feature-index order, then softmax or the logistic function),
so the probabilities agree with the pipeline's to ~1e-15.
"""

from __future__ import annotations

import json
import math
import re
import struct
import sys
from array import array
from dataclasses import dataclass
from typing import Any

FORMAT = "linear-text/1"
MAGIC = b"LTM1\n"
_LENGTH = struct.Struct("<I")
_NORMS = ("l2", "l1", None)


@dataclass(frozen=True)
class Header:
    """What the file says about the vectoriser and the classifier (besides the numbers)."""

    labels: tuple[str, ...]
    token_pattern: str
    lowercase: bool
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    norm: str | None
    intercept: tuple[float, ...]
    n_terms: int
    vocabulary_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "labels": list(self.labels),
            "token_pattern": self.token_pattern,
            "lowercase": self.lowercase,
            "ngram_range": list(self.ngram_range),
            "sublinear_tf": self.sublinear_tf,
            "norm": self.norm,
            "intercept": list(self.intercept),
            "n_terms": self.n_terms,
            "vocabulary_bytes": self.vocabulary_bytes,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Header:
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r} is not {FORMAT!r}")
        low, high = (int(n) for n in raw["ngram_range"])
        header = cls(
            labels=tuple(str(label) for label in raw["labels"]),
            token_pattern=str(raw["token_pattern"]),
            lowercase=bool(raw["lowercase"]),
            ngram_range=(low, high),
            sublinear_tf=bool(raw["sublinear_tf"]),
            norm=raw["norm"],
            intercept=tuple(float(value) for value in raw["intercept"]),
            n_terms=int(raw["n_terms"]),
            vocabulary_bytes=int(raw["vocabulary_bytes"]),
        )
        if not 1 <= low <= high or header.norm not in _NORMS or len(header.labels) < 2:
            raise ValueError("header has an invalid n-gram range, norm or label list")
        # Binary models have one coefficient row, multiclass ones one per label.
        if len(header.intercept) != (1 if len(header.labels) == 2 else len(header.labels)):
            raise ValueError("intercept length does not match the labels")
        return header


class LinearTextModel:
    """Scores texts exactly like the scikit-learn TfidfVectorizer + LogisticRegression it came from."""

    def __init__(self, header: Header, terms: list[str], weights: array[float]) -> None:
        self.header = header
        self.labels = header.labels
        self._rows = len(header.intercept)
        self._stride = 1 + self._rows
        if len(terms) != header.n_terms or len(weights) != header.n_terms * self._stride:
            raise ValueError("vocabulary or weights do not match the header's sizes")
        self._index = dict(zip(terms, range(len(terms)), strict=True))  # faster than a comprehension at load
        if len(self._index) != len(terms):
            raise ValueError("vocabulary has duplicate terms")
        self._weights = weights
        self._pattern = re.compile(header.token_pattern)
        if self._pattern.groups:
            raise ValueError("token_pattern must not have capturing groups")

    @property
    def n_terms(self) -> int:
        return self.header.n_terms

    def predict_proba(self, texts: list[str]) -> list[list[float]]:
        return [self._probabilities(self._decision(text)) for text in texts]

    def classify(self, texts: list[str]) -> list[tuple[int, list[float]]]:
        """Per text, the index of the most probable label (the first on a tie, like numpy's argmax) and
        the probabilities: LogisticRegression's own predict is that argmax."""
        return [(row.index(max(row)), row) for row in self.predict_proba(texts)]

    def predict(self, texts: list[str]) -> list[str]:
        return [self.labels[best] for best, _ in self.classify(texts)]

    def _ngrams(self, text: str) -> list[str]:
        # scikit-learn's _word_ngrams: unigrams first, then each longer n-gram left to right.
        tokens = self._pattern.findall(text.lower() if self.header.lowercase else text)
        low, high = self.header.ngram_range
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams

    def _decision(self, text: str) -> list[float]:
        counts: dict[int, int] = {}
        lookup = self._index.get
        for position in map(lookup, self._ngrams(text)):
            if position is not None:
                counts[position] = counts.get(position, 0) + 1
        weights, stride = self._weights, self._stride
        positions = sorted(counts)  # scikit-learn's sparse rows are in feature-index order
        sublinear = self.header.sublinear_tf
        values = [
            ((math.log(counts[p]) + 1.0) if sublinear else float(counts[p])) * weights[p * stride] for p in positions
        ]
        norm = self.header.norm
        if norm == "l2":
            scale = math.sqrt(sum(value * value for value in values))
        elif norm == "l1":
            scale = sum(abs(value) for value in values)
        else:
            scale = 0.0
        if scale > 0.0:
            values = [value / scale for value in values]
        sums = [0.0] * self._rows
        for p, value in zip(positions, values, strict=True):
            base = p * stride + 1
            for row in range(self._rows):
                sums[row] += value * weights[base + row]
        return [total + bias for total, bias in zip(sums, self.header.intercept, strict=True)]

    def _probabilities(self, decision: list[float]) -> list[float]:
        if self._rows == 1:  # binary: the logistic function of the one decision value
            positive = 1.0 / (1.0 + math.exp(-decision[0]))
            return [1.0 - positive, positive]
        top = max(decision)  # softmax, shifted by the maximum as scikit-learn does
        exps = [math.exp(value - top) for value in decision]
        total = sum(exps)
        return [value / total for value in exps]


def encode(header: Header, terms: list[str], weights: array[float]) -> bytes:
    """The file's bytes; ``weights`` holds n_terms * (1 + rows) float64 values (see module doc)."""
    vocabulary = "\n".join(terms).encode("utf-8")
    if any("\n" in term for term in terms) or len(vocabulary) != header.vocabulary_bytes:
        raise ValueError("terms must not contain newlines and must match header.vocabulary_bytes")
    numbers = array("d", weights)
    if sys.byteorder != "little":
        numbers.byteswap()
    head = json.dumps(header.to_json(), ensure_ascii=False, sort_keys=True).encode("utf-8")
    return b"".join((MAGIC, _LENGTH.pack(len(head)), head, vocabulary, numbers.tobytes()))


def decode(data: bytes) -> LinearTextModel:
    """Parse a file's bytes (already integrity-checked by the caller); ValueError if malformed."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _LENGTH.size:
        raise ValueError("not a linear-text model file")
    offset = len(MAGIC)
    (head_length,) = _LENGTH.unpack_from(data, offset)
    offset += _LENGTH.size
    try:
        header = Header.from_json(json.loads(data[offset : offset + head_length]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"header lacks or mistypes {exc}") from None
    offset += head_length
    vocabulary = data[offset : offset + header.vocabulary_bytes]
    offset += header.vocabulary_bytes
    terms = vocabulary.decode("utf-8").split("\n") if header.n_terms else []
    numbers = data[offset:]
    if len(numbers) % 8:
        raise ValueError("weights section is not a whole number of float64 values")
    weights = array("d", numbers)
    if sys.byteorder != "little":
        weights.byteswap()
    return LinearTextModel(header, terms, weights)
