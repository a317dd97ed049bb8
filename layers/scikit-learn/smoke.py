"""Post-slimming check of the scikit-learn layer, then bytecode for exactly what it imported.

    python -I -S -B smoke.py LAYER_PYTHON_DIR PRECOMPILE(0|1)

Run by layers/dependencies/Makefile (build-ScikitLearnLayer) with the host's Python 3.13, without
site-packages (-S): every import must come from the layer itself or the standard library.

1. dlopen every shared object in the layer (extension modules and the vendored libraries): catches a
   library that slimming or stripping damaged, also among those this test does not import.
2. Fit tiny pipelines from the estimators a ``sklearn-joblib/1`` model version is likely to use, dump them
   with joblib, load them back (as serving/sklearn_pipeline.py does) and check predict_proba.
3. With PRECOMPILE=1, compile the layer's modules that were imported (unchecked-hash .pyc: valid whatever
   the zip does to mtimes; /opt is read-only on Lambda, so nothing could write them at run time).
   Loading a pipeline imports the same modules as fitting one (measured: 853 modules either way).

This file is not part of the layer.
"""

import ctypes
import os
import py_compile
import re
import sys
import tempfile
import warnings

root = os.path.realpath(sys.argv[1])
precompile = sys.argv[2] == "1"

shared_objects = sorted(
    os.path.join(folder, name)
    for folder, _, names in os.walk(root)
    for name in names
    if re.search(r"\.so(\.\d+)*$", name)
)
broken = []
for path in shared_objects:
    try:
        ctypes.CDLL(path)
    except OSError as exc:
        broken.append(f"{os.path.relpath(path, root)}: {exc}")
assert shared_objects and not broken, "shared objects that do not load:\n" + "\n".join(broken)
print(f"[scikit-learn] {len(shared_objects)} shared objects load")

sys.path.insert(0, root)
# SVC(probability=True) is deprecated in scikit-learn 1.9 but still loads and scores: it is tested on purpose.
warnings.filterwarnings("ignore", message="The `probability` parameter", category=FutureWarning)

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.feature_selection import SelectKBest, chi2  # noqa: E402
from sklearn.linear_model import LogisticRegression, SGDClassifier  # noqa: E402
from sklearn.naive_bayes import ComplementNB  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402
from sklearn.svm import SVC, LinearSVC  # noqa: E402

for module in (joblib, np, scipy, sklearn):
    where = os.path.realpath(module.__file__)
    assert where.startswith(root + os.sep), f"{module.__name__} imported from {where}, not from the layer"

texts = [
    "i love this phone, great battery",
    "terrible service, never again",
    "it is ok i guess",
    "absolutely wonderful experience",
    "worst purchase i have made",
    "the parcel arrived on tuesday",
    "fantastic value and friendly staff",
    "broken on arrival, very disappointed",
    "nothing special, average product",
    "happy with it, works well",
    "awful, it stopped working",
    "the box is blue",
] * 3
labels = ["positive", "negative", "neutral", "positive", "negative", "neutral"] * 6


def features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
        ]
    )


classifiers = {
    "calibrated_linear_svc": CalibratedClassifierCV(LinearSVC(C=0.5), cv=3),
    "logistic_regression": LogisticRegression(C=4.0, max_iter=200),
    "complement_nb": ComplementNB(),
    "sgd_log_loss": SGDClassifier(loss="log_loss", random_state=0),
    "svc_probability": SVC(kernel="linear", probability=True, random_state=0),
}
probe = ["great phone, love it", "never again, awful", "it arrived"]
with tempfile.TemporaryDirectory() as scratch:
    for name, classifier in classifiers.items():
        pipeline = Pipeline([("features", features()), ("select", SelectKBest(chi2, k=40)), ("clf", classifier)])
        pipeline.fit(texts, labels)
        path = os.path.join(scratch, f"{name}.joblib")
        joblib.dump(pipeline, path)
        loaded = joblib.load(path)
        proba = loaded.predict_proba(probe)
        assert proba.shape == (len(probe), 3) and np.allclose(proba.sum(axis=1), 1.0), (name, proba)
        assert list(loaded.classes_) == ["negative", "neutral", "positive"], (name, loaded.classes_)
print(
    f"[scikit-learn] smoke test ok: sklearn {sklearn.__version__}, numpy {np.__version__}, "
    f"scipy {scipy.__version__}, joblib {joblib.__version__}; {len(classifiers)} pipelines fitted, "
    "dumped, loaded and scored"
)

files = sorted(
    {
        os.path.realpath(m.__file__)
        for m in list(sys.modules.values())
        if (getattr(m, "__file__", None) or "").endswith(".py")
    }
)
files = [f for f in files if f.startswith(root + os.sep)]
if precompile:
    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    for f in files:
        py_compile.compile(f, doraise=True, invalidation_mode=mode)
print(f"[scikit-learn] precompiled {len(files) if precompile else 0} imported modules")
