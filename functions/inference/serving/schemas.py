"""HTTP request and response shapes (pydantic); they are also the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator
from pydantic.config import JsonDict

from serving.results import CacheStatus
from serving.routing import Routing

# A text must hold at least one visible character. Blank characters, as inclusive code point ranges:
# Python's whitespace (what str.strip() removes, the C0 separators 0x1c-0x1f included) and Unicode's
# default-ignorable code points of the Basic Multilingual Plane (zero-width spaces and joiners, bidi
# marks, variation selectors, fillers: all invisible). tests/test_schemas.py checks both against Python
# and the Unicode database.
CodeRanges = tuple[tuple[int, int], ...]  # inclusive (low, high) pairs
WHITESPACE: CodeRanges
INVISIBLE: CodeRanges
WHITESPACE = ((0x09, 0x0D), (0x1C, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A))
WHITESPACE += ((0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000))
INVISIBLE = ((0xAD, 0xAD), (0x34F, 0x34F), (0x61C, 0x61C), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F))
INVISIBLE += ((0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F))
INVISIBLE += ((0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8))
BLANK = "".join(chr(code) for low, high in WHITESPACE + INVISIBLE for code in range(low, high + 1))
_BLANK_CLASS = "".join(
    f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in WHITESPACE + INVISIBLE
)
# _check_text's rules for the OpenAPI document: no NUL anywhere, at least one non-blank character.
# \uXXXX escapes only (no \s, no astral ranges), so ECMA-262, Python and Rust engines read it alike.
TEXT_PATTERN = f"^[^\\u0000]*[^\\u0000{_BLANK_CLASS}][^\\u0000]*$"
TEXT_RULES = "at least one visible character (not only whitespace or invisible characters such as U+200B), no NUL"


def _check_text(text: str) -> str:
    if not text.strip(BLANK):
        raise ValueError("text must not be empty or whitespace only")
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


class TextRequest(BaseModel):
    """Base of the configured PredictRequest (``request_models``): what the endpoint reads."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"text": "I love this system"}})
    text: str

    @field_validator("text")
    @classmethod
    def _valid_text(cls, text: str) -> str:
        return _check_text(text)


class BatchRequest(BaseModel):
    """Base of the configured BatchPredictRequest (``request_models``): what the endpoint reads."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"texts": ["I love this system", "This is broken"]}}
    )
    texts: list[str]

    @field_validator("texts")
    @classmethod
    def _valid_texts(cls, texts: list[str]) -> list[str]:
        for position, text in enumerate(texts):
            try:
                _check_text(text)
            except ValueError as error:
                raise ValueError(f"texts[{position}]: {error}") from None
        return texts


def request_models(
    max_text_chars: int, max_batch_texts: int, max_body_bytes: int
) -> tuple[type[TextRequest], type[BatchRequest]]:
    """Request models whose limits come from configuration (and so show up in /docs).

    The ``pattern`` states in the schema what ``_check_text`` enforces (pydantic does not apply it:
    the validator's messages say which rule a text broke).
    """
    pattern: JsonDict = {"pattern": TEXT_PATTERN}
    text_field = Field(
        min_length=1,
        max_length=max_text_chars,
        description=f"Text to classify: {TEXT_RULES}",
        json_schema_extra=pattern,
    )
    predict = create_model(
        "PredictRequest",
        __base__=TextRequest,
        text=(str, text_field),
    )
    batch = create_model(
        "BatchPredictRequest",
        __base__=BatchRequest,
        texts=(
            list[
                Annotated[
                    str, StringConstraints(min_length=1, max_length=max_text_chars), Field(json_schema_extra=pattern)
                ]
            ],
            Field(
                min_length=1,
                max_length=max_batch_texts,
                description=(
                    f"1 to {max_batch_texts} texts, each at most {max_text_chars} characters with {TEXT_RULES};"
                    f" the whole body at most {max_body_bytes} bytes (else 413)"
                ),
            ),
        ),
    )
    return predict, batch


class _Served(BaseModel):
    request_id: str
    model_version: str = Field(description="The version that actually served")
    requested_version: str | None
    routing: Routing
    fallback: bool
    fallback_reason: str | None
    latency_ms: float = Field(description="Time spent inside the function for this request")
    function_version: str = Field(description="Lambda version that served ($LATEST locally)")


class PredictResponse(_Served):
    label: str
    scores: dict[str, float]
    cache: CacheStatus


class BatchItem(BaseModel):
    label: str
    scores: dict[str, float]
    cache: CacheStatus


class BatchPredictResponse(_Served):
    results: list[BatchItem]


class ErrorResponse(BaseModel):
    request_id: str | None
    error: str = Field(description="Machine-readable error code")
    message: str = Field(description="What was wrong, for a human")
    details: list[dict[str, Any]] | None = None


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded", "unhealthy"]
    default_model: dict[str, Any]
    loaded_versions: list[str]
    cache: dict[str, Any]
    function_version: str


class ModelsResponse(BaseModel):
    default_version: str
    canary: dict[str, Any]
    shadow_version: str | None
    loaded_versions: list[str]
    models: list[dict[str, Any]]
