"""Hostile input against the real app, in process: property tests, a table of bad inputs, cache keys.

tests/test_api.py already covers the basic bad-input table (empty, whitespace, wrong types,
too long, unknown field, NUL, simple version injections, malformed JSON, 413, 415); this file
adds what it does not: invalid UTF-8, deep nesting, streamed huge bodies, control characters,
more query injections, repeated parameters, content-type variants, and the batch endpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import settings_env
from tests.hardening.conftest import check_batch, check_error, check_prediction

MAX_CHARS = 5000  # the default MAX_TEXT_CHARS the module's app runs with
MAX_BODY_BYTES = 65536  # the default MAX_BODY_BYTES
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VERSION_RE = re.compile(r"v[1-9][0-9]{0,3}")  # the documented pattern, matched in full
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def labels(committed_models: Path) -> set[str]:
    return set(json.loads((committed_models / "v1" / "manifest.json").read_text())["labels"])


@pytest.fixture(scope="module")
def client(committed_models: Path) -> Any:
    """One app for the module (hypothesis calls a test many times); canary on, so routing varies."""
    from fastapi.testclient import TestClient

    from serving.bootstrap import build_app
    from serving.config import load_settings

    env = settings_env(committed_models, CANARY_VERSION="v2", CANARY_PERCENT="50")
    return TestClient(build_app(load_settings(env)), raise_server_exceptions=False)


def check_answer(response: Any, labels: set[str], batch_size: int | None = None) -> dict[str, Any]:
    """Every answer is either a documented success or a documented error; never a 5xx other than 503."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code == 200:
        body = response.json()
        if batch_size is None:
            check_prediction(body, labels)
            assert response.headers["x-cache"] == body["cache"]
        else:
            check_batch(body, batch_size, labels)
        assert response.headers["x-request-id"] == body["request_id"]
        assert response.headers["x-model-version"] == body["model_version"]
        return body
    return check_error(response)


# ---- property tests ---------------------------------------------------------------------------

# Every code point category, lone surrogates and control characters included, plus long runs
# that straddle the length limit (hypothesis rarely builds 5000-character strings on its own).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
long_text = st.builds(
    lambda unit, n: (unit * n)[: MAX_CHARS - 5 + n % 11], st.text(min_size=1, max_size=3), st.integers(1700, 5100)
)
texts = st.one_of(any_text, long_text, st.sampled_from(["\x00", " \t\n", "\x1c\x1d", "\u200b", "\x1b[31m", "a\u0301"]))


def _is_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def documented_valid(text: str) -> bool:
    """The documented rules for a text: 1..MAX_CHARS characters and the OpenAPI ``pattern`` (not blank:
    not only whitespace or invisible characters; no NUL). tests/test_schemas.py ties the pattern to
    Python's whitespace and Unicode's invisible characters."""
    from serving.schemas import TEXT_PATTERN

    return re.search(TEXT_PATTERN, text) is not None and len(text) <= MAX_CHARS


@FUZZ
@given(text=texts, version=st.none() | st.sampled_from(["v1", "v2", "v9"]), client_id=st.none() | st.text(max_size=20))
def test_any_text_gets_a_documented_answer(client, labels, text: str, version: str | None, client_id: str | None):
    params = {"model_version": version} if version else {}
    headers = {"X-Client-Id": client_id.encode("utf-8", "surrogatepass")} if client_id else {}
    # Encoded here, with JSON's \u escapes: httpx's json= (ensure_ascii=False) cannot encode a lone surrogate.
    content = json.dumps({"text": text}).encode()
    response = client.post("/predict", params=params, content=content, headers={**JSON_HEADERS, **headers})
    body = check_answer(response, labels)
    if _is_surrogate(text) and response.status_code == 422:
        assert "text" in body["message"]  # a lone surrogate is not a string pydantic accepts: said so
        return
    # 200 exactly when the documented rules say the text is valid, and 422 otherwise.
    assert (response.status_code == 200) == documented_valid(text), (response.status_code, body)
    if response.status_code == 422:
        assert body["error"] == "invalid_input" and "text" in body["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


# Random JSON, plus bodies shaped like the real ones (so the success path is fuzzed too).
json_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"text": json_values | texts}),
    st.fixed_dictionaries({"texts": st.lists(json_values | texts, max_size=5)}),
    st.builds(
        lambda body, extra: {**body, **extra},
        st.fixed_dictionaries({"text": texts}),
        st.dictionaries(st.text(max_size=6), json_values, max_size=2),
    ),
)


