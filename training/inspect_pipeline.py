"""Run in a CLEAN interpreter by ``training/register.py``: everything that unpickles a user's file.

Why a separate process: unpickling runs code, and a pipeline that only loads because the
registering process happens to have imported something (a notebook's own tokenizer function,
say) would not load in Lambda either. A fresh interpreter sees what Lambda sees: scikit-learn
and the standard library.

    python -m training.inspect_pipeline inspect   {"artifact", "texts", "out_dir"} on stdin
    python -m training.inspect_pipeline verify    {"models_dir", "version"} on stdin

Prints one JSON object; exit code 0 when the file passes, 3 when it is refused (with "error").
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serving.manifest import FastPath

REFUSED = 3


class Refused(Exception):
    """The file is not a servable text classifier; the message says why."""


def _load(path: Path) -> Any:
    import joblib
    from sklearn.exceptions import InconsistentVersionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            return joblib.load(path)
        except InconsistentVersionWarning as mismatch:
            raise Refused(
                f"it was saved with scikit-learn {mismatch.original_sklearn_version}, this environment has "
                f"{mismatch.current_sklearn_version}: save it again with {mismatch.current_sklearn_version}"
            ) from None
        except Exception as exc:
            raise Refused(
                f"the file does not load with joblib in a clean Python process: {type(exc).__name__}: {exc}"
            ) from None


def _check_text_classifier(estimator: Any, texts: list[str]) -> list[str]:
    if not callable(getattr(estimator, "predict_proba", None)) or getattr(estimator, "classes_", None) is None:
        raise Refused(
            f"a {type(estimator).__name__} is not a text classifier: it needs predict_proba and classes_ "
            "(a fitted classifier, or a Pipeline ending in one)"
        )
    classes = [str(label) for label in estimator.classes_]
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise Refused(f"classes_ must name at least two distinct labels, got {classes}")
    try:
        probabilities = estimator.predict_proba(texts)
        predicted = [str(label) for label in estimator.predict(texts)]
    except Exception as exc:
        raise Refused(f"its predictions fail on sample texts: {type(exc).__name__}: {exc}") from None
    shape = getattr(probabilities, "shape", None)
    if shape != (len(texts), len(classes)):
        raise Refused(f"predict_proba on {len(texts)} texts gave shape {shape}, expected {(len(texts), len(classes))}")
    for row in probabilities.tolist():
        if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in row) or abs(sum(row) - 1.0) > 1e-6:
            raise Refused(f"predict_proba gave a row that is not a probability distribution: {row}")
    unknown = sorted(set(predicted) - set(classes))
    if unknown:
        raise Refused(f"predict gave labels not in classes_: {unknown}")
    return classes


def _try_fast_export(estimator: Any, texts: list[str], out_dir: Path) -> FastPath:
    """Write model.ltm only if the pipeline is exportable AND the file reproduces it on the texts."""
    from serving import linear_text
    from serving.artifacts import ARTIFACT_FILE
    from serving.manifest import FastPath
    from training import export

    if not hasattr(estimator, "steps"):
        return FastPath(exported=False, reason="cannot export: not a Pipeline")
    try:
        data = export.export(estimator)
    except export.ExportError as error:
        return FastPath(exported=False, reason=str(error))
    agreement = export.parity(estimator, linear_text.decode(data), texts)
    if not agreement.passed:
        return FastPath(exported=False, reason="the fast file did not reproduce the pipeline", parity=agreement)
    (out_dir / ARTIFACT_FILE).write_bytes(data)
    return FastPath(exported=True, parity=agreement)


def inspect(request: dict[str, Any]) -> dict[str, Any]:
    from training import known_answers
    from training.manifest import describe_pipeline, runtime_versions

    estimator = _load(Path(request["artifact"]))
    texts = list(request["texts"])
    classes = _check_text_classifier(estimator, texts)
    return {  # manifest sections, as JSON (training/register.py validates them back)
        "labels": classes,
        "runtime": runtime_versions().document(),  # this clean process's libraries: the ones the file loaded with
        "pipeline": describe_pipeline(estimator).document(),
        "known_answers": known_answers.record(estimator).document(),
        "fast_path": _try_fast_export(estimator, texts, Path(request["out_dir"])).document(),
    }


def verify(request: dict[str, Any]) -> dict[str, Any]:
    """Every artifact of the staged version through the service's own loader (known answers included)."""
    from serving.artifacts import ArtifactError, load_artifact, read_manifest

    models_dir, version = Path(request["models_dir"]), request["version"]
    manifest = read_manifest(models_dir, version)
    formats = []
    for ref in manifest.artifacts:
        try:
            load_artifact(models_dir, manifest, ref)
        except ArtifactError as error:
            raise Refused(f"the service would not load the registered {ref.file}: {error}") from None
        formats.append(ref.format)
    return {"formats": formats}


def main() -> int:
    mode = sys.argv[1]
    request = json.load(sys.stdin)
    try:
        result = {"inspect": inspect, "verify": verify}[mode](request)
    except Refused as refusal:
        json.dump({"error": str(refusal)}, sys.stdout)
        return REFUSED
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
