"""The operator CLI end to end against moto: output, changes, every refusal and its exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.rollout.world import CD_FLAGS, FN, REGION, CliResult, World

Run = Callable[..., CliResult]


# --- status ---------------------------------------------------------------------------------------


def test_status_reports_each_version_with_weight_model_and_its_own_metrics(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.1})
    world.put_version_metrics("1", invocations=90, errors=0, durations=[30.0, 50.0])
    world.put_version_metrics("2", invocations=10, errors=2, durations=[80.0])

    res = run("status", "--json")  # global flag after the command, as with the AWS CLI

    assert res.code == 0, res.err
    data = res.json
    assert data["primary_version"] == "1"
    assert data["canary"] == {"version": "2", "weight": 0.1}
    by_version = {v["version"]: v for v in data["versions"]}
    assert list(by_version) == ["1", "2"]
    assert by_version["1"]["weight"] == pytest.approx(0.9)
    assert by_version["1"]["model_version"] == "v1"
    assert by_version["1"]["invocations"] == 90
    assert by_version["1"]["errors"] == 0
    assert by_version["1"]["duration_avg_ms"] == pytest.approx(40.0)
    assert by_version["2"]["model_version"] == "v2"
    assert by_version["2"]["invocations"] == 10
    assert by_version["2"]["errors"] == 2
    assert by_version["2"]["error_rate"] == pytest.approx(0.2)
    assert by_version["2"]["duration_avg_ms"] == pytest.approx(80.0)
    assert by_version["2"]["duration_p99_ms"] is None  # moto returns no percentiles
    assert data["codedeploy"] is None
    assert data["problems"] == []


def test_status_text_is_readable(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.25})
    world.put_version_metrics("2", invocations=4, errors=1, durations=[12.5])

    res = run("status", *CD_FLAGS)

    assert res.code == 0, res.err
    assert "sentiment-inference:live" in res.out
    assert "canary: version 2 at 25%" in res.out
    rows = {line.split()[0]: line.split() for line in res.out.splitlines() if line.startswith("  ") and line.split()}
    assert rows["1"][1:3] == ["75%", "v1"]
    assert rows["2"][1:6] == ["25%", "v2", "4", "1", "25%"]
    assert "no deployment in progress" in res.out


def test_status_ignores_metrics_of_other_aliases(world: World, run: Run) -> None:
    world.put_version_metrics("1", invocations=7, errors=0, durations=[10.0])
    world.put_version_metrics("1", invocations=1000, errors=500, durations=[999.0], alias="staging")

    data = run("status", "--json").json

    assert data["versions"][0]["invocations"] == 7
    assert data["versions"][0]["errors"] == 0


def test_status_flags_a_stored_routing_that_aws_would_reject(world: World, run: Run) -> None:
    world.set_routing("1", {"9": 1.5})  # moto stores it; AWS would not

    res = run("status", "--json")

    assert res.code == 0
    problems = " | ".join(res.json["problems"])
    assert "version 9 does not exist" in problems
    assert "outside [0, 1)" in problems


# --- canary ---------------------------------------------------------------------------------------


def test_canary_starts_and_changes_percent(world: World, run: Run) -> None:
    res = run("canary", "--version", "2", "--percent", "10", *CD_FLAGS, "--json")
    assert res.code == 0, res.out + res.err
    assert world.alias() == {"primary": "1", "weights": {"2": 0.1}}
    assert res.json["changed"] is True
    assert res.json["canary"] == {"version": "2", "weight": 0.1}
    assert res.json["model_versions"] == {"1": "v1", "2": "v2"}

    res = run("canary", "--version", "2", "--percent", "25", *CD_FLAGS)
    assert res.code == 0, res.err
    assert world.alias() == {"primary": "1", "weights": {"2": 0.25}}
    assert "before: version 1 (90%) + version 2 (10%)" in res.out
    assert "after:  version 1 (75%) + version 2 (25%)" in res.out

    res = run("canary", "--version", "2", "--percent", "25", *CD_FLAGS, "--json")
    assert res.code == 0
    assert res.json["changed"] is False


def test_canary_at_zero_percent_is_allowed(world: World, run: Run) -> None:
    assert run("canary", "--version", "3", "--percent", "0", *CD_FLAGS).code == 0
    assert world.alias() == {"primary": "1", "weights": {"3": 0.0}}


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("9", "version 9 does not exist"),
        ("1", "alias's own primary version"),
    ],
)
def test_canary_refuses_what_aws_would_reject(world: World, run: Run, version: str, message: str) -> None:
    # Percent range and version format are refused before any AWS call (test_rollout_arguments.py);
    # these need the alias and the published versions.
    res = run("canary", "--version", version, "--percent", "10", *CD_FLAGS, "--json")

    assert res.code == 2
    assert res.json["ok"] is False
    assert res.json["error"] == "validation"
    assert message in res.json["message"]
    assert message in res.err
    assert world.alias() == {"primary": "1", "weights": {}}


def test_second_additional_version_is_refused(world: World, run: Run) -> None:
    assert run("canary", "--version", "2", "--percent", "10", *CD_FLAGS).code == 0

    res = run("canary", "--version", "3", "--percent", "5", *CD_FLAGS)

    assert res.code == 2
    assert "at most one additional version" in res.err
    assert world.alias() == {"primary": "1", "weights": {"2": 0.1}}


def test_version_with_another_execution_role_is_refused(world: World, run: Run) -> None:
    other = world.publish("v4", role_arn=world.new_role("other-role"))

    res = run("canary", "--version", other, "--percent", "10", *CD_FLAGS)

    assert res.code == 2
    assert "different execution roles" in res.err
    assert world.alias()["weights"] == {}


# --- promote / rollback ---------------------------------------------------------------------------


def test_promote_moves_everything_to_the_canary(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.1})

    res = run("promote", *CD_FLAGS, "--json")

    assert res.code == 0, res.out
    assert world.alias() == {"primary": "2", "weights": {}}
    assert res.json["before"]["primary_version"] == "1"
    assert res.json["after"]["versions"] == [{"version": "2", "weight": 1.0}]
    assert res.json["model_versions"] == {"2": "v2"}


def test_promote_refuses_without_a_canary_or_with_another_one(world: World, run: Run) -> None:
    res = run("promote", *CD_FLAGS)
    assert res.code == 2
    assert "nothing to promote" in res.err

    world.set_routing("1", {"2": 0.1})
    res = run("promote", "--version", "3", *CD_FLAGS)
    assert res.code == 2
    assert "the canary is version 2, not 3" in res.err
    assert world.alias() == {"primary": "1", "weights": {"2": 0.1}}


def test_rollback_drops_the_canary_and_is_idempotent(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.3})

    res = run("rollback", *CD_FLAGS)
    assert res.code == 0, res.err
    assert world.alias() == {"primary": "1", "weights": {}}
    assert "after:  version 1 (100%)" in res.out

    res = run("rollback", *CD_FLAGS, "--json")
    assert res.code == 0
    assert res.json["changed"] is False


# --- conflicts ------------------------------------------------------------------------------------


def _stale_revision_session(sent: list[dict[str, Any]]) -> boto3.Session:
    """A session whose UpdateAlias answers as Lambda does for a stale RevisionId (moto never does).

    Everything else still goes to moto; the request's API parameters are recorded in ``sent``.
    """

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    def precondition_failed(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": "PreconditionFailedException", "Message": "The Revision Id provided does not match"}
        return AWSResponse("https://lambda", 412, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 412},
        }

    session = boto3.Session(region_name=REGION)
    session.events.register("before-parameter-build.lambda.UpdateAlias", record)
    session.events.register("before-call.lambda.UpdateAlias", precondition_failed)
    return session


def test_stale_revision_id_is_a_conflict_with_exit_3(world: World, run: Run) -> None:
    revision = world.lam.get_alias(FunctionName=FN, Name="live")["RevisionId"]
    sent: list[dict[str, Any]] = []

    res = run("canary", "--version", "2", "--percent", "10", *CD_FLAGS, "--json", session=_stale_revision_session(sent))

    assert res.code == 3
    assert res.json["error"] == "conflict"
    assert "RevisionId" in res.json["message"]
    assert len(sent) == 1
    assert sent[0]["RevisionId"] == revision  # the RevisionId of our own read was sent
    assert sent[0]["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
    assert world.alias() == {"primary": "1", "weights": {}}


def test_alias_changed_between_read_and_write_is_refused(world: World, run: Run) -> None:
    """Optimistic re-read: another operator starts a canary while we validate (moto keeps RevisionId)."""
    other_operator = boto3.client("lambda", region_name=REGION)
    calls = {"n": 0}

    def after_get_alias(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            other_operator.update_alias(
                FunctionName=FN,
                Name="live",
                FunctionVersion="1",
                RoutingConfig={"AdditionalVersionWeights": {"3": 0.05}},
            )

    session = boto3.Session(region_name=REGION)
    session.events.register("after-call.lambda.GetAlias", after_get_alias)

    res = run("canary", "--version", "2", "--percent", "10", *CD_FLAGS, session=session)

    assert res.code == 3
    assert "changed since it was read" in res.err
    assert world.alias() == {"primary": "1", "weights": {"3": 0.05}}  # the other operator's change stands


# --- CodeDeploy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["canary", "--version", "2", "--percent", "10"], ["rollback"], ["promote"]])
def test_refused_while_codedeploy_deploys_and_forced_with_force(world: World, run: Run, command: list[str]) -> None:
    world.set_routing("1", {"3": 0.2})
    deployment_id = world.start_deployment()
    if command[0] == "canary":
        world.set_routing("1", {})

    before = world.alias()
    res = run(*command, *CD_FLAGS, "--json")

    assert res.code == 3
    assert res.json["error"] == "deployment_in_progress"
    assert deployment_id in res.json["message"]
    assert "status Created" in res.json["message"]
    assert world.alias() == before

    res = run(*command, *CD_FLAGS, "--force", "--json")

    assert res.code == 0, res.out
    assert res.json["changed"] is True
    assert any(deployment_id in w for w in res.json["warnings"])
    assert world.alias() != before


def test_status_shows_the_deployment_in_progress(world: World, run: Run) -> None:
    deployment_id = world.start_deployment()

    res = run("status", *CD_FLAGS, "--json")
    assert res.json["codedeploy"]["active_deployments"][0]["deployment_id"] == deployment_id

    res = run("status", *CD_FLAGS)
    assert "DEPLOYMENT IN PROGRESS" in res.out
    assert deployment_id in res.out


def test_changes_need_a_way_to_check_codedeploy_or_force(world: World, run: Run) -> None:
    res = run("canary", "--version", "2", "--percent", "10")
    assert res.code == 2
    assert "--stack-name" in res.err
    assert world.alias()["weights"] == {}

    res = run("canary", "--version", "2", "--percent", "10", "--force", "--json")
    assert res.code == 0
    assert "skipped" in res.json["warnings"][0]
    assert world.alias()["weights"] == {"2": 0.1}


def test_codedeploy_app_without_group_is_a_usage_error(world: World, run: Run) -> None:
    res = run("rollback", "--codedeploy-app", "x")
    assert res.code == 2
    assert "go together" in res.err


# --- usage and AWS errors -------------------------------------------------------------------------


def test_missing_alias_is_an_aws_error(world: World, run: Run) -> None:
    res = run("status", "--alias", "nope")
    assert res.code == 1
    assert "ResourceNotFoundException" in res.err


def test_missing_function_name_is_a_usage_error(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.rollout.cli import main

    assert main(["status"]) == 2
    assert "FUNCTION_NAME" in capsys.readouterr().err


def test_function_name_from_environment(world: World, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from tools.rollout.cli import main

    monkeypatch.setenv("FUNCTION_NAME", FN)
    assert main(["status", "--json"]) == 0
    assert '"function_name": "sentiment-inference"' in capsys.readouterr().out


def test_argparse_errors_exit_2(world: World, run: Run) -> None:
    res = run("canary", "--version", "2")  # --percent missing

    assert res.code == 2
    assert res.out == ""
    assert "usage: python -m tools.rollout canary" in res.err
    assert "the following arguments are required: --percent" in res.err
