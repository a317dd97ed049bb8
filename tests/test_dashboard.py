"""The CloudWatch dashboard and alarms in template.yaml read only metrics the service really emits.

CloudWatch matches a metric by namespace, name and its EXACT set of dimension names: a widget or alarm
that asks for [model_version] when the service emits [model_version, service] shows nothing, silently.
So the template is read here (no AWS), the dashboard body (an Fn::Sub JSON string) is resolved with test
values, and every metric its custom-namespace widgets and the alarms read - plain metrics and the schema
{namespace, dimensions...} + MetricName of each SEARCH - must be among the (namespace, name, dimension
set) triples the real handler prints as EMF documents for requests that produce every metric. Renaming a
metric or a dimension in serving/observability.py without the template (or the reverse) fails here.

The AWS/Lambda and AWS/ApiGateway metrics cannot be exercised offline; they are checked against the
dimension sets AWS publishes them with, and against the function and API this template creates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from devsupport.events import rest_event
from devsupport.ports import free_port
from tests.conftest import ROOT, json_lines

TEMPLATE = ROOT / "template.yaml"

# Test values for the substitutions; the custom namespace and the service get sentinels, so a literal
# namespace or service name written into the dashboard instead of the parameter is caught.
NAMESPACE = "Sentinel-Namespace"
SERVICE = "sentinel-service"
FUNCTION = "teststack-InferenceFunction-AbC123"
STACK = "teststack"
REGION = "eu-west-1"

# The sets AWS publishes these with (Lambda: per function, per alias or version, per version an alias
# executed; API Gateway REST: per API and stage - the per-method detailed sets are not used here).
LAMBDA_DIMENSION_SETS = {
    frozenset({"FunctionName"}),
    frozenset({"FunctionName", "Resource"}),
    frozenset({"FunctionName", "Resource", "ExecutedVersion"}),
}
API_DIMENSION_SETS = {frozenset({"ApiName", "Stage"})}


# ---- the template ------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, !GetAtt, ...) as their long forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    key = suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)


def substitution_values(template: dict[str, Any]) -> dict[str, str]:
    """What each ${...} of an Fn::Sub stands for, with test values."""
    values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    values.update(MetricsNamespace=NAMESPACE, ServiceName=SERVICE)
    values.update({"AWS::Region": REGION, "AWS::StackName": STACK, "AWS::Partition": "aws"})
    for name in template["Resources"]:
        values[name] = f"ref-{name}"
        values[f"{name}.Arn"] = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{STACK}-{name}"
    values["InferenceFunction"] = FUNCTION
    return values


_PLACEHOLDER = re.compile(r"\$\{(!?)([^}]*)\}")


def sub(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1):  # ${!Literal} is Fn::Sub's escape for a literal ${Literal}
            return "${" + match.group(2) + "}"
        assert match.group(2) in values, f"Fn::Sub names ${{{match.group(2)}}}, which the template does not define"
        return values[match.group(2)]

    return _PLACEHOLDER.sub(replace, text)


def resolve(node: Any, values: dict[str, str], conditions: dict[str, bool]) -> Any:
    """The intrinsic functions the dashboard and alarms use, evaluated with test values."""
    if isinstance(node, dict) and len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref":
            return values[arg]
        if key == "Fn::GetAtt":  # e.g. InferenceFunction.Version.Version (a SAM attribute): any stand-in
            return values.get(".".join(arg), "getatt-" + ".".join(arg))
        if key == "Fn::If":
            condition, if_true, if_false = arg
            return resolve(if_true if conditions[condition] else if_false, values, conditions)
        if key == "Fn::Sub":
            if isinstance(arg, str):
                return sub(arg, values)
            text, variables = arg
            local = {**values, **{k: resolve(v, values, conditions) for k, v in variables.items()}}
            return sub(text, local)
    if isinstance(node, dict):
        return {k: resolve(v, values, conditions) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, values, conditions) for v in node]
    return node


def dashboard_body(template: dict[str, Any], shared_cache: bool = True) -> dict[str, Any]:
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    raw = resolve(
        dashboard["Properties"]["DashboardBody"], substitution_values(template), {"UseSharedCache": shared_cache}
    )
    assert isinstance(raw, str), "DashboardBody must resolve to a JSON string"
    try:
        return json.loads(raw)
    except ValueError as error:
        pytest.fail(f"DashboardBody is not valid JSON after substitution: {error}\n{raw}")


# ---- metrics a dashboard or alarm reads -------------------------------------------------------------


@dataclass(frozen=True)
class MetricRef:
    namespace: str
    name: str
    dimensions: frozenset[str]
    filters: tuple[tuple[str, str], ...]  # dimension values (plain metrics) or exact-match terms (SEARCH)
    where: str

    @property
    def triple(self) -> tuple[str, str, frozenset[str]]:
        return (self.namespace, self.name, self.dimensions)


_SEARCH = re.compile(r"SEARCH\(\s*'(?P<query>[^']*)'\s*,\s*'(?P<stat>[^']+)'")
_SCHEMA = re.compile(r"^\s*\{(?P<schema>[^}]*)\}(?P<terms>.*)$", re.DOTALL)
_EXACT_TERM = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')


def search_metrics(expression: str, where: str) -> list[MetricRef]:
    found = []
    for match in _SEARCH.finditer(expression):
        schema = _SCHEMA.match(match.group("query"))
        assert schema, f"{where}: SEARCH without a {{namespace, dimensions}} schema cannot be checked: {expression}"
        namespace, *dimensions = [part.strip().strip('"') for part in schema.group("schema").split(",")]
        terms = _EXACT_TERM.findall(schema.group("terms"))
        names = [value for key, value in terms if key == "MetricName"]
        assert names, f'{where}: SEARCH without an exact MetricName="..." cannot be checked: {expression}'
        filters = tuple((key, value) for key, value in terms if key != "MetricName")
        found += [MetricRef(namespace, name, frozenset(dimensions), filters, where) for name in names]
    return found


def widget_metrics(body: dict[str, Any]) -> list[MetricRef]:
    found = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        where = f"widget {widget['properties'].get('title')!r}"
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):
                found += search_metrics(entry[0]["expression"], where)
                continue
            fields = entry[:-1] if isinstance(entry[-1], dict) else entry
            assert "..." not in fields and "." not in fields, f"{where}: write metrics out in full, no shorthand"
            namespace, name, *pairs = fields
            dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
            found.append(MetricRef(namespace, name, frozenset(dimensions), tuple(dimensions.items()), where))
    return found


def alarm_metrics(template: dict[str, Any]) -> list[MetricRef]:
    values = substitution_values(template)
    conditions = {"UseSharedCache": True, "CreateAlarmTopic": False, "HasAlarmTopicArn": False, "NotifyAlarms": False}
    found = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        specs = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
        if "MetricName" in props:
            specs.append(props)
        for spec in specs:
            namespace = resolve(spec["Namespace"], values, conditions)
            dimensions = {d["Name"]: str(resolve(d["Value"], values, conditions)) for d in spec.get("Dimensions", [])}
            found.append(
                MetricRef(namespace, spec["MetricName"], frozenset(dimensions), tuple(dimensions.items()), name)
            )
    return found


# ---- metrics the service emits ----------------------------------------------------------------------


def _event(path: str, body: Any = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Host": "abc.execute-api.eu-west-1.amazonaws.com"}
    return rest_event("POST", path, json.dumps(body), headers=headers, query=query, request_id="req-dashboard")


# Every knob a scenario sets, so that one scenario's environment never leaks into the next.
_BASE_ENV = {
    "SHADOW_VERSION": "",
    "REDIS_URL": "",
    "CACHE_LOCAL_ENTRIES": "1024",
    "CANARY_VERSION": "",
    "CANARY_PERCENT": "0",
}


@pytest.fixture
def emitted(load_handler, lambda_context, service_output, models_copy: Path, monkeypatch) -> set[tuple]:
    """(namespace, metric name, dimension set) of every EMF document printed while serving requests that
    produce every metric: a cold start, MISS, HIT, a fallback, a batch, shadow agreement, a broken
    shadow, a cache BYPASS (Redis configured but refusing connections) and a 503."""
    from aws_lambda_powertools.metrics.provider import cold_start

    from serving.observability import NAMESPACE as EMITTED_NAMESPACE

    monkeypatch.setattr(cold_start, "is_cold_start", True)
    outcomes: list[tuple[str, str]] = []

    def serve(env: dict[str, str], *events: dict[str, Any]) -> list[dict[str, Any]]:
        handler = load_handler(**{**_BASE_ENV, **env})
        answers = []
        for event in events:
            response = handler.lambda_handler(event, lambda_context)
            body = json.loads(response["body"])
            answers.append(body)
            outcomes.append((str(response["statusCode"]), body.get("cache") or body.get("error", "")))
        return answers

    text = {"text": "the dashboard should show this"}
    _, _, fallback, _ = serve(
        {},
        _event("/predict", text),  # cold start, MISS
        _event("/predict", text),  # HIT (in-process tier)
        _event("/predict", text, {"model_version": "v9"}),  # a missing version falls back to the default
        _event("/predict/batch", {"texts": ["one", "two"]}),
    )
    assert fallback["routing"] == "fallback"
    serve({"SHADOW_VERSION": "v2"}, _event("/predict", {"text": "shadowed"}))
    (models_copy / "v2" / "model.ltm").write_bytes(b"tampered")
    serve({"SHADOW_VERSION": "v2", "MODELS_DIR": str(models_copy)}, _event("/predict", {"text": "shadow fails"}))
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: every shared-cache call fails at once
    serve({"REDIS_URL": closed, "CACHE_LOCAL_ENTRIES": "0"}, _event("/predict", {"text": "redis is down"}))
    (models_copy / "v1" / "model.ltm").unlink()
    serve({"MODELS_DIR": str(models_copy)}, _event("/predict", text))  # the default model cannot load: 503

    for expected in (("200", "MISS"), ("200", "HIT"), ("200", "BYPASS"), ("503", "model_unavailable")):
        assert expected in outcomes, f"scenario did not produce {expected}: {outcomes}"

    triples = set()
    for document in json_lines(service_output()):
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == EMITTED_NAMESPACE
            for dimension_set in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    triples.add((directive["Namespace"], metric["Name"], frozenset(dimension_set)))
    assert triples, "no EMF document captured"
    return triples


def _service_triples(refs: list[MetricRef]) -> set[tuple]:
    """The custom-namespace metrics read, in the namespace the code emits under (the template's
    MetricsNamespace, set on the function as POWERTOOLS_METRICS_NAMESPACE; see the next test)."""
    from serving.observability import NAMESPACE as EMITTED_NAMESPACE

    return {(EMITTED_NAMESPACE, ref.name, ref.dimensions) for ref in refs if ref.namespace == NAMESPACE}


# ---- tests ------------------------------------------------------------------------------------------


def test_dashboard_and_alarms_read_only_metrics_the_service_emits(template, emitted):
    refs = widget_metrics(dashboard_body(template)) + alarm_metrics(template)
    read = _service_triples(refs)
    assert read, "no widget or alarm reads the service's namespace"
    missing = sorted((name, sorted(dims)) for _, name, dims in read - emitted)
    emitted_list = sorted((name, sorted(dims)) for _, name, dims in emitted)
    assert not missing, f"read but never emitted (name, dimensions): {missing}\nemitted: {emitted_list}"


def test_the_namespace_and_service_come_from_the_parameters_the_function_uses(template):
    """Every non-AWS namespace in the dashboard and alarms is MetricsNamespace, every service filter is
    ServiceName - the very parameters the function's Powertools environment is set from - and their
    defaults are what the code emits without configuration."""
    from serving.observability import NAMESPACE as EMITTED_NAMESPACE
    from serving.observability import SERVICE_NAME as EMITTED_SERVICE

    env = template["Resources"]["InferenceFunction"]["Properties"]["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    assert env["POWERTOOLS_SERVICE_NAME"] == {"Ref": "ServiceName"}
    defaults = {name: template["Parameters"][name]["Default"] for name in ("MetricsNamespace", "ServiceName")}
    assert defaults == {"MetricsNamespace": EMITTED_NAMESPACE, "ServiceName": EMITTED_SERVICE}

    for ref in widget_metrics(dashboard_body(template)) + alarm_metrics(template):
        assert ref.namespace.startswith("AWS/") or ref.namespace == NAMESPACE, f"{ref.where}: {ref.namespace}"
        if ref.namespace == NAMESPACE:
            assert dict(ref.filters).get("service") == SERVICE, f"{ref.where}: {ref.name} not filtered by ServiceName"


def test_aws_metrics_use_the_dimension_sets_aws_publishes(template):
    api = template["Resources"]["Api"]["Properties"]
    assert api["Name"] == {"Fn::Sub": "${AWS::StackName}-api"} and api["StageName"] == {"Ref": "StageName"}
    stage = str(template["Parameters"]["StageName"]["Default"])
    refs = widget_metrics(dashboard_body(template)) + alarm_metrics(template)
    for ref in refs:
        filters = dict(ref.filters)
        if ref.namespace == "AWS/Lambda":
            assert ref.dimensions in LAMBDA_DIMENSION_SETS, f"{ref.where}: {ref.name} {sorted(ref.dimensions)}"
            assert filters["FunctionName"] == FUNCTION, f"{ref.where}: another function"
            assert filters.get("Resource", f"{FUNCTION}:live") == f"{FUNCTION}:live", f"{ref.where}: not the live alias"
        elif ref.namespace == "AWS/ApiGateway":
            assert ref.dimensions in API_DIMENSION_SETS, f"{ref.where}: {ref.name} {sorted(ref.dimensions)}"
            assert filters == {"ApiName": f"{STACK}-api", "Stage": stage}, f"{ref.where}: another API or stage"
        else:
            assert ref.namespace == NAMESPACE, f"{ref.where}: unexpected namespace {ref.namespace}"


def test_dashboard_shows_what_issue_12_asks_for(template):
    refs = widget_metrics(dashboard_body(template))
    by_version = {ref.name for ref in refs if ref.namespace == NAMESPACE and "model_version" in ref.dimensions}
    assert {"Predictions", "CacheHits", "CacheMisses", "CacheBypasses", "Fallbacks", "InferenceLatency"} <= by_version
    lambda_metrics = {(ref.name, ref.dimensions) for ref in refs if ref.namespace == "AWS/Lambda"}
    for name in ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"):
        assert (name, frozenset({"FunctionName", "Resource"})) in lambda_metrics, f"{name} of the live alias"
    for name in ("Invocations", "Errors", "Duration"):
        assert (name, frozenset({"FunctionName", "Resource", "ExecutedVersion"})) in lambda_metrics, name
    api_metrics = {ref.name for ref in refs if ref.namespace == "AWS/ApiGateway"}
    assert {"4XXError", "5XXError", "Latency"} <= api_metrics
    body = json.dumps(dashboard_body(template))
    assert "'p50'" in body and "'p99'" in body and '"stat": "p50"' in body and '"stat": "p99"' in body


@pytest.mark.parametrize("shared_cache", [True, False], ids=["shared-cache", "no-shared-cache"])
def test_dashboard_body_is_well_formed(template, shared_cache: bool):
    body = dashboard_body(template, shared_cache)
    cells: set[tuple[int, int]] = set()
    for widget in body["widgets"]:
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        assert x >= 0 and x + width <= 24, f"widget outside the 24-column grid: {widget['properties']}"
        area = {(col, row) for col in range(x, x + width) for row in range(y, y + height)}
        assert not cells & area, f"widgets overlap at {sorted(cells & area)[:3]}"
        cells |= area
        props = widget["properties"]
        if widget["type"] == "metric":
            assert props["region"] == REGION
            ids = [entry[-1]["id"] for entry in props["metrics"] if isinstance(entry[-1], dict) and "id" in entry[-1]]
            assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][A-Za-z0-9_]*", i) for i in ids), ids
            for entry in props["metrics"]:
                expression = entry[0].get("expression", "") if isinstance(entry[0], dict) else ""
                if expression and "SEARCH(" not in expression:  # math over other lines: they must exist
                    assert set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", expression)) <= set(ids), expression
        if widget["type"] == "alarm":
            cache_alarm = any(arn.endswith("-CacheUnavailableAlarm") for arn in props["alarms"])
            assert cache_alarm == shared_cache  # the cache alarm exists only with a shared cache


def test_alarm_math_is_well_formed(template):
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm" or "Metrics" not in resource["Properties"]:
            continue
        queries = resource["Properties"]["Metrics"]
        ids = {query["Id"] for query in queries}
        assert [query.get("ReturnData", True) for query in queries].count(True) == 1, f"{name}: one result"
        for query in queries:
            if "Expression" in query:
                expression = resolve(query["Expression"], substitution_values(template), {})
                assert "SEARCH" not in expression, f"{name}: alarms cannot use SEARCH"
                assert set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", expression)) <= ids, f"{name}: {expression}"