def documented_valid_body(value: Any, endpoint: str) -> bool:
    if endpoint == "/predict":
        ok = isinstance(value, dict) and set(value) == {"text"} and isinstance(value["text"], str)
        return ok and documented_valid(value["text"])
    ok = isinstance(value, dict) and set(value) == {"texts"} and isinstance(value["texts"], list)
    return (
        ok
        and 1 <= len(value["texts"]) <= 64
        and all(isinstance(t, str) and documented_valid(t) for t in value["texts"])
    )


@FUZZ
@given(value=json_bodies, endpoint=st.sampled_from(["/predict", "/predict/batch"]))
def test_any_json_body_gets_a_documented_answer(client, labels, value: Any, endpoint: str):
    raw = json.dumps(value).encode()
    response = client.post(endpoint, content=raw, headers=JSON_HEADERS)
    if len(raw) > MAX_BODY_BYTES:
        check_error(response, 413)
        return
    texts = value.get("texts") if isinstance(value, dict) else None
    batch = len(texts) if endpoint.endswith("batch") and isinstance(texts, list) else None
    body = check_answer(response, labels, batch_size=batch)
    if _is_surrogate(json.dumps(value, ensure_ascii=False)) and response.status_code == 422:
        return  # lone surrogates: /predict refuses them, the batch endpoint may too
    # 200 exactly when the documented rules accept the body; 422 (saying why) otherwise.
    assert (response.status_code == 200) == documented_valid_body(value, endpoint), (response.status_code, body)


@FUZZ
@given(
    version=st.text(max_size=30) | st.from_regex(r"\Av[0-9]{1,6}\Z"),
    extra=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
)
def test_any_query_string_gets_a_documented_answer(client, labels, version: str, extra: dict[str, str]):
    params = {**extra, "model_version": version}
    response = client.post("/predict", params=params, json={"text": "query fuzz"})
    body = check_answer(response, labels)
    if VERSION_RE.fullmatch(version):
        assert response.status_code == 200
        assert body["requested_version"] == version
        # Either the version itself served, or the default did and said why.
        assert body["model_version"] == version or (
            body["routing"] == "fallback" and version in body["fallback_reason"]
        )
    else:
        assert response.status_code == 422 and "model_version" in body["message"]


@settings(max_examples=200, deadline=None)
@given(
    a=st.tuples(st.from_regex(r"\Av[1-9][0-9]{0,3}\Z"), st.from_regex(r"\A[0-9a-f]{16}\Z"), st.text()),
    b=st.tuples(st.from_regex(r"\Av[1-9][0-9]{0,3}\Z"), st.from_regex(r"\A[0-9a-f]{16}\Z"), st.text()),
)
def test_cache_keys_never_collide_and_cannot_be_steered_by_the_text(a, b):
    from serving.cache import cache_key

    key_a, key_b = cache_key(*a), cache_key(*b)
    # The key is a fixed shape whatever the text holds (":" or "pred:v2:..." cannot move a field)...
    for (version, digest, text), key in ((a, key_a), (b, key_b)):
        prefix, key_version, key_digest, text_hash = key.split(":")
        assert (prefix, key_version, key_digest) == ("pred", version, digest)
        assert re.fullmatch(r"[0-9a-f]{64}", text_hash)
        assert len(text) < 8 or text not in key  # the text itself never reaches Redis
    # ...and two different (version, artifact, text) never share one.
    assert (key_a == key_b) == (a == b)


@settings(max_examples=100, deadline=None)
@given(text=st.text(min_size=1, max_size=30), other=st.sampled_from(["v2", "v10", "v11", "v1 "]))
def test_a_text_cannot_reach_another_versions_entry(text: str, other: str):
    """Even a text that spells out another key cannot land on it: the version is not in the hashed part."""
    from serving.cache import cache_key

    digest = "0" * 16
    forged = f"{other}:{digest}:{text}"
    assert cache_key("v1", digest, forged) != cache_key(other.strip(), digest, text)
    assert cache_key("v1", digest, forged).startswith("pred:v1:")


