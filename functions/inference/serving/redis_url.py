"""The REDIS_URL query parameters the service accepts (checked at init, standard library only).

redis-py reads connection options from the URL's query string, and they win over the arguments the
service passes: ``?socket_timeout=30`` or ``?retry_on_timeout=true`` would quietly loosen the limits
that REDIS_TIMEOUT_MS and REDIS_CONNECT_TIMEOUT_MS set, and a name redis-py does not know reaches the
connection as an unexpected argument, so every call would fail. Both are refused when the
configuration is loaded, naming the parameter (never its value, never the URL: it may hold a password).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# Owned by the service: REDIS_TIMEOUT_MS, REDIS_CONNECT_TIMEOUT_MS, the breaker, no client retries.
TIMING_PARAMETERS = frozenset(
    {
        "socket_timeout",
        "socket_connect_timeout",
        "health_check_interval",
        "retry",
        "retry_on_timeout",
        "retry_on_error",
        "timeout",
    }
)
# Database, client name, protocol, and TLS: what a URL legitimately carries. OCSP is left out (it makes
# its own network calls, outside any deadline).
ALLOWED_PARAMETERS = frozenset(
    {
        "db",
        "client_name",
        "protocol",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_ca_data",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_cert_reqs",
        "ssl_check_hostname",
        "ssl_min_version",
        "ssl_ciphers",
        "ssl_include_verify_flags",
        "ssl_exclude_verify_flags",
    }
)
_SHOWABLE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def query_problem(url: str) -> str | None:
    """Why the URL's query string cannot be used, or None if it can."""
    names = sorted(parse_qs(urlsplit(url).query))  # as redis-py reads it: blank values are ignored
    timing = [name for name in names if name in TIMING_PARAMETERS]
    if timing:
        return (
            f"sets {', '.join(timing)} in its query string: Redis time limits come from REDIS_TIMEOUT_MS "
            "and REDIS_CONNECT_TIMEOUT_MS only (remove the parameter)"
        )
    unknown = [name for name in names if name not in ALLOWED_PARAMETERS]
    if unknown:
        shown = ", ".join(name if _SHOWABLE.fullmatch(name) else "(unprintable name)" for name in unknown)
        return (
            f"has query parameters the service does not support: {shown} "
            f"(supported: {', '.join(sorted(ALLOWED_PARAMETERS))})"
        )
    return None
