"""Cache values: what is stored for one answer, and what a read accepts.

A value is JSON ``{"format", "model_version", "digest", "text_sha256", "label", "scores"}``. What comes
back from a cache is untrusted: anyone who can write to the shared Redis can put anything under a key.
A value is served only if it is at most ``MAX_ENTRY_BYTES``, parses, names this format, version and
artifact, answers this very text (``text_sha256``: a value copied under another text's key is not), and
holds an answer this model could give: a score for exactly the model's labels, each a finite
probability, summing to 1 up to the service's rounding, and one of those labels. Anything else is
rejected with a reason; the service then treats it as a miss, counts it, and overwrites it.

``text_sha256`` was added after format 1 shipped; readers that predate it ignore it, so the format
number stays 1 and releases can read each other's values during a rollout. Values written before it
are rejected once (reason ``unbound``) and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

from serving.predictor import _SCORE_DIGITS, Prediction

ENTRY_FORMAT = 1
# Values are a few hundred bytes (about 25 per label): 64 KiB leaves room for ~2,500 labels.
MAX_ENTRY_BYTES = 64 * 1024

# Rejection reasons (the log line counts them per request; the metric is their sum).
TOO_LARGE = "too_large"
UNPARSEABLE = "unparseable"
OTHER_ARTIFACT = "other_artifact"  # another format, version or artifact digest
UNBOUND = "unbound"  # no text binding (written before it existed)
OTHER_TEXT = "other_text"
BAD_ANSWER = "bad_answer"  # labels or probabilities this model cannot produce


# Built once: json.dumps with any non-default argument builds a new encoder per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode


def text_digest(normalised_text: str) -> str:
    # surrogatepass: JSON may carry lone surrogates; they must hash, not crash.
    return hashlib.sha256(normalised_text.encode("utf-8", "surrogatepass")).hexdigest()


def encode_entry(version: str, digest: str, text_sha256: str, prediction: Prediction) -> bytes:
    entry = {
        "format": ENTRY_FORMAT,
        "model_version": version,
        "digest": digest,
        "text_sha256": text_sha256,
        "label": prediction.label,
        "scores": prediction.scores,
    }
    return _encode(entry).encode()


def decode_entry(
    raw: bytes | None, version: str, digest: str, text_sha256: str, labels: Sequence[str]
) -> tuple[Prediction | None, str | None]:
    """``(prediction, None)`` for a valid value, ``(None, None)`` for no value, ``(None, reason)`` otherwise."""
    if not raw:  # absent (an empty value is what Redis' GETRANGE answers for a missing key)
        return None, None
    if len(raw) > MAX_ENTRY_BYTES:
        return None, TOO_LARGE
    try:
        entry = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, UNPARSEABLE
    if not isinstance(entry, dict):
        return None, UNPARSEABLE
    if (
        type(entry.get("format")) is not int
        or entry["format"] != ENTRY_FORMAT
        or entry.get("model_version") != version
        or entry.get("digest") != digest
    ):
        return None, OTHER_ARTIFACT
    if "text_sha256" not in entry:
        return None, UNBOUND
    if entry["text_sha256"] != text_sha256:
        return None, OTHER_TEXT
    prediction = _answer(entry.get("label"), entry.get("scores"), labels)
    return (prediction, None) if prediction is not None else (None, BAD_ANSWER)


# The model's probabilities sum to 1 up to float error, and predictor.py rounds each to _SCORE_DIGITS
# digits (at most half a unit in the last place per label). The tolerance is 1e-4 plus that worst-case
# rounding, so every answer the model gives passes, whatever its number of labels.
_SUM_TOLERANCE = 1e-4
_ROUNDING = 0.5 * 10.0**-_SCORE_DIGITS


def _answer(label: object, scores: object, labels: Sequence[str]) -> Prediction | None:
    if not isinstance(label, str) or label not in labels or not isinstance(scores, dict):
        return None
    if len(scores) != len(labels) or scores.keys() != set(labels):
        return None
    ordered: dict[str, float] = {}
    for name in labels:  # the model's label order, as a fresh answer has it
        score = scores[name]
        if type(score) not in (float, int) or not (math.isfinite(score) and 0.0 <= score <= 1.0):
            return None
        ordered[name] = float(score)
    if abs(math.fsum(ordered.values()) - 1.0) > _SUM_TOLERANCE + len(labels) * _ROUNDING:
        return None
    return Prediction(label=label, scores=ordered)
