"""A runtime per artifact format: how a verified file's bytes become a model that scores texts.

``linear-text/1`` (serving/linear_text.py) needs only the standard library. ``sklearn-joblib/1``
(serving/sklearn_pipeline.py) unpickles a scikit-learn pipeline; its module, and with it
scikit-learn, NumPy and SciPy, is imported only when such a version is first loaded, so a
function serving only linear-text versions never imports them.
"""

from __future__ import annotations

from typing import Protocol

from serving import linear_text

SKLEARN_FORMAT = "sklearn-joblib/1"
FORMATS = (linear_text.FORMAT, SKLEARN_FORMAT)


class TextClassifier(Protocol):
    """What every runtime gives the service: the labels, and per text (index of its label, probabilities)."""

    @property
    def labels(self) -> tuple[str, ...]: ...

    def classify(self, texts: list[str]) -> list[tuple[int, list[float]]]: ...


class RuntimeUnavailable(Exception):
    """This function cannot run the artifact (library absent, or another version than it was saved with)."""


class UnreadableModel(Exception):
    """The bytes verified, but the runtime cannot make a model of them."""


def load(fmt: str, data: bytes, saved_with: str | None = None) -> TextClassifier:
    if fmt == linear_text.FORMAT:
        try:
            return linear_text.decode(data)
        except (ValueError, UnicodeDecodeError, OverflowError) as exc:
            raise UnreadableModel(str(exc)) from None
    if fmt == SKLEARN_FORMAT:
        from serving import sklearn_pipeline  # deferred: see the module docstring

        return sklearn_pipeline.load(data, saved_with)
    raise RuntimeUnavailable(f"format {fmt!r}, this service reads {FORMATS}")
