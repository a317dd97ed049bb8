"""No input text, secrets or tokens in logs or EMF, on any path: success, fallback, batch, every error.

Each request carries recognisable secrets (random per run, so nothing else can contain them).
Everything the process emitted is scanned: Powertools log lines and EMF documents on stdout,
stderr, and every logging record (with tracebacks) from any logger, e.g. Mangum's or uvicorn's.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from devsupport.events import http_api_event
from devsupport.ports import free_port
from devsupport.redis_server import RedisServer
from tests.conftest import json_lines, log_to_current_stdout, running_redis, settings_env

TOKEN = secrets.token_hex(6)
MARKERS = {
    "aws-key": f"AKIA{TOKEN.upper()}XYZ",
    "api-token": f"sk_live_{TOKEN}",
    "card": f"4929{int(TOKEN, 16) % 10**12:012d}",
    "email": f"victim.{TOKEN}@example.com",
    "bearer": f"eyJhbGciOi{TOKEN}",
}
SECRET_TEXT = "my key is {aws-key}, token {api-token}, card {card}, mail {email}".format_map(MARKERS)
REDIS_PASSWORD = f"redis-pass-{TOKEN}"


@pytest.fixture
def everything_emitted(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """All output of the test so far: stdout, stderr and every log record, tracebacks included."""
    log_to_current_stdout()
    caplog.set_level(logging.DEBUG)

    def read() -> str:
        captured = capsys.readouterr()
        records = [
            json.dumps({k: str(v) for k, v in vars(record).items()}, ensure_ascii=False) for record in caplog.records
        ]
        return "\n".join([captured.out, captured.err, caplog.text, *records])

    return read


def assert_clean(output: str, *also: str) -> None:
    assert output.strip(), "nothing was captured: the scan would prove nothing"
    for name, marker in [*MARKERS.items(), *(("extra", value) for value in also)]:
        assert marker not in output, f"{name} leaked into logs: ...{_around(output, marker)}..."


def _around(text: str, marker: str) -> str:
    at = text.index(marker)
    return text[max(0, at - 150) : at + 50]


def _event(method: str, path: str, body: Any = None, query: dict[str, str] | None = None, **kw: Any) -> dict:
    event = http_api_event(method, path, body, query, **kw)
    event["headers"]["authorization"] = f"Bearer {MARKERS['bearer']}"
    event["headers"]["x-client-id"] = MARKERS["api-token"]
    return event


def _requests() -> list[tuple[dict, set[int]]]:
    text = json.dumps({"text": SECRET_TEXT})
    return [
        (_event("POST", "/predict", text), {200}),
        (_event("POST", "/predict", text, {"model_version": "v2"}), {200}),  # v2 broken: fallback
        (_event("POST", "/predict", text, {"model_version": "v9"}), {200}),  # unknown: fallback
        (_event("POST", "/predict/batch", json.dumps({"texts": [SECRET_TEXT, MARKERS["card"]]})), {200}),
        (_event("POST", "/predict", json.dumps({"text": SECRET_TEXT + "x" * 5001})), {422}),
        (_event("POST", "/predict", json.dumps({"text": SECRET_TEXT + "\x00"})), {422}),
        (_event("POST", "/predict", json.dumps({"text": "ok", MARKERS["aws-key"]: SECRET_TEXT})), {422}),
        (_event("POST", "/predict/batch", json.dumps({"texts": [SECRET_TEXT, ""]})), {422}),
        (_event("POST", "/predict", '{"text": "' + SECRET_TEXT), {422}),  # truncated JSON
        (_event("POST", "/predict", b'{"text": "\xff' + SECRET_TEXT.encode() + b'"}'), {400, 422}),
        (_event("POST", "/predict", SECRET_TEXT, content_type="text/plain"), {415}),
        (_event("POST", "/predict", json.dumps({"text": SECRET_TEXT * 2000})), {413}),
        (_event("POST", "/predict", text, {"model_version": MARKERS["aws-key"]}), {422}),
        (_event("GET", "/health"), {200}),
        (_event("GET", "/models"), {200}),
        (_event("GET", "/models/v2"), {200, 503}),
        # Not scanned: secrets placed in the URL path. Paths are request metadata that Mangum logs at
        # INFO and API Gateway access logs keep anyway; the contract is about texts, bodies, tokens.
        (_event("GET", "/models/v1%00"), {422}),
        (_event("GET", "/predict"), {405}),
    ]


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path, "--requirepass", REDIS_PASSWORD) as server:
        yield server


def _url(port: int, password: str) -> str:
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"


@pytest.mark.redis
@pytest.mark.parametrize("redis_state", ["up", "wrong-password", "down"])
def test_no_text_secret_or_redis_password_in_logs_on_any_path(
    load_handler, lambda_context, models_copy: Path, password_redis, everything_emitted, redis_state: str
):
    (models_copy / "v2" / "model.ltm").write_bytes(b"tampered")  # every v2 request falls back
    password = {"up": REDIS_PASSWORD, "wrong-password": REDIS_PASSWORD + "-wrong", "down": REDIS_PASSWORD}[redis_state]
    port = free_port() if redis_state == "down" else password_redis.port
    handler = load_handler(MODELS_DIR=str(models_copy), REDIS_URL=_url(port, password), SHADOW_VERSION="v2")
    statuses = []
    for event, allowed in _requests():
        response = handler.lambda_handler(event, lambda_context)
        assert response["statusCode"] in allowed, (event["rawPath"], response["statusCode"], response["body"][:200])
        statuses.append(response["statusCode"])
        assert REDIS_PASSWORD not in response["body"]  # nor in any answer (e.g. /health's cache block)
    # A non-HTTP event full of secrets is logged by type only.
    handler.lambda_handler({"detail": SECRET_TEXT, "token": MARKERS["bearer"]}, lambda_context)
    output = everything_emitted()
    assert_clean(output, REDIS_PASSWORD, quote(REDIS_PASSWORD))
    # The scan saw the paths it claims to: served lines, a fallback, and EMF documents.
    lines = json_lines(output)
    assert any(line.get("routing") == "fallback" for line in lines)
    assert any("_aws" in line for line in lines)
    assert {200, 413, 415, 422} <= set(statuses)


def test_default_model_unavailable_logs_no_text(load_handler, lambda_context, models_copy: Path, everything_emitted):
    (models_copy / "v1" / "model.ltm").unlink()
    handler = load_handler(MODELS_DIR=str(models_copy))
    for path, body in (("/predict", {"text": SECRET_TEXT}), ("/predict/batch", {"texts": [SECRET_TEXT]})):
        response = handler.lambda_handler(_event("POST", path, json.dumps(body)), lambda_context)
        assert response["statusCode"] == 503
    output = everything_emitted()
    assert "default model unavailable" in output
    assert_clean(output)


def test_an_unexpected_error_whose_message_echoes_the_input_does_not_reach_the_logs(
    load_handler, lambda_context, everything_emitted, monkeypatch: pytest.MonkeyPatch
):
    """scikit-learn and numpy errors often quote the offending value; a 500 must not log it."""
    handler = load_handler()
    import serving.service

    def failing_predict(model: Any, texts: list[str]) -> Any:
        raise ValueError(f"could not vectorise document {texts[0]!r}")

    monkeypatch.setattr(serving.service, "predict", failing_predict)
    response = handler.lambda_handler(_event("POST", "/predict", json.dumps({"text": SECRET_TEXT})), lambda_context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"] == "internal_error"
    output = everything_emitted()
    assert "ValueError" in output  # the error is logged (its type and where) ...
    assert_clean(output)  # ... but not its message, which quotes the customer's text


def test_settings_repr_hides_the_redis_password(committed_models: Path):
    """A Settings object in a log line, a traceback with locals or a debugger must not show it."""
    from serving.config import load_settings

    settings = load_settings(settings_env(committed_models, REDIS_URL=_url(6379, REDIS_PASSWORD)))
    assert settings.redis_url is not None and REDIS_PASSWORD in settings.redis_url  # it is kept, for use
    assert REDIS_PASSWORD not in repr(settings) and REDIS_PASSWORD not in str(settings)
