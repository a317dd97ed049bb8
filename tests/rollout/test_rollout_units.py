"""Module-level checks with botocore Stubber where moto cannot play the part (RevisionId, stacks, races)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools.rollout import aliases, deployments, health
from tools.rollout.aliases import AliasState, Routing, VersionConfig
from tools.rollout.deployments import DeploymentTarget
from tools.rollout.errors import ConflictError, UsageError

REGION = "us-east-1"


def client(name: str) -> Any:
    # Stubbed clients never send anything; credentials only satisfy the signer.
    return boto3.client(name, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


BEFORE = AliasState("fn", "live", Routing("1"), revision_id="rev-1")
UPDATE_PARAMS = {
    "FunctionName": "fn",
    "Name": "live",
    "FunctionVersion": "1",
    "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}},
    "RevisionId": "rev-1",
}


def test_update_alias_sends_revision_id_and_returns_new_state() -> None:
    lam = client("lambda")
    with Stubber(lam) as stub:
        stub.add_response(
            "update_alias",
            {"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}, "RevisionId": "rev-2"},
            expected_params=UPDATE_PARAMS,
        )
        after = aliases.update_alias(lam, BEFORE, Routing("1", {"2": 0.1}))
        stub.assert_no_pending_responses()
    assert after.routing == Routing("1", {"2": 0.1})
    assert after.revision_id == "rev-2"


def test_precondition_failed_becomes_conflict() -> None:
    lam = client("lambda")
    with Stubber(lam) as stub:
        stub.add_client_error(
            "update_alias",
            service_error_code="PreconditionFailedException",
            service_message="The RevisionId provided does not match the latest RevisionId",
            http_status_code=412,
            expected_params=UPDATE_PARAMS,
        )
        with pytest.raises(ConflictError, match="RevisionId rev-1 is stale") as exc:
            aliases.update_alias(lam, BEFORE, Routing("1", {"2": 0.1}))
    assert exc.value.exit_code == 3


def test_other_update_errors_are_not_disguised_as_conflicts() -> None:
    lam = client("lambda")
    with Stubber(lam) as stub:
        stub.add_client_error("update_alias", service_error_code="TooManyRequestsException", http_status_code=429)
        with pytest.raises(Exception, match="TooManyRequests") as exc:
            aliases.update_alias(lam, BEFORE, Routing("1", {"2": 0.1}))
    assert not isinstance(exc.value, ConflictError)


def test_ensure_unchanged_compares_routing_and_revision() -> None:
    aliases.ensure_unchanged(BEFORE, AliasState("fn", "live", Routing("1"), "rev-1"))
    with pytest.raises(ConflictError):
        aliases.ensure_unchanged(BEFORE, AliasState("fn", "live", Routing("1", {"3": 0.05}), "rev-1"))
    with pytest.raises(ConflictError):
        aliases.ensure_unchanged(BEFORE, AliasState("fn", "live", Routing("1"), "rev-2"))


def _cfg(version: str, role: str = "role-a", dlq: str | None = None) -> VersionConfig:
    return VersionConfig(version=version, model_version=f"v{version}", role=role, dead_letter_target=dlq)


@pytest.mark.parametrize(
    ("routing", "configs", "expected"),
    [
        (Routing("1", {"2": 0.5}), {"1": _cfg("1"), "2": _cfg("2")}, []),
        (Routing("1", {"2": 1.0}), {"1": _cfg("1"), "2": _cfg("2")}, ["outside [0, 1)"]),
        (Routing("1", {"2": 0.1, "3": 0.1}), {"1": _cfg("1"), "2": _cfg("2"), "3": _cfg("3")}, ["at most one"]),
        (Routing("1", {"2": 0.1}), {"1": _cfg("1"), "2": _cfg("2", dlq="arn:q")}, ["dead-letter"]),
        (Routing("$LATEST", {}), {}, ["primary version cannot be $LATEST"]),
        (Routing("1", {"2": 0.1}), {"1": _cfg("1"), "2": None}, ["version 2 does not exist"]),
    ],
)
def test_routing_problems(routing: Routing, configs: dict[str, VersionConfig | None], expected: list[str]) -> None:
    problems = aliases.routing_problems(routing, configs)
    assert len(problems) == len(expected), problems
    for fragment, problem in zip(expected, problems, strict=True):
        assert fragment in problem


# --- deployments ----------------------------------------------------------------------------------

TARGET = DeploymentTarget("app", "group", "flags")


def test_active_deployments_asks_for_unfinished_statuses_and_rechecks_them() -> None:
    cd = client("codedeploy")
    with Stubber(cd) as stub:
        stub.add_response(
            "list_deployments",
            {"deployments": ["d-1", "d-2"]},
            expected_params={
                "applicationName": "app",
                "deploymentGroupName": "group",
                "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Baking", "Ready"],
            },
        )
        stub.add_response(
            "batch_get_deployments",
            {
                "deploymentsInfo": [
                    {"deploymentId": "d-1", "status": "Succeeded"},  # finished between the two calls
                    {
                        "deploymentId": "d-2",
                        "status": "InProgress",
                        "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
                        "createTime": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
                        "creator": "user",
                    },
                ]
            },
            expected_params={"deploymentIds": ["d-1", "d-2"]},
        )
        found = deployments.active_deployments(cd, TARGET)
        stub.assert_no_pending_responses()
    assert [d.deployment_id for d in found] == ["d-2"]
    assert "LambdaCanary10Percent5Minutes" in found[0].describe()
    assert found[0].create_time == "2026-01-02T03:04:00+00:00"


def test_active_deployments_batches_by_25() -> None:
    cd = client("codedeploy")
    ids = [f"d-{i}" for i in range(30)]
    with Stubber(cd) as stub:
        stub.add_response("list_deployments", {"deployments": ids})
        stub.add_response("batch_get_deployments", {"deploymentsInfo": []}, {"deploymentIds": ids[:25]})
        stub.add_response("batch_get_deployments", {"deploymentsInfo": []}, {"deploymentIds": ids[25:]})
        assert deployments.active_deployments(cd, TARGET) == []
        stub.assert_no_pending_responses()


def _resource(logical: str, physical: str, kind: str) -> dict[str, Any]:
    return {
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "LastUpdatedTimestamp": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "ResourceStatus": "UPDATE_COMPLETE",
    }


SAM_STACK = [
    _resource("InferenceFunction", "sentiment-inference", "AWS::Lambda::Function"),
    _resource("OtherFunction", "other-fn", "AWS::Lambda::Function"),
    _resource(
        "ServerlessDeploymentApplication", "stack-ServerlessDeploymentApplication-X1", "AWS::CodeDeploy::Application"
    ),
    _resource(
        "InferenceFunctionDeploymentGroup",
        "stack-InferenceFunctionDeploymentGroup-Y2",
        "AWS::CodeDeploy::DeploymentGroup",
    ),
    _resource(
        "OtherFunctionDeploymentGroup", "stack-OtherFunctionDeploymentGroup-Z3", "AWS::CodeDeploy::DeploymentGroup"
    ),
]


def test_target_from_sam_stack_picks_the_functions_own_group() -> None:
    cfn = client("cloudformation")
    with Stubber(cfn) as stub:
        stub.add_response("list_stack_resources", {"StackResourceSummaries": SAM_STACK}, {"StackName": "stack"})
        target = deployments.target_from_stack(cfn, "stack", "sentiment-inference")
    assert target == DeploymentTarget(
        "stack-ServerlessDeploymentApplication-X1", "stack-InferenceFunctionDeploymentGroup-Y2", "stack stack"
    )


def test_target_from_stack_without_codedeploy_is_a_usage_error() -> None:
    cfn = client("cloudformation")
    with Stubber(cfn) as stub:
        stub.add_response("list_stack_resources", {"StackResourceSummaries": SAM_STACK[:2]}, {"StackName": "stack"})
        with pytest.raises(UsageError, match="--codedeploy-app"):
            deployments.target_from_stack(cfn, "stack", "sentiment-inference")


# --- health ---------------------------------------------------------------------------------------


def test_health_combines_split_periods_conservatively() -> None:
    cw = client("cloudwatch")
    window = health.Window.last_minutes(15, now=dt.datetime(2026, 1, 1, 12, 0, 30, tzinfo=dt.UTC))
    dims = health.version_dimensions("fn", "live", "4")
    base = {
        "Namespace": "AWS/Lambda",
        "Dimensions": dims,
        "StartTime": window.start,
        "EndTime": window.end,
        "Period": 900,
    }
    ts = dt.datetime(2026, 1, 1, 11, 50, tzinfo=dt.UTC)
    with Stubber(cw) as stub:
        stub.add_response(
            "get_metric_statistics",
            {"Datapoints": [{"Timestamp": ts, "Sum": 30.0}, {"Timestamp": ts, "Sum": 10.0}]},
            {**base, "MetricName": "Invocations", "Statistics": ["Sum"]},
        )
        stub.add_response(
            "get_metric_statistics", {"Datapoints": []}, {**base, "MetricName": "Errors", "Statistics": ["Sum"]}
        )
        stub.add_response(
            "get_metric_statistics",
            {
                "Datapoints": [
                    {"Timestamp": ts, "Average": 10.0, "SampleCount": 30.0, "ExtendedStatistics": {"p99": 50.0}},
                    {"Timestamp": ts, "Average": 50.0, "SampleCount": 10.0, "ExtendedStatistics": {"p99": 200.0}},
                ]
            },
            {
                **base,
                "MetricName": "Duration",
                "Statistics": ["Average", "SampleCount"],
                "ExtendedStatistics": ["p99"],
            },
        )
        result = health.version_health(cw, "fn", "live", "4", window)
    assert window.start == dt.datetime(2026, 1, 1, 11, 45, tzinfo=dt.UTC)
    assert result.invocations == 40
    assert result.errors == 0
    assert result.error_rate == 0
    assert result.duration_avg_ms == pytest.approx(20.0)  # (10*30 + 50*10) / 40
    assert result.duration_p99_ms == 200.0
    assert dims == [
        {"Name": "FunctionName", "Value": "fn"},
        {"Name": "Resource", "Value": "fn:live"},
        {"Name": "ExecutedVersion", "Value": "4"},
    ]
