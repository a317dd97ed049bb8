"""Composition root: settings -> registry, cache, router -> service -> FastAPI app.

Runs once per instance (at import in Lambda), never per request.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from serving.api import create_app
from serving.breaker import CircuitBreaker
from serving.cache import LocalCache, RedisCache, TieredCache
from serving.cache_policy import SharedTierGate
from serving.config import Settings, check_models, load_settings
from serving.observability import logger
from serving.registry import ModelRegistry
from serving.routing import Router
from serving.service import InferenceService


def build_cache(settings: Settings) -> TieredCache:
    local = LocalCache(settings.local_cache_entries, settings.cache_ttl_seconds)
    shared = None
    if settings.redis_url:
        breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_seconds)
        shared = RedisCache.from_url(
            settings.redis_url,
            settings.cache_ttl_seconds,
            settings.redis_timeout_seconds,
            settings.redis_connect_timeout_seconds,
            breaker,
            secret_id=settings.redis_secret_id,
        )
    return TieredCache(local, shared)


def build_service(settings: Settings) -> InferenceService:
    registry = ModelRegistry(settings.models_dir)
    router = Router(registry, settings.default_version, settings.canary_version, settings.canary_percent)
    cache = build_cache(settings)
    gate = SharedTierGate(settings.cache_policies, cache.shared.round_trip if cache.shared else None)
    service = InferenceService(registry, router, cache, gate, settings.shadow_version)
    if settings.load_all_models:
        for version, error in registry.load_all().items():
            logger.error("model failed to load at init", extra={"model_version": version, "detail": str(error)})
    return service


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    check_models(settings)  # a default version that is not there at all fails the init, naming the variable
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    return create_app(settings, build_service(settings), function_version)
