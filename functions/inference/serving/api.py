"""The FastAPI application: HTTP in, service call, HTTP out (plus errors that say what was wrong).

Endpoints are ``async def`` on purpose: the work is CPU-bound and short, and a Lambda
instance serves one request at a time, so running inline skips a thread hand-off per call.
"""

import time
import traceback
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.artifacts import VERSION_PATTERN, ArtifactError
from serving.config import Settings
from serving.middleware import RequestContextMiddleware
from serving.observability import logger, record_predictions
from serving.routing import ModelUnavailable
from serving.schemas import (
    BatchItem,
    BatchPredictResponse,
    ErrorResponse,
    HealthResponse,
    ModelsResponse,
    PredictResponse,
    request_models,
)
from serving.service import InferenceService, ServeResult

VersionQuery = Annotated[
    str | None,
    Query(
        pattern=VERSION_PATTERN,
        max_length=8,
        description="Ask for a model version (e.g. v2). If it cannot serve, the default answers (routing=fallback).",
    ),
]
VersionPath = Annotated[str, Path(pattern=VERSION_PATTERN, max_length=8)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "Body over the size limit"},
    415: {"model": ErrorResponse, "description": "Body is not JSON"},
    422: {"model": ErrorResponse, "description": "Invalid input; the message says what was wrong"},
    503: {"model": ErrorResponse, "description": "The default model cannot be served"},
}


def create_app(settings: Settings, service: InferenceService, function_version: str) -> FastAPI:
    PredictRequest, BatchPredictRequest = request_models(settings.max_text_chars, settings.max_batch_texts)
    app = FastAPI(
        title="Sentiment inference",
        version="1.0.0",
        description="Versioned sentiment models behind a cache, with canary and fallback routing.",
    )
    app.state.service = service  # for operators' tooling and tests; requests use the closure

    def served(request: Request, result: ServeResult, endpoint: str) -> dict[str, Any]:
        state = request.state
        latency_ms = round((time.perf_counter() - state.started) * 1000, 3)
        record_predictions(result, state.request_id, latency_ms, len(service.registry.loaded_versions()), endpoint)
        route = result.route
        return {
            "request_id": state.request_id,
            "model_version": route.version,
            "requested_version": route.requested_version,
            "routing": route.routing,
            "fallback": route.routing == "fallback",
            "fallback_reason": route.fallback_reason,
            "latency_ms": latency_ms,
            "function_version": function_version,
        }

    def headers(result: ServeResult, cache: str) -> dict[str, str]:
        return {"X-Model-Version": result.route.version, "X-Cache": cache}

    @app.post("/predict", response_model=PredictResponse, responses=_ERRORS)
    async def predict(body: PredictRequest, request: Request, model_version: VersionQuery = None) -> JSONResponse:  # type: ignore[valid-type]
        client_key = request.headers.get(settings.client_id_header)
        result = service.predict([body.text], model_version, client_key)  # type: ignore[attr-defined]
        item = result.items[0]
        payload = {
            **served(request, result, "predict"),
            "label": item.prediction.label,
            "scores": item.prediction.scores,
            "cache": item.cache,
        }
        return JSONResponse(payload, headers=headers(result, item.cache))

    @app.post("/predict/batch", response_model=BatchPredictResponse, responses=_ERRORS)
    async def predict_batch(
        body: BatchPredictRequest,  # type: ignore[valid-type]
        request: Request,
        model_version: VersionQuery = None,
    ) -> JSONResponse:
        client_key = request.headers.get(settings.client_id_header)
        result = service.predict(body.texts, model_version, client_key)  # type: ignore[attr-defined]
        results = [
            BatchItem(label=i.prediction.label, scores=i.prediction.scores, cache=i.cache).model_dump()
            for i in result.items
        ]
        cache = result.cache_summary
        return JSONResponse({**served(request, result, "batch"), "results": results}, headers=headers(result, cache))

    @app.get("/models", response_model=ModelsResponse)
    async def models() -> dict[str, Any]:
        return service.models()

    @app.get("/models/{version}", responses={404: {"model": ErrorResponse}})
    async def model_manifest(version: VersionPath) -> dict[str, Any]:
        try:
            return service.manifest(version)
        except ArtifactError as error:
            if error.reason == "missing":
                raise StarletteHTTPException(404, f"model version {version} does not exist") from None
            raise StarletteHTTPException(503, f"model version {version} manifest is {error.reason}") from None

    @app.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
    async def health() -> JSONResponse:
        report = {**service.health(), "function_version": function_version}
        return JSONResponse(report, status_code=503 if report["status"] == "unhealthy" else 200)

    _install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        on_request=logger.set_correlation_id,
        on_error=_log_unexpected,
    )
    return app


def _error(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    body = {"request_id": request_id, "error": code, "message": message, "details": details}
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def _log_unexpected(exc: Exception) -> None:
    # Type and stack only: an exception's message can quote the input (scikit-learn and numpy do).
    frames = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(exc.__traceback__)]
    logger.error("unhandled error", extra={"error_type": type(exc).__name__, "stack": frames[-10:]})


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return f"body is not valid JSON: {reason}" if reason else "body is not valid JSON"
    return f"{location}: {message}"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
        message = "; ".join(_describe(e) for e in errors) or "invalid request"
        return _error(request, 422, "invalid_input", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError | RecursionError):
            # FastAPI answers a bare 400 for what json.loads raises besides JSONDecodeError; it is
            # invalid input like any other: the documented 422, saying what was wrong.
            what = "is not valid UTF-8" if isinstance(cause, UnicodeDecodeError) else "is nested too deeply"
            return _error(request, 422, "invalid_input", f"body is not valid JSON: it {what}")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(request, exc.status_code, code, str(exc.detail), headers=exc.headers)  # 405 keeps Allow

    @app.exception_handler(ModelUnavailable)
    async def model_unavailable(request: Request, exc: ModelUnavailable) -> JSONResponse:
        logger.error("default model unavailable", extra={"detail": str(exc.error)})
        return _error(request, 503, "model_unavailable", str(exc))
