"""The general runtime: a scikit-learn pipeline saved with joblib (format ``sklearn-joblib/1``).

Unpickling runs code, so this module only ever sees bytes that ``artifacts`` has already checked
against the manifest (size and sha256), from the models layer, never anything a request names.
scikit-learn is imported here, at the first load of such a version (about 1.4 s of a cold start),
never at module import of the service.

The answer contract is the fast path's: a label and one probability per label. The label is the
pipeline's own ``predict`` (for some models, e.g. ``SVC(probability=True)``, it can differ from
the most probable class), and the features are computed once for both calls.
"""

from __future__ import annotations

import io
from typing import Any

from serving.runtimes import RuntimeUnavailable, UnreadableModel


class SklearnTextClassifier:
    def __init__(self, estimator: Any, sklearn: Any) -> None:
        self._sklearn = sklearn
        steps = getattr(estimator, "steps", None)
        # A Pipeline: transform once with every step but the last, then ask the last step twice.
        self._head = estimator[:-1] if steps and len(steps) > 1 else None
        self._final = steps[-1][1] if steps else estimator
        self.labels: tuple[str, ...] = tuple(str(label) for label in estimator.classes_)
        self._index = {label: position for position, label in enumerate(self.labels)}

    def classify(self, texts: list[str]) -> list[tuple[int, list[float]]]:
        # Inputs are validated strings: skip scikit-learn's per-call parameter and finiteness checks.
        with self._sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            features = self._head.transform(texts) if self._head is not None else texts
            probabilities = self._final.predict_proba(features)
            predicted = self._final.predict(features)
        index = self._index
        return [
            (index[str(label)], [float(p) for p in row]) for label, row in zip(predicted, probabilities, strict=True)
        ]


def load(data: bytes, saved_with: str | None) -> SklearnTextClassifier:
    try:
        import joblib
        import sklearn
    except ImportError as exc:
        raise RuntimeUnavailable(
            f"the scikit-learn runtime is not installed in this function ({exc.name} missing): "
            "attach the scikit-learn layer (template parameter ScikitLearnRuntime=attached)"
        ) from None
    if saved_with is None:
        raise RuntimeUnavailable("the manifest does not record the scikit-learn version the pipeline was saved with")
    if saved_with != sklearn.__version__:
        # Pickles are not portable across scikit-learn versions: refuse rather than serve with a warning.
        raise RuntimeUnavailable(
            f"saved with scikit-learn {saved_with}, this runtime has scikit-learn {sklearn.__version__}"
        )
    try:
        estimator = joblib.load(io.BytesIO(data))
    except (ImportError, AttributeError) as exc:  # the pickle names code this function does not have
        raise RuntimeUnavailable(f"the pipeline needs code this function does not have: {exc}") from None
    except Exception as exc:
        raise UnreadableModel(f"{type(exc).__name__}: {exc}") from None
    if not callable(getattr(estimator, "predict_proba", None)) or getattr(estimator, "classes_", None) is None:
        raise UnreadableModel(f"a {type(estimator).__name__} without predict_proba and classes_ is not a classifier")
    return SklearnTextClassifier(estimator, sklearn)
