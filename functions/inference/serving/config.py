"""Configuration: parsed once from the environment into a typed, validated object.

A bad value fails at initialisation with a message naming the variable, so a broken
deployment is caught by the pre-traffic hook instead of by customers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from serving.artifacts import VERSION_PATTERN, is_valid_version, list_versions
from serving.cache_policy import CachePolicies, parse_policies
from serving.redis_url import query_problem as redis_url_problem

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot run with."""


@dataclass(frozen=True)
class Settings:
    models_dir: Path
    default_version: str
    load_all_models: bool
    canary_version: str | None
    canary_percent: float
    shadow_version: str | None
    redis_url: str | None = field(repr=False)  # may hold a password
    redis_secret_id: str | None  # Secrets Manager secret with the Redis credentials (ARN or name)
    cache_ttl_seconds: int
    redis_timeout_seconds: float
    redis_connect_timeout_seconds: float  # opening a connection (connect, TLS handshake, AUTH)
    local_cache_entries: int
    cache_policies: CachePolicies  # per model version: does a request consult Redis (serving/cache_policy.py)
    breaker_failures: int
    breaker_cooldown_seconds: float
    max_text_chars: int
    max_body_bytes: int
    max_batch_texts: int
    client_id_header: str

    @property
    def canary_enabled(self) -> bool:
        return self.canary_version is not None and self.canary_percent > 0


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, default).strip()


def _parse[T](
    env: Mapping[str, str],
    name: str,
    default: str,
    convert: Callable[[str], T],
    rule: str,
    secret: bool = False,
) -> T:
    raw = _get(env, name, default)
    try:
        return convert(raw)
    except ValueError as error:
        shown = "(value hidden: it may hold a password)" if secret else repr(raw)
        why = f"{error}; " if isinstance(error, _Reason) else ""
        raise ConfigError(f"{name}={shown} is invalid: {why}expected {rule}") from None


class _Reason(ValueError):
    """What is wrong with a value, in words that never quote it (so it may be shown for a secret too)."""


