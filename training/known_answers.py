"""Known answers: a published model's probabilities on fixed texts, stored in its manifest.

The service recomputes them at every load (serving/artifacts.py) and refuses a version that no
longer reproduces them: a different scikit-learn, NumPy or SciPy, or a wrong runtime, shows up
before the model answers anybody. The texts are already in the service's normalised form.
"""

from __future__ import annotations

from typing import Any

from serving.manifest import KnownAnswers

TOLERANCE = 1e-6
TEXTS = (
    "I love this phone, the battery lasts all day",
    "worst customer service ever, never again",
    "the update is out today",
    "not bad at all :)",
    "why does my laptop keep crashing?!",
    "meh",
)


def record(estimator: Any, texts: tuple[str, ...] = TEXTS) -> KnownAnswers:
    """Labels from the estimator's own predict, probabilities from predict_proba."""
    probabilities = estimator.predict_proba(list(texts))
    labels = estimator.predict(list(texts))
    return KnownAnswers(
        texts=texts,
        labels=tuple(str(label) for label in labels),
        probabilities=tuple(tuple(float(p) for p in row) for row in probabilities),
        tolerance=TOLERANCE,
    )
