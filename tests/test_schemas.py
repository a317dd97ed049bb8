"""The text rules the validator enforces are exactly the ones the OpenAPI document states."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.schemas import BLANK, INVISIBLE, TEXT_PATTERN, WHITESPACE, TextRequest, request_models
from tests.conftest import require

MAX_CHARS = 50


def _chars(ranges: tuple[tuple[int, int], ...]) -> set[str]:
    return {chr(code) for low, high in ranges for code in range(low, high + 1)}


def test_whitespace_is_what_str_strip_removes():
    assert _chars(WHITESPACE) == {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}


def test_invisible_characters_are_unicodes_default_ignorable_code_points_of_the_bmp():
    try:
        import regex  # installed with cfn-lint (requirements-dev.txt); it knows Unicode's derived properties
    except ImportError:
        require(False, "the regex package is not installed (pip install -r requirements-dev.txt)")
    ignorable = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    assert _chars(INVISIBLE) == {chr(code) for code in range(0x10000) if ignorable.fullmatch(chr(code))}
    assert set(BLANK) == _chars(WHITESPACE) | _chars(INVISIBLE)


@pytest.fixture(scope="module")
def predict_request() -> type[TextRequest]:
    return request_models(MAX_CHARS, 4, 65536)[0]


@pytest.fixture(scope="module")
def schema_validator(predict_request: type[TextRequest]) -> object:
    """The request's JSON Schema as a Rust engine reads it (schemathesis' validator: ECMA-262 regex)."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(predict_request.model_json_schema())


# Texts that mix blank characters, NUL, letters and anything else, so every rule is crossed often.
_blank = st.sampled_from(sorted(BLANK))
# Lone surrogates (category Cs) are left out: they are not Unicode scalar values, so no JSON Schema string
# holds one, and the service refuses them (422) before any pattern applies.
texts = st.lists(
    _blank | st.sampled_from(["\x00", "a", "\x07", "\U000e0020"]) | st.characters(exclude_categories=["Cs"]),
    max_size=8,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_the_schema_pattern_accepts_exactly_the_texts_the_service_accepts(predict_request, schema_validator, text):
    from pydantic import ValidationError

    try:
        predict_request.model_validate({"text": text})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (re.search(TEXT_PATTERN, text) is not None and 1 <= len(text) <= MAX_CHARS)
    assert accepted == schema_validator.is_valid({"text": text})


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("ok", True),
        (" ok\u200b", True),
        ("\U0001f600", True),  # an emoji is visible
        ("\x07", True),  # a control character that is not whitespace is text
        (" \t\n", False),
        ("\x1c\x1d\x1e\x1f", False),  # str.strip() whitespace, though not Unicode White_Space
        ("\u200b\u200c\u200d\u2060\ufeff", False),  # zero-width only
        ("\u202e\u2066\u00ad", False),  # bidi controls and a soft hyphen: nothing visible
        ("a\x00", False),
    ],
)
def test_blank_and_nul_texts_are_refused(predict_request, text, accepted):
    from pydantic import ValidationError

    if accepted:
        predict_request.model_validate({"text": text})
    else:
        with pytest.raises(ValidationError):
            predict_request.model_validate({"text": text})


def test_the_served_document_states_the_pattern_for_every_text(make_client):
    spec = make_client().get("/openapi.json").json()["components"]["schemas"]
    assert spec["PredictRequest"]["properties"]["text"]["pattern"] == TEXT_PATTERN
    assert spec["BatchPredictRequest"]["properties"]["texts"]["items"]["pattern"] == TEXT_PATTERN
