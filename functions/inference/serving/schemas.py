"""HTTP request and response shapes (pydantic); they are also the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

from serving.routing import Routing
from serving.service import CacheStatus


def _check_text(text: str) -> str:
    if not text.strip():
        raise ValueError("text must not be empty or whitespace only")
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


class _TextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"text": "I love this system"}})
    text: str

    @field_validator("text")
    @classmethod
    def _valid_text(cls, text: str) -> str:
        return _check_text(text)


class _BatchRequest(BaseModel):
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


def request_models(max_text_chars: int, max_batch_texts: int) -> tuple[type[BaseModel], type[BaseModel]]:
    """Request models whose limits come from configuration (and so show up in /docs)."""
    text_field = Field(min_length=1, max_length=max_text_chars, description="Text to classify")
    predict = create_model(
        "PredictRequest",
        __base__=_TextRequest,
        text=(str, text_field),
    )
    batch = create_model(
        "BatchPredictRequest",
        __base__=_BatchRequest,
        texts=(
            list[Annotated[str, StringConstraints(min_length=1, max_length=max_text_chars)]],
            Field(
                min_length=1,
                max_length=max_batch_texts,
                description=f"1 to {max_batch_texts} texts, each at most {max_text_chars} characters",
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
