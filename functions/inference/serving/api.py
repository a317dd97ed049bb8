"""The FastAPI application: HTTP in, service call, HTTP out (plus errors that say what was wrong).

Endpoints are ``async def`` on purpose: the work is CPU-bound and short, and a Lambda
instance serves one request at a time, so running inline skips a thread hand-off per call.

The two predict endpoints are declared like any FastAPI endpoint (their models make the
OpenAPI document), but served by ``PlainJSONRoute``: a plain request skips FastAPI's generic
parameter solving, anything else takes FastAPI's own path. Their answers are serialised once,
straight to bytes. A request reaches them past the middleware's 415 and 413, which apply only once
the path and method match a route with a JSON body (a wrong method is the router's 405 first).
"""

import enum
import inspect
import json
import re
import time
import traceback
from collections.abc import Callable, Coroutine, Mapping
from functools import cache
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from serving.artifacts import VERSION_PATTERN, ArtifactError
from serving.config import Settings
from serving.middleware import RequestContextMiddleware, header
from serving.observability import logger, record_predictions
from serving.results import ServeResult
from serving.routing import ModelUnavailable
from serving.schemas import (
    BatchPredictResponse,
    BatchRequest,
    ErrorResponse,
    HealthResponse,
    ModelsResponse,
    PredictResponse,
    TextRequest,
    request_models,
)
from serving.service import InferenceService

_VERSION_MAX_LENGTH = 8
VersionQuery = Annotated[
    str | None,
    Query(
        pattern=VERSION_PATTERN,
        max_length=_VERSION_MAX_LENGTH,
        description="Ask for a model version (e.g. v2). If it cannot serve, the default answers (routing=fallback).",
    ),
]
VersionPath = Annotated[str, Path(pattern=VERSION_PATTERN, max_length=_VERSION_MAX_LENGTH)]
_VERSION_RE = re.compile(VERSION_PATTERN)


def _predict_errors(max_body_bytes: int) -> dict[int | str, dict[str, Any]]:
    return {
        413: {"model": ErrorResponse, "description": f"Body over the size limit ({max_body_bytes} bytes)"},
        415: {
            "model": ErrorResponse,
            "description": "Body is not JSON (Content-Type application/json or application/*+json), "
            "or has a Content-Encoding other than identity",
        },
        422: {"model": ErrorResponse, "description": "Invalid input; the message says what was wrong"},
        503: {"model": ErrorResponse, "description": "The default model cannot be served"},
    }


# Starlette's JSONResponse.render, with the encoder built once instead of per response.
_encode_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_CONTENT_TYPE_JSON = (b"content-type", b"application/json")


class _JSONBytes(Response):
    """A 200 JSON answer from pre-serialised bytes: the same status, body and headers (in the same
    order) as ``JSONResponse(content, headers=...)``, without its per-response header building."""

    media_type = "application/json"

    def __init__(self, body: bytes, headers: tuple[tuple[bytes, bytes], ...]) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [*headers, (b"content-length", str(len(body)).encode()), _CONTENT_TYPE_JSON]


@cache
def _answer_headers(model_version: str, cache_status: str) -> tuple[tuple[bytes, bytes], ...]:
    # A handful of combinations per instance (versions x cache outcomes): encoded once each.
    return ((b"x-model-version", model_version.encode("latin-1")), (b"x-cache", cache_status.encode("latin-1")))


class _NotPlain(enum.Enum):
    """The sentinel type of ``_NOT_PLAIN`` (an enum member, so ``is not`` narrows it away)."""

    NOT_PLAIN = enum.auto()


_NOT_PLAIN = _NotPlain.NOT_PLAIN


def _plain_version(scope: Scope) -> str | _NotPlain | None:
    """``model_version`` from a query string FastAPI would accept as is, else ``_NOT_PLAIN``.

    Stricter than (never looser than) VersionQuery, so a value taken here is the value
    FastAPI would have passed; anything else goes to FastAPI, which says what is wrong.
    """
    query_string: bytes = scope.get("query_string", b"")
    if not query_string:
        return None
    value = QueryParams(query_string).get("model_version")  # FastAPI's reading: the last value
    if value is None:
        return None
    if len(value) <= _VERSION_MAX_LENGTH and _VERSION_RE.fullmatch(value):
        return value
    return _NOT_PLAIN


