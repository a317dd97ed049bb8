"""From a fitted scikit-learn pipeline to the served file (serving/linear_text.py), proven equal.

``export`` refuses any pipeline whose behaviour the served format cannot reproduce (another
analyzer, a custom tokenizer, stop words, accent stripping...), and ``parity`` measures how far the
served file's probabilities are from the pipeline's on real texts; training publishes only if every
label agrees and the probabilities differ by at most ``MAX_PROBABILITY_DIFF``.
"""

from __future__ import annotations

import re
from array import array

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from serving import linear_text
from serving.manifest import Parity

MAX_PROBABILITY_DIFF = 1e-9


class ExportError(ValueError):
    """The pipeline uses something the served format does not reproduce."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ExportError(f"cannot export: {what}")


def export(pipeline: Pipeline) -> bytes:
    _require(len(pipeline.steps) == 2, "the pipeline must be exactly TfidfVectorizer -> LogisticRegression")
    vectoriser, classifier = (step for _, step in pipeline.steps)
    _require(type(vectoriser) is TfidfVectorizer, "the first step must be a TfidfVectorizer")
    _require(type(classifier) is LogisticRegression, "the second step must be a LogisticRegression")
    params = vectoriser.get_params()
    _require(params["analyzer"] == "word", "only analyzer='word'")
    for name in ("tokenizer", "preprocessor", "stop_words", "strip_accents"):
        _require(params[name] is None, f"{name} must be None")
    _require(params["input"] == "content" and not params["binary"], "input='content' and binary=False")
    _require(params["use_idf"] and params["norm"] in ("l2", "l1", None), "use_idf=True and norm l2/l1/None")
    _require(re.compile(params["token_pattern"]).groups == 0, "token_pattern without capturing groups")

    terms = [""] * len(vectoriser.vocabulary_)
    for term, position in vectoriser.vocabulary_.items():
        terms[position] = term
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    table = np.column_stack([np.asarray(vectoriser.idf_, dtype=np.float64), coef.T])  # per term: idf, coefs
    header = linear_text.Header(
        labels=tuple(str(label) for label in classifier.classes_),
        token_pattern=params["token_pattern"],
        lowercase=bool(params["lowercase"]),
        ngram_range=tuple(params["ngram_range"]),
        sublinear_tf=bool(params["sublinear_tf"]),
        norm=params["norm"],
        intercept=tuple(float(value) for value in classifier.intercept_),
        n_terms=len(terms),
        vocabulary_bytes=len("\n".join(terms).encode("utf-8")),
    )
    return linear_text.encode(header, terms, array("d", table.ravel().tolist()))


def parity(pipeline: Pipeline, model: linear_text.LinearTextModel, texts: list[str]) -> Parity:
    """How closely the served model reproduces the pipeline on ``texts`` (the manifest's ``parity``)."""
    expected = pipeline.predict_proba(texts)
    served = np.asarray(model.predict_proba(texts))
    labels_equal = int(np.sum(expected.argmax(axis=1) == served.argmax(axis=1)))
    max_diff = float(np.max(np.abs(expected - served))) if texts else 0.0
    return Parity(
        texts=len(texts),
        labels_equal=labels_equal,
        max_abs_probability_diff=max_diff,
        tolerance=MAX_PROBABILITY_DIFF,
        passed=labels_equal == len(texts) and max_diff <= MAX_PROBABILITY_DIFF,
    )
