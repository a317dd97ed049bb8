"""A routing stored around the CLI (moto accepts anything) is never "nothing to change".

When the requested routing equals the stored one, the stored routing is validated first; an invalid
one is refused (exit 2) and named. A change that replaces an invalid routing says so on stderr.
"""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest

from tests.rollout.world import CD_FLAGS, FN, REGION, CliResult, World
from tools.rollout import operations
from tools.rollout.aliases import AliasState, Routing
from tools.rollout.clients import Clients
from tools.rollout.errors import ValidationError

Run = Callable[..., CliResult]

# (stored primary, stored weights, a command whose requested routing is exactly the stored one, problem).
# moto does refuse an alias on a version that does not exist, so that primary is not among them.
SAME_AS_STORED = [
    ("1", {"1": 0.1}, ("canary", "--version", "1", "--percent", "10"), "alias's own primary version"),
    ("1", {"2": 0.1, "3": 0.1}, ("canary", "--version", "2", "--percent", "10"), "at most one additional version"),
    ("1", {"9": 0.1}, ("canary", "--version", "9", "--percent", "10"), "version 9 does not exist"),
    ("$LATEST", {}, ("rollback",), "primary version cannot be $LATEST"),
]


@pytest.mark.parametrize(("primary", "weights", "command", "problem"), SAME_AS_STORED)
def test_invalid_stored_routing_is_not_nothing_to_change(
    world: World, run: Run, primary: str, weights: dict[str, float], command: tuple[str, ...], problem: str
) -> None:
    world.set_routing(primary, weights)

    res = run(*command, *CD_FLAGS, "--output", "json")

    assert res.code == 2, res.out
    assert res.json["ok"] is False
    assert res.json["error"] == "validation"
    assert "but that stored routing is invalid (AWS would reject it)" in res.json["message"]
    assert problem in res.json["message"]
    assert "Nothing was changed" in res.json["message"]
    assert res.err.startswith("error: refused: ")
    assert world.alias() == {"primary": primary, "weights": weights}


def test_different_execution_role_in_stored_routing_is_refused(world: World, run: Run) -> None:
    other = world.publish("v4", role_arn=world.new_role("other-role"))
    world.set_routing("1", {other: 0.1})

    res = run("canary", "--version", other, "--percent", "10", *CD_FLAGS)

    assert res.code == 2
    assert res.out == ""
    assert "stored routing is invalid" in res.err and "different execution roles" in res.err


@pytest.mark.parametrize(
    ("primary", "weights", "problem"),
    [
        ("1", {"2": 1.5}, "weight 1.5 for version 2 is outside [0, 1)"),
        ("1", {"2": 1.0}, "weight 1.0 for version 2 is outside [0, 1)"),
        ("1", {"1": 0.1}, "alias's own primary version"),
        ("1", {"2": 0.1, "3": 0.1}, "at most one additional version"),
        ("$LATEST", {"2": 0.1}, "cannot be $LATEST"),
    ],
)
def test_apply_validates_the_stored_routing_before_nothing_to_change(
    world: World, primary: str, weights: dict[str, float], problem: str
) -> None:
    """The shortcut itself, with a plan that asks for exactly what is stored (weights no CLI flag can ask for)."""
    world.set_routing(primary, weights)
    clients = Clients(session=boto3.Session(region_name=REGION))
    target = operations.Target(FN, "live", codedeploy_app="a", codedeploy_group="g")

    def keep(state: AliasState) -> Routing:
        return state.routing

    with pytest.raises(ValidationError, match="stored routing is invalid") as exc:
        operations.apply(clients, target, "canary", keep, force=False)
    assert problem in str(exc.value)


def test_valid_stored_routing_is_still_nothing_to_change(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.1})

    res = run("canary", "--version", "2", "--percent", "10", *CD_FLAGS, "--output", "json")

    assert res.code == 0, res.err
    assert res.json["changed"] is False
    assert res.json["model_versions"] == {"1": "v1", "2": "v2"}
    assert res.err == ""


@pytest.mark.parametrize(
    ("weights", "command", "after"),
    [
        ({"2": 1.5}, ("rollback",), {"primary": "1", "weights": {}}),
        ({"2": 0.1, "3": 0.1}, ("rollback",), {"primary": "1", "weights": {}}),
        ({"1": 0.1}, ("rollback",), {"primary": "1", "weights": {}}),
        ({"2": 1.5}, ("promote", "--version", "2"), {"primary": "2", "weights": {}}),
    ],
)
def test_a_change_replacing_an_invalid_routing_warns_on_stderr(
    world: World, run: Run, weights: dict[str, float], command: tuple[str, ...], after: dict[str, object]
) -> None:
    world.set_routing("1", weights)

    res = run(*command, *CD_FLAGS, "--output", "json")

    assert res.code == 0, res.err
    assert world.alias() == after
    assert res.json["changed"] is True
    assert res.err.startswith("warning: sentiment-inference:live had an invalid routing (")
    assert f"; {command[0]} replaced it" in res.err


# --- promote --version N when N already takes all traffic -----------------------------------------


def test_promote_of_the_version_already_promoted_is_nothing_to_change(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.1})
    assert run("promote", "--version", "2", *CD_FLAGS).code == 0

    res = run("promote", "--version", "2", *CD_FLAGS, "--output", "json")  # a retry, e.g. after a timeout

    assert res.code == 0, res.err
    assert res.json["changed"] is False
    assert world.alias() == {"primary": "2", "weights": {}}


def test_promote_without_a_canary_is_still_refused_unless_that_version_is_named(world: World, run: Run) -> None:
    res = run("promote", *CD_FLAGS)
    assert res.code == 2
    assert "nothing to promote" in res.err

    res = run("promote", "--version", "2", *CD_FLAGS)
    assert res.code == 2
    assert "nothing to promote" in res.err
    assert world.alias() == {"primary": "1", "weights": {}}