# ---- the table of bad inputs that tests/test_api.py does not already cover ----------------------

DEEP = 30_000  # deeper than Python's json recursion limit, yet under the 64 KiB body limit
BODY_CASES: list[tuple[str, bytes, int, str]] = [
    # (id, raw body, documented status, fragment the message must contain)
    ("invalid-utf8", b'{"text": "caf\xe9 \xff\xfe"}', 422, "UTF-8"),
    ("utf8-overlong-nul", b'{"text": "a\xc0\x80b"}', 422, "UTF-8"),
    ("deeply-nested-json", b'{"text": ' + b"[" * DEEP + b"]" * DEEP + b"}", 422, "nested"),
    ("nested-array-as-text", b'{"text": [[["x"]]]}', 422, "text: Input should be a valid string"),
    ("json-string-body", b'"text"', 422, "valid dictionary"),
    ("json-number-body", b"12", 422, "valid dictionary"),
    ("empty-body", b"", 422, "Field required"),
    ("form-encoded-as-json", b"text=hello", 422, "not valid JSON"),
    ("version-in-body", b'{"text": "hi", "model_version": "v2"}', 422, "model_version: Extra inputs are not permitted"),
    ("unicode-separators-only", json.dumps({"text": "\u2028\u2029\x1c\x1f"}).encode(), 422, "empty or whitespace"),
    ("zero-width-only", json.dumps({"text": "\u200b\u200c\ufeff"}).encode(), 422, "empty or whitespace"),
    ("zero-width-and-spaces", json.dumps({"text": " \u200b \u2060\n"}).encode(), 422, "empty or whitespace"),
    ("batch-zero-width-item", json.dumps({"texts": ["ok", "\u200d"]}).encode(), 422, "texts[1]: text must not be"),
    ("text-5001-astral-chars", json.dumps({"text": "\U0001f600" * 5001}).encode(), 422, "at most 5000 characters"),
    ("batch-item-too-long", b'{"texts": ["ok", "' + b"x" * 5001 + b'"]}', 422, "at most 5000 characters"),
    ("batch-too-many", json.dumps({"texts": ["a"] * 65}).encode(), 422, "at most 64"),
    ("batch-empty-item", b'{"texts": ["ok", ""]}', 422, "texts"),
    ("batch-nul-item", b'{"texts": ["ok", "a\\u0000b"]}', 422, "texts[1]: text must not contain NUL"),
    ("batch-not-a-list", b'{"texts": "one text"}', 422, "texts: Input should be a valid list"),
    ("batch-number-item", b'{"texts": ["ok", 3]}', 422, "texts.1: Input should be a valid string"),
]


@pytest.mark.parametrize(
    ("body", "status", "fragment"), [case[1:] for case in BODY_CASES], ids=[c[0] for c in BODY_CASES]
)
def test_bad_body_gets_the_documented_status_and_says_why(client, body: bytes, status: int, fragment: str):
    endpoint = "/predict/batch" if b'"texts"' in body[:12] else "/predict"
    response = client.post(endpoint, content=body, headers=JSON_HEADERS)
    payload = check_error(response, status)
    assert fragment in payload["message"], payload["message"]


ACCEPTED_TEXTS = {
    "ansi-escape-and-bell": "\x1b[31mred alert\x07",
    "delete-and-rtl-override": "good\x7f \u202eevil",
    "zero-width-around-a-letter": "\u200bx\u200c",
    "combining-marks": "cafe\u0301 " + "\u0301" * 50,
    "5000-astral-chars": "\U0001f600" * 5000,
    "crlf-injection-attempt": "ok\r\nX-Injected: 1\r\n\r\n<script>",
}


@pytest.mark.parametrize("text", list(ACCEPTED_TEXTS.values()), ids=list(ACCEPTED_TEXTS))
def test_control_and_exotic_characters_are_classified_not_crashed_on(client, labels, text: str):
    # Only NUL and blank texts (whitespace or invisible characters only) are documented as invalid.
    response = client.post("/predict", json={"text": text})
    assert response.status_code == 200, response.text[:300]
    check_prediction(response.json(), labels)
    assert "x-injected" not in response.headers


