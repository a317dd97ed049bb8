"""Turning texts into labels and per-label probabilities with a loaded model."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from serving.artifacts import LoadedModel

_SCORE_DIGITS = 6


@dataclass(frozen=True)
class Prediction:
    label: str
    scores: dict[str, float]


def normalise_text(text: str) -> str:
    """The exact text the model sees and the cache keys on.

    Unicode NFC plus collapsed whitespace: the pipelines tokenise on whitespace, so this
    changes no answer, and it lets "a  b" and "a b" share one cache entry.
    """
    return " ".join(unicodedata.normalize("NFC", text).split())


def predict(model: LoadedModel, texts: list[str]) -> list[Prediction]:
    """Labels and rounded per-label probabilities for ``texts`` (already normalised), whatever the runtime."""
    labels = model.manifest.labels
    predictions = []
    for best, row in model.model.classify(texts):
        scores = {label: round(p, _SCORE_DIGITS) for label, p in zip(labels, row, strict=True)}
        predictions.append(Prediction(label=labels[best], scores=scores))
    return predictions
