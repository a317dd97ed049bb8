"""The served file reproduces the scikit-learn pipeline it was exported from, on real and odd texts."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import Pipeline

from serving import linear_text
from serving.artifacts import ARTIFACT_FILE, REFERENCE_FILE
from training import export
from training.bench import bench_texts

from .conftest import COMMITTED, VERSIONS, load_linear

ODD_TEXTS = [
    "",
    "   ",
    "!!!",
    "GREAT phone :) :-( ;P =D",
    "İstanbul ǅemal ΣΊΣΥΦΟΣ straße",  # str.lower() special cases, as scikit-learn applies them
    "café café café café",  # repeated terms: sublinear tf
    "a b c d e f g",  # one-letter tokens (v2 keeps them, v1 does not)
    "zzzzqqq xxyyzz",  # nothing in the vocabulary: the intercept alone decides
    "don't won't can't isn't",
    "😀 🙃 日本語のテキスト",
    "love " * 300,
]


def _reference(version: str) -> Pipeline:
    return joblib.load(COMMITTED / version / REFERENCE_FILE)


def _assert_same(pipeline: Pipeline, model: linear_text.LinearTextModel, texts: list[str]) -> None:
    expected = pipeline.predict_proba(texts)
    served = np.asarray(model.predict_proba(texts))
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-12)
    assert model.predict(texts) == [str(label) for label in pipeline.predict(texts)]


@pytest.mark.parametrize("version", VERSIONS)
def test_committed_file_reproduces_its_pipeline(version: str) -> None:
    model = load_linear(COMMITTED, version)
    _assert_same(_reference(version), model, bench_texts(limit=10_000) + ODD_TEXTS)


@pytest.mark.parametrize("version", VERSIONS)
def test_export_is_deterministic_and_matches_the_committed_file(version: str) -> None:
    committed = (COMMITTED / version / ARTIFACT_FILE).read_bytes()
    assert export.export(_reference(version)) == committed


@pytest.fixture(scope="module")
def v2_pair() -> tuple[Pipeline, linear_text.LinearTextModel]:
    return _reference("v2"), load_linear(COMMITTED, "v2")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(
        st.sampled_from(["good", "bad", "not", "love", "hate", "iphone", "!", "?", ":)", "the", "battery"])
        | st.text(min_size=1, max_size=8),
        max_size=40,
    ),
    separators=st.sampled_from([" ", "  ", "\t", ",", "-", "...", "\u00a0"]),
)
def test_any_text_scores_like_the_pipeline(v2_pair, words: list[str], separators: str) -> None:
    pipeline, model = v2_pair
    _assert_same(pipeline, model, [separators.join(words)])


def _fit(texts: list[str], labels: list[str], **vectoriser: object) -> Pipeline:
    pipeline = Pipeline([("tfidf", TfidfVectorizer(**vectoriser)), ("clf", LogisticRegression(max_iter=500))])
    return pipeline.fit(texts, labels)


def test_binary_and_other_settings_export_exactly() -> None:
    texts = bench_texts(limit=400)
    labels = ["pos" if i % 3 else "neg" for i in range(len(texts))]  # two classes: the logistic branch
    for settings_ in ({}, {"sublinear_tf": False, "norm": "l1", "ngram_range": (1, 3)}, {"norm": None}):
        pipeline = _fit(texts, labels, **settings_)
        model = linear_text.decode(export.export(pipeline))
        _assert_same(pipeline, model, texts[:100] + ODD_TEXTS)


@pytest.mark.parametrize(
    "pipeline",
    [
        Pipeline([("tfidf", TfidfVectorizer(analyzer="char")), ("clf", LogisticRegression())]),
        Pipeline([("tfidf", TfidfVectorizer(stop_words="english")), ("clf", LogisticRegression())]),
        Pipeline([("tfidf", TfidfVectorizer(token_pattern=r"(\w+)")), ("clf", LogisticRegression())]),
        Pipeline([("tfidf", TfidfVectorizer()), ("clf", RidgeClassifier())]),
    ],
    ids=["char-analyzer", "stop-words", "capturing-pattern", "other-classifier"],
)
def test_export_refuses_what_it_cannot_reproduce(pipeline: Pipeline) -> None:
    texts = bench_texts(limit=60)
    pipeline.fit(texts, ["a", "b", "c"] * 20)
    with pytest.raises(export.ExportError, match="cannot export"):
        export.export(pipeline)