def _bool(raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ValueError(raw)


def _bounded[T: (int, float)](kind: Callable[[str], T], low: float, high: float) -> Callable[[str], T]:
    def convert(raw: str) -> T:
        value = kind(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return convert


def _version(raw: str) -> str:
    if not is_valid_version(raw):
        raise ValueError(raw)
    return raw


def _optional_version(raw: str) -> str | None:
    return _version(raw) if raw else None


def _redis_url(raw: str) -> str | None:
    """The URL, checked as redis-py will read it (urllib), so a bad one fails here, not at the first call."""
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(raw)
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(raw)
    except ValueError:  # an unbalanced or invalid [IPv6] host, or a host that changes under NFKC
        raise _Reason("the host is not a host name or a bracketed IPv6 address such as [::1]") from None
    if parts.scheme == "unix":
        if not parts.path:
            raise _Reason("a unix:// URL needs the socket's path, e.g. unix:///run/redis.sock")
        return raw
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port == 0:
        raise _Reason("the port must be a number from 1 to 65535")
    if not parts.hostname:
        raise _Reason("the URL names no host")
    if parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise _Reason("the path must be a database number, e.g. /0")
    return raw


def _url_has_password(url: str) -> bool:
    from urllib.parse import urlsplit

    return bool(urlsplit(url).password)


def _connect_timeout_default(env: Mapping[str, str]) -> str:
    # A TLS connection costs tens of ms of CPU (context, CA load, handshake), more on a small cold
    # instance; a plain one costs a few round trips, like a command.
    return "1000" if _get(env, "REDIS_URL", "").startswith("rediss://") else _get(env, "REDIS_TIMEOUT_MS", "100")


def _header_name(raw: str) -> str:
    # An HTTP token (RFC 9110), lower-cased as it is compared; "" is refused below with its own message.
    if raw and not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", raw):
        raise ValueError(raw)
    return raw.lower()


def _folder(raw: str) -> Path:
    if not raw:
        raise ValueError(raw)
    return Path(raw)


def _secret_id(raw: str) -> str | None:
    if not raw:
        return None
    if not re.fullmatch(r"[A-Za-z0-9/_+=.@:-]{1,2048}", raw):
        raise ValueError(raw)
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    version_rule = f"a model version matching {VERSION_PATTERN}"
    settings = Settings(
        models_dir=_parse(env, "MODELS_DIR", "/opt/models", _folder, "the models folder's path"),
        default_version=_parse(env, "DEFAULT_MODEL_VERSION", "v1", _version, version_rule),
        load_all_models=_parse(env, "LOAD_ALL_MODELS", "false", _bool, "true or false"),
        canary_version=_parse(env, "CANARY_VERSION", "", _optional_version, version_rule + " or empty"),
        canary_percent=_parse(env, "CANARY_PERCENT", "0", _bounded(float, 0, 100), "a number from 0 to 100"),
        shadow_version=_parse(env, "SHADOW_VERSION", "", _optional_version, version_rule + " or empty"),
        redis_url=_parse(
            env, "REDIS_URL", "", _redis_url, "a redis://, rediss:// or unix:// URL, or empty", secret=True
        ),
        redis_secret_id=_parse(
            env, "REDIS_SECRET_ARN", "", _secret_id, "a Secrets Manager secret ARN or name, or empty"
        ),
        cache_ttl_seconds=_parse(
            env, "CACHE_TTL_SECONDS", "3600", _bounded(int, 1, 30 * 86400), "whole seconds, 1 to 2592000"
        ),
        redis_timeout_seconds=_parse(
            env, "REDIS_TIMEOUT_MS", "100", _bounded(int, 1, 10_000), "milliseconds, 1 to 10000"
        )
        / 1000,
        redis_connect_timeout_seconds=_parse(
            env,
            "REDIS_CONNECT_TIMEOUT_MS",
            _connect_timeout_default(env),
            _bounded(int, 1, 10_000),
            "milliseconds, 1 to 10000",
        )
        / 1000,
        local_cache_entries=_parse(
            env, "CACHE_LOCAL_ENTRIES", "1024", _bounded(int, 0, 1_000_000), "an entry count, 0 to 1000000"
        ),
        cache_policies=_parse(
            env,
            "CACHE_POLICY",
            "always",
            parse_policies,
            "always, auto or never, for every version or per version (e.g. auto or never,v3=always)",
        ),
        breaker_failures=_parse(
            env, "CACHE_BREAKER_FAILURES", "3", _bounded(int, 1, 1000), "a failure count, 1 to 1000"
        ),
        breaker_cooldown_seconds=_parse(
            env, "CACHE_BREAKER_COOLDOWN_SECONDS", "30", _bounded(float, 0, 3600), "seconds, 0 to 3600"
        ),
        max_text_chars=_parse(env, "MAX_TEXT_CHARS", "5000", _bounded(int, 1, 1_000_000), "a length, 1 to 1000000"),
        max_body_bytes=_parse(
            env, "MAX_BODY_BYTES", "65536", _bounded(int, 64, 6 * 1024 * 1024), "bytes, 64 to 6291456"
        ),
        max_batch_texts=_parse(env, "MAX_BATCH_TEXTS", "64", _bounded(int, 1, 1000), "a count, 1 to 1000"),
        client_id_header=_parse(
            env, "CANARY_CLIENT_HEADER", "X-Client-Id", _header_name, "a header name: letters, digits, !#$%&'*+-.^_`|~"
        ),
    )
    if settings.canary_percent > 0 and settings.canary_version is None:
        raise ConfigError("CANARY_PERCENT is set but CANARY_VERSION is empty: name the canary model version")
    if settings.canary_version == settings.default_version and settings.canary_percent > 0:
        raise ConfigError("CANARY_VERSION equals DEFAULT_MODEL_VERSION: a canary must be another version")
    if settings.shadow_version == settings.default_version:
        raise ConfigError("SHADOW_VERSION equals DEFAULT_MODEL_VERSION: a shadow must be another version")
    if settings.redis_url and (problem := redis_url_problem(settings.redis_url)):
        raise ConfigError(f"REDIS_URL {problem}")
    if settings.redis_secret_id and not settings.redis_url:
        raise ConfigError("REDIS_SECRET_ARN is set but REDIS_URL is empty: name the Redis endpoint the secret is for")
    if settings.redis_secret_id and settings.redis_url and _url_has_password(settings.redis_url):
        raise ConfigError(
            "REDIS_URL holds a password and REDIS_SECRET_ARN is set: keep the credentials in the secret only"
        )
    if not settings.client_id_header:
        raise ConfigError("CANARY_CLIENT_HEADER is empty: name the request header that identifies a client")
    return settings


def check_models(settings: Settings) -> None:
    """Fail the init when DEFAULT_MODEL_VERSION is not in MODELS_DIR at all (nothing could ever answer).

    A default that is there but cannot load (tampered, incompatible, drifted) is not refused here: the
    service answers 503 with the reason and retries the load, so an instance heals with the artifact.
    """
    if (settings.models_dir / settings.default_version).is_dir():
        return
    if not settings.models_dir.is_dir():
        raise ConfigError(
            f"MODELS_DIR={str(settings.models_dir)!r} is not a folder: point it at the models (in Lambda, attach"
            " the models layer: /opt/models)"
        )
    found = ", ".join(list_versions(settings.models_dir)) or "none"
    raise ConfigError(
        f"DEFAULT_MODEL_VERSION={settings.default_version!r} is not in MODELS_DIR={str(settings.models_dir)!r}:"
        f" versions found: {found}"
    )