def test_body_size_limit_is_exact_and_holds_without_content_length(client):
    limit = 65536
    head, tail = b'{"text": "right at the limit"', b"}"
    at_limit = head + b" " * (limit - len(head) - len(tail)) + tail  # JSON allows the padding
    assert client.post("/predict", content=at_limit, headers=JSON_HEADERS).status_code == 200
    over = at_limit[:-1] + b" }"
    check_error(client.post("/predict", content=over, headers=JSON_HEADERS), 413)

    # A streamed (chunked) body declares no length: the limit must still hold while reading.
    def chunks():
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    payload = check_error(client.post("/predict", content=chunks(), headers=JSON_HEADERS), 413)
    assert "65536 bytes" in payload["message"]


VERSION_INJECTIONS = [
    "..%2fv1",
    "v1/../v2",
    "v1\x00",
    "v1\n",
    "v1 ",
    " v1",
    "v1,v2",
    "v1*",
    "v?",
    "v[1-2]",
    "v1\u0661",  # Arabic-Indic digit: \d would match it, [0-9] must not
    "\uff56\uff11",  # fullwidth "v1"
    "v01",
    "v10000",
    "v" + "9" * 10_000,
    "v1' OR '1'='1",
    "${jndi:ldap://127.0.0.1/x}",
    "{{7*7}}",
]


@pytest.mark.parametrize("version", VERSION_INJECTIONS, ids=range(len(VERSION_INJECTIONS)))
def test_version_injection_is_rejected_with_a_message(client, version: str):
    for endpoint, body in (("/predict", {"text": "hi"}), ("/predict/batch", {"texts": ["hi"]})):
        response = client.post(endpoint, params={"model_version": version}, json=body)
        payload = check_error(response, 422)
        assert "model_version" in payload["message"]


@pytest.mark.parametrize("path", ["/models/..%2f..%2fetc%2fpasswd", "/models/v1%00", "/models/*", "/models/v1%0a"])
def test_manifest_path_injection_is_refused(client, path: str):
    response = client.get(path)
    assert response.status_code in {404, 422}
    check_error(response)


@pytest.mark.parametrize(
    "pairs",
    [[("v1", "v2")], [("v2", "../x")], [("../x", "v2")], [("v9", "v1", "*")]],
    ids=["two-valid", "valid-then-invalid", "invalid-then-valid", "three"],
)
def test_repeated_model_version_uses_one_validated_value(client, labels, pairs):
    values = list(pairs[0])
    response = client.post("/predict", params=[("model_version", v) for v in values], json={"text": "hi"})
    body = check_answer(response, labels)
    if response.status_code == 200:
        # Whichever value the framework picked, it was validated, and the answer names it.
        assert VERSION_RE.fullmatch(body["requested_version"]) and body["requested_version"] in values
    else:
        assert "model_version" in body["message"]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("text/json", 415),
        ("application/jsonx", 415),
        ("application/json-seq", 415),
        ("application/json, text/plain", 415),
        ("APPLICATION/JSON", 200),
        ("application/json; charset=utf-8", 200),
        ("application/problem+json", 200),
    ],
)
def test_content_type_variants(client, labels, content_type: str | None, status: int):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/predict", content=b'{"text": "hello"}', headers=headers)
    assert response.status_code == status, response.text[:200]
    if status == 415:
        payload = check_error(response, 415)
        assert (
            "application/json" in payload["message"]
            and (content_type or "none").split(";")[0].lower() in payload["message"].lower()
        )
    else:
        check_prediction(response.json(), labels)


def test_method_not_allowed_says_which_methods_are(client):
    # RFC 9110: a 405 MUST carry Allow; schemathesis flags its absence as well.
    response = client.request("TRACE", "/predict")
    check_error(response, 405)
    assert "POST" in response.headers.get("allow", "")


def test_version_names_are_matched_in_full():
    """artifacts.is_valid_version guards folder names: a trailing newline must not pass as "v1"."""
    from serving.artifacts import is_valid_version

    assert is_valid_version("v1") and is_valid_version("v9999")
    for bad in ("v1\n", "v0", "v10000", "v1/", "../v1"):
        assert not is_valid_version(bad), repr(bad)