class PlainJSONRoute(APIRoute):
    """Serves plain requests without FastAPI's generic parameter solving; the rest as FastAPI would.

    For an endpoint ``(body: Model, request: Request, model_version: VersionQuery)``: a request
    is plain when its JSON body passes ``Model.model_validate_json`` on the raw bytes and its
    query string has no ``model_version`` or a well-formed one. Then the endpoint gets exactly
    the values FastAPI would have given it. Anything else (invalid JSON or fields, a bad version)
    takes FastAPI's own handler, so every 4xx is FastAPI's, unchanged. The content type needs no
    check here: the middleware let through only types FastAPI parses as JSON.
    The endpoint must return a ``Response``.

    What it pays (``bench/route_ab.py``: the same app with FastAPI's own route, 20 interleaved rounds of 300
    requests through Mangum, in-process cache, 2026-11-30): a HIT 0.161 against 0.341 ms p50 and a MISS 0.365
    against 0.545 ms, so 0.18 ms a request, where the rounds' p50s spread by 0.007-0.041 ms.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        generic = super().get_route_handler()
        endpoint = self.endpoint
        model: type[BaseModel] = inspect.signature(endpoint).parameters["body"].annotation

        async def handle(request: Request) -> Response:
            scope = request.scope
            version = _plain_version(scope)
            if version is not _NOT_PLAIN:
                raw = scope.get("state", {}).get("body")  # read once by RequestContextMiddleware
                try:
                    body = model.model_validate_json(raw if raw is not None else await request.body())
                except ValidationError:
                    pass
                else:
                    response: Response = await endpoint(body=body, request=request, model_version=version)
                    return response
            return await generic(request)

        return handle


def create_app(settings: Settings, service: InferenceService, function_version: str) -> FastAPI:
    PredictRequest, BatchPredictRequest = request_models(
        settings.max_text_chars, settings.max_batch_texts, settings.max_body_bytes
    )
    app = FastAPI(
        title="Sentiment inference",
        version="1.0.0",
        description="Versioned sentiment models behind a cache, with canary and fallback routing.",
        # Traces, metrics and logs are Powertools' (X-Ray, EMF, JSON lines). FastAPI's own OpenTelemetry
        # hooks would stay idle (no provider is configured) but still check for one on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
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

    client_header = settings.client_id_header.encode("latin-1")

    # response_model and responses document the answers; the endpoints serialise them themselves.
    # The endpoints are written against the static bases of the configured request models; each gets
    # its configured model (limits from Settings) as the annotation FastAPI reads, below.
    async def predict(body: TextRequest, request: Request, model_version: VersionQuery = None) -> Response:
        client_key = header(request.scope, client_header)
        result = service.predict([body.text], model_version, client_key)
        item = result.items[0]
        payload = {
            **served(request, result, "predict"),
            "label": item.prediction.label,
            "scores": item.prediction.scores,
            "cache": item.cache,
        }
        return _JSONBytes(_encode_json(payload).encode(), _answer_headers(result.route.version, item.cache))

    async def predict_batch(
        body: BatchRequest,
        request: Request,
        model_version: VersionQuery = None,
    ) -> Response:
        client_key = header(request.scope, client_header)
        result = service.predict(body.texts, model_version, client_key)
        # BatchItem's fields, as plain dicts: a model per item cost about 3 us a text (response_model documents them).
        results = [{"label": i.prediction.label, "scores": i.prediction.scores, "cache": i.cache} for i in result.items]
        payload = {**served(request, result, "batch"), "results": results}
        return _JSONBytes(_encode_json(payload).encode(), _answer_headers(result.route.version, result.cache_summary))

    for path, endpoint, body_model, response_model in (
        ("/predict", predict, PredictRequest, PredictResponse),
        ("/predict/batch", predict_batch, BatchPredictRequest, BatchPredictResponse),
    ):
        endpoint.__annotations__["body"] = body_model  # what FastAPI and PlainJSONRoute validate with and document
        app.router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            response_model=response_model,
            responses=_predict_errors(settings.max_body_bytes),
            route_class_override=PlainJSONRoute,
        )

    @app.get("/models", response_model=ModelsResponse)
    async def models() -> dict[str, Any]:
        return service.models()

    @app.get(
        "/models/{version}",
        responses={
            404: {"model": ErrorResponse, "description": "No such model version"},
            422: {"model": ErrorResponse, "description": "Not a version name (v + number)"},
            503: {"model": ErrorResponse, "description": "The version's manifest cannot be read"},
        },
    )
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

    # Routes are matched by a scan in order: the predict routes first. No two routes share a path, so
    # the order decides nothing else (and the OpenAPI document keeps its order).
    app.router.routes.sort(key=lambda route: not isinstance(route, PlainJSONRoute))
    _install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        on_request=logger.set_correlation_id,
        on_error=log_unexpected,
        takes_json_body=_json_body_routes(app),
    )
    return app


def _json_body_routes(app: FastAPI) -> Callable[[Scope], bool]:
    """Whether a request will be served by a route with a JSON body (its path and method match)."""
    routes = [route for route in app.router.routes if isinstance(route, APIRoute) and route.body_field is not None]

    def takes_json_body(scope: Scope) -> bool:
        return any(route.matches(scope)[0] is Match.FULL for route in routes)

    return takes_json_body


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


def log_unexpected(exc: Exception) -> None:
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
