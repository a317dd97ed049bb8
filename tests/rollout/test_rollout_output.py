"""--output json|text|table against moto: stdout carries only the result, warnings and errors go to stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.rollout.world import CD_FLAGS, FN, CliResult, World

Run = Callable[..., CliResult]


def strict_json(text: str) -> Any:
    """json.loads that, like jq, refuses NaN/Infinity; the whole text must be one document."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def records(out: str) -> list[list[str]]:
    lines = out.splitlines()
    assert all(line and "  " not in line for line in lines), out  # tab-separated, no padding
    return [line.split("\t") for line in lines]


COMMANDS = [
    ("status",),
    ("status", *CD_FLAGS),
    ("canary", "--version", "2", "--percent", "10", *CD_FLAGS),
    ("canary", "--version", "3", "--percent", "10", *CD_FLAGS),  # refused: a second canary
    ("promote", *CD_FLAGS),
    ("promote", "--version", "2", *CD_FLAGS),
    ("rollback", *CD_FLAGS),
    ("rollback", "--force"),  # warning: CodeDeploy check skipped
    ("status", "--alias", "nope"),  # AWS error
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_json_stdout_is_exactly_one_document(world: World, run: Run, command: tuple[str, ...]) -> None:
    world.set_routing("1", {"2": 0.25})

    res = run(*command, "--output", "json")

    doc = strict_json(res.out)
    assert doc["ok"] is (res.code == 0)
    if res.code:
        assert doc["exit_code"] == res.code
        assert res.err.startswith("error: ") and doc["message"] in res.err
    for line in res.err.splitlines():
        assert line.startswith(("error: ", "warning: ")), res.err


def test_output_json_is_the_same_as_json_flag_and_global_anywhere(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.25})
    outputs = [
        run("status", "--json").out,
        run("status", "--output", "json").out,
        run("--output", "json", "status").out,
        run("--json", "status", "--output", "json").out,  # not a conflict
    ]
    assert all(strict_json(o) == strict_json(outputs[0]) for o in outputs)


def test_default_output_is_the_table(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.25})
    table = run("status", "--output", "table")

    assert run("status").out == table.out
    assert "  VERSION  WEIGHT  MODEL" in table.out
    assert "canary: version 2 at 25%" in table.out


def test_text_status_records(world: World, run: Run) -> None:
    world.set_routing("1", {"2": 0.3})
    world.put_version_metrics("2", invocations=10, errors=1, durations=[80.0])
    world.start_deployment()

    res = run("status", *CD_FLAGS, "--output", "text")

    assert res.code == 0, res.err
    rows = records(res.out)
    by_kind: dict[str, list[list[str]]] = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row[1:])
    assert by_kind["ALIAS"][0][:2] == [FN, "live"]
    assert by_kind["ALIAS"][0][3] == "1"
    assert by_kind["VERSION"] == [
        ["1", "0.7", "v1", "0", "0", "None", "None", "None"],
        ["2", "0.3", "v2", "10", "1", "0.1", "80", "None"],
    ]
    assert by_kind["CANARY"] == [["2", "0.3"]]
    assert by_kind["METRICS"] == [["15"]]
    assert by_kind["CODEDEPLOY"] == [["sentiment-app", "sentiment-group", "flags"]]
    assert [d[1] for d in by_kind["DEPLOYMENT"]] == ["Created"]
    assert "PROBLEM" not in by_kind


def test_text_change_records(world: World, run: Run) -> None:
    res = run("canary", "--version", "2", "--percent", "10", *CD_FLAGS, "--output", "text")

    assert res.code == 0, res.err
    change, *rest = records(res.out)
    assert change[:5] == ["CHANGE", "canary", "True", FN, "live"]
    assert rest == [["BEFORE", "1", "1"], ["AFTER", "1", "0.9", "v1"], ["AFTER", "2", "0.1", "v2"]]

    res = run("canary", "--version", "2", "--percent", "10", *CD_FLAGS, "--output", "text")
    assert records(res.out)[0][:3] == ["CHANGE", "canary", "False"]


@pytest.mark.parametrize("output", ["table", "text", "json"])
def test_force_warnings_go_to_stderr_only(world: World, run: Run, output: str) -> None:
    world.set_routing("1", {"2": 0.2})
    deployment_id = world.start_deployment()

    res = run("rollback", *CD_FLAGS, "--force", "--output", output)

    assert res.code == 0, res.err
    assert world.alias() == {"primary": "1", "weights": {}}
    assert res.err.startswith("warning: --force: changed the alias although CodeDeploy deployment")
    assert deployment_id in res.err
    if output == "json":  # in the document as data, never as a stray line
        assert deployment_id in strict_json(res.out)["warnings"][0]
    else:
        assert "warning" not in res.out.lower()


@pytest.mark.parametrize("output", ["table", "text", "json"])
def test_status_problems_are_warnings_on_stderr(world: World, run: Run, output: str) -> None:
    world.set_routing("1", {"9": 1.5})  # moto stores it; AWS would not

    res = run("status", "--output", output)

    assert res.code == 0
    assert "warning: the routing stored on sentiment-inference:live would be rejected by AWS" in res.err
    assert "version 9 does not exist" in res.err
    assert "warning" not in res.out
    if output == "json":
        assert any("outside [0, 1)" in p for p in strict_json(res.out)["problems"])
    elif output == "text":
        assert any(r[0] == "PROBLEM" and "version 9 does not exist" in r[1] for r in records(res.out))
    else:
        assert "routing problems: 2 (listed on stderr)" in res.out


def test_non_finite_stored_weight_still_gives_strict_json(world: World, run: Run) -> None:
    world.set_routing("1", {"2": float("nan")})  # moto stores NaN too

    res = run("status", "--output", "json")

    doc = strict_json(res.out)
    assert doc["canary"] == {"version": "2", "weight": None}
    assert any("weight nan" in p for p in doc["problems"])


def test_aws_error_in_each_format(world: World, run: Run) -> None:
    for output in ("table", "text"):
        res = run("status", "--alias", "nope", "--output", output)
        assert (res.code, res.out) == (1, "")
        assert res.err.startswith("error: AWS call failed") and "ResourceNotFoundException" in res.err
    res = run("status", "--alias", "nope", "--output", "json")
    assert res.code == 1
    assert strict_json(res.out)["error"] == "aws"
