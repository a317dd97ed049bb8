"""A cached value is served only if it is an answer this model could have given for this very text.

Anyone who can reach the shared Redis can write any value under any key. Each poisoned shape below is
put under the exact key the service reads, in a real redis-server: the request must answer 200 with
the correct answer (computed by an instance with no cache), say MISS, count the rejection (a log field
per reason and the CacheRejected metric), and overwrite the key, so the next request is a HIT.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from devsupport.events import http_api_event
from tests.conftest import json_lines
from tests.hardening.conftest import emf_documents

pytestmark = pytest.mark.redis

TEXT = "the battery died after a day"
OTHER_TEXT = "absolutely flawless, would buy again"


def _scores(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**entry, "scores": {**entry["scores"], **changes}}


def _first_label(entry: dict[str, Any]) -> str:
    return next(iter(entry["scores"]))


def _literal_score(literal: str) -> Callable[[dict[str, Any]], str]:
    """The good value with its first score replaced by a JSON literal Python would never write."""
    marker = 0.123456789
    return lambda e: json.dumps(_scores(e, **{_first_label(e): marker})).replace(str(marker), literal)


POISONED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    # name: (what replaces the good value, the rejection reason)
    "nan-score": (_literal_score("NaN"), "bad_answer"),
    "1e999-score": (_literal_score("1e999"), "bad_answer"),
    "negative-score": (lambda e: _scores(e, **{_first_label(e): -0.5}), "bad_answer"),
    "scores-sum-to-1.5": (lambda e: {**e, "scores": dict.fromkeys(e["scores"], 0.5)}, "bad_answer"),
    "boolean-score": (lambda e: _scores(e, **{_first_label(e): True}), "bad_answer"),
    "label-the-model-lacks": (lambda e: {**e, "label": "EVIL", "scores": {"EVIL": 1.0}}, "bad_answer"),
    "label-outside-scores": (lambda e: {**e, "label": "EVIL"}, "bad_answer"),
    "extra-label": (lambda e: {**e, "scores": {**dict.fromkeys(e["scores"], 0.0), "EVIL": 1.0}}, "bad_answer"),
    "missing-label": (lambda e: {**e, "scores": {_first_label(e): 1.0}}, "bad_answer"),
    "scores-not-a-map": (lambda e: {**e, "scores": list(e["scores"].values())}, "bad_answer"),
    "no-text-binding": (lambda e: {k: v for k, v in e.items() if k != "text_sha256"}, "unbound"),
    "other-artifact": (lambda e: {**e, "digest": "0" * 16}, "other_artifact"),
    "format-true": (lambda e: {**e, "format": True}, "other_artifact"),
    "not-json": (lambda e: b"\x80\x04\x95 pickle-looking bytes \x00\xff", "unparseable"),
    "deeply-nested": (lambda e: b"[" * 20_000 + b"]" * 20_000, "unparseable"),
    "over-the-size-cap": (lambda e: {**e, "padding": "x" * 70_000}, "too_large"),
}


def _serialise(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode()


def _served_lines(output: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(output) if line.get("message") == "prediction served"]


@pytest.fixture
def expected(make_client: Any) -> dict[str, dict[str, Any]]:
    reference = make_client(CACHE_LOCAL_ENTRIES="0")
    return {text: reference.post("/predict", json={"text": text}).json() for text in (TEXT, OTHER_TEXT)}


@pytest.mark.parametrize("local_tier", ["0", "1024"], ids=["redis-only", "with-local-tier"])
@pytest.mark.parametrize("shape", list(POISONED))
def test_poisoned_value_is_a_counted_miss_and_is_overwritten(
    make_client, redis_server, expected, service_output, shape: str, local_tier: str
):
    poison, reason = POISONED[shape]
    writer = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    assert writer.post("/predict", json={"text": TEXT}).json()["cache"] == "MISS"
    (key,) = redis_server.client().keys("pred:*")
    good = json.loads(redis_server.client().get(key))
    redis_server.client().set(key, _serialise(poison(dict(good))))

    client = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES=local_tier)  # a fresh instance
    service_output()
    response = client.post("/predict", json={"text": TEXT})
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    want = expected[TEXT]
    assert (body["cache"], body["label"], body["scores"]) == ("MISS", want["label"], want["scores"])
    assert list(body["scores"]) == list(want["scores"])  # the model's label order, as a fresh answer has it
    (served,) = _served_lines(service_output())
    assert served["cache_rejected"] == {reason: 1}
    assert json.loads(redis_server.client().get(key)) == good  # overwritten with the right value
    assert client.post("/predict", json={"text": TEXT}).json()["cache"] == "HIT"
    assert "cache_rejected" not in _served_lines(service_output())[0]


def test_a_value_copied_under_another_texts_key_is_not_served(make_client, redis_server, expected, service_output):
    client = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    client.post("/predict", json={"text": TEXT})
    (key,) = redis_server.client().keys("pred:*")
    client.post("/predict", json={"text": OTHER_TEXT})
    (other_key,) = set(redis_server.client().keys("pred:*")) - {key}
    good = redis_server.client().get(key)
    redis_server.client().set(key, redis_server.client().get(other_key))  # a valid answer, for another text
    service_output()

    body = client.post("/predict", json={"text": TEXT}).json()
    assert (body["cache"], body["label"], body["scores"]) == ("MISS", expected[TEXT]["label"], expected[TEXT]["scores"])
    assert _served_lines(service_output())[0]["cache_rejected"] == {"other_text": 1}
    assert redis_server.client().get(key) == good


def test_a_key_holding_another_redis_type_is_a_counted_miss_and_is_replaced(
    make_client, redis_server, expected, service_output
):
    client = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    client.post("/predict", json={"text": TEXT})
    (key,) = redis_server.client().keys("pred:*")
    good = redis_server.client().get(key)
    redis_server.client().delete(key)
    redis_server.client().rpush(key, b"not", b"a", b"string")
    service_output()

    body = client.post("/predict", json={"text": TEXT}).json()
    assert (body["cache"], body["scores"]) == ("MISS", expected[TEXT]["scores"])
    assert _served_lines(service_output())[0]["cache_rejected"] == {"unparseable": 1}
    assert redis_server.client().get(key) == good


def test_one_poisoned_value_in_a_batch_costs_only_its_own_item(make_client, redis_server, expected, service_output):
    client = make_client(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")
    client.post("/predict", json={"text": TEXT})
    (key,) = redis_server.client().keys("pred:*")
    client.post("/predict", json={"text": OTHER_TEXT})
    poisoned = {**json.loads(redis_server.client().get(key)), "label": "EVIL", "scores": {"EVIL": 1.0}}
    redis_server.client().set(key, json.dumps(poisoned))
    service_output()

    response = client.post("/predict/batch", json={"texts": [TEXT, OTHER_TEXT]})
    assert response.status_code == 200 and response.headers["x-cache"] == "MIXED"
    results = response.json()["results"]
    assert [item["cache"] for item in results] == ["MISS", "HIT"]
    for item, text in zip(results, (TEXT, OTHER_TEXT), strict=True):
        assert (item["label"], item["scores"]) == (expected[text]["label"], expected[text]["scores"])
    assert _served_lines(service_output())[0]["cache_rejected"] == {"bad_answer": 1}
    again = client.post("/predict/batch", json={"texts": [TEXT, OTHER_TEXT]}).json()["results"]
    assert [item["cache"] for item in again] == ["HIT", "HIT"]


def test_rejections_are_a_cache_rejected_metric(load_handler, lambda_context, redis_server, service_output):
    handler = load_handler(REDIS_URL=redis_server.url, CACHE_LOCAL_ENTRIES="0")

    def invoke(body: dict[str, Any], path: str = "/predict") -> dict[str, Any]:
        response = handler.lambda_handler(http_api_event("POST", path, json.dumps(body)), lambda_context)
        assert response["statusCode"] == 200, response["body"][:300]
        return json.loads(response["body"])

    invoke({"text": TEXT})
    invoke({"text": OTHER_TEXT})
    for key in redis_server.client().keys("pred:*"):
        redis_server.client().set(key, b'{"format":1,"label":"EVIL","scores":{"EVIL":1.0}}')
    service_output()

    body = invoke({"texts": [TEXT, OTHER_TEXT]}, "/predict/batch")
    assert [item["cache"] for item in body["results"]] == ["MISS", "MISS"]
    (document,) = [doc for doc in emf_documents(json_lines(service_output())) if "CacheMisses" in doc]
    assert document["CacheRejected"] == 2
    names = {metric["Name"]: metric["Unit"] for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names["CacheRejected"] == "Count"
    assert invoke({"texts": [TEXT, OTHER_TEXT]}, "/predict/batch")["results"][0]["cache"] == "HIT"
