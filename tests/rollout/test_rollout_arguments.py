"""Arguments are checked before any AWS call: usage errors exit 2 argparse-style, with no region configured.

No moto here: every test runs with no region, no profile and no credentials, and with botocore's
client creation booby-trapped, so a check that only happened after a client was created would fail.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.conftest import rollout_cli
from tests.rollout.world import CD_FLAGS, FN, CliResult
from tools.rollout import arguments
from tools.rollout.cli import main

_AWS_ENV = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "FUNCTION_NAME",
    "STACK_NAME",
    "CODEDEPLOY_APPLICATION",
    "CODEDEPLOY_DEPLOYMENT_GROUP",
)

Offline = Callable[..., CliResult]


def _no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in _AWS_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Offline:
    """Run the CLI with no AWS configuration at all; creating any AWS client fails the test."""
    _no_aws_config(monkeypatch, tmp_path)

    def no_client(*_: Any, **__: Any) -> None:
        raise AssertionError("an AWS client was created before the arguments were checked")

    monkeypatch.setattr(botocore.session.Session, "create_client", no_client)

    def invoke(*args: str) -> CliResult:
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


F = ("--function-name", FN)
CANARY = ("canary", "--version", "2", "--percent", "10", *CD_FLAGS)

# (argv, the subcommand whose usage is shown or None for the top level, a fragment of the message)
USAGE_ERRORS: list[tuple[tuple[str, ...], str | None, str]] = [
    ((*F, "canary", "--version", "2", "--percent", "150", *CD_FLAGS), "canary", "argument --percent: 150 is outside"),
    ((*F, "canary", "--version", "2", "--percent", "100", *CD_FLAGS), "canary", "use promote for 100%"),
    ((*F, "canary", "--version", "2", "--percent", "-5", *CD_FLAGS), "canary", "argument --percent: -5 is outside"),
    ((*F, "canary", "--version", "2", "--percent", "nan", *CD_FLAGS), "canary", "argument --percent: nan is outside"),
    ((*F, "canary", "--version", "2", "--percent", "inf", *CD_FLAGS), "canary", "argument --percent: inf is outside"),
    ((*F, "canary", "--version", "2", "--percent", "10%", *CD_FLAGS), "canary", "'10%' is not a number"),
    ((*F, "canary", "--version", "$LATEST", "--percent", "10", *CD_FLAGS), "canary", "cannot be $LATEST"),
    ((*F, "canary", "--version", "abc", "--percent", "10", *CD_FLAGS), "canary", "not a published version number"),
    ((*F, "canary", "--version", "0", "--percent", "10", *CD_FLAGS), "canary", "not a published version number"),
    ((*F, "canary", "--version", "02", "--percent", "10", *CD_FLAGS), "canary", "not a published version number"),
    ((*F, "canary", "--version", "\u00b2", "--percent", "10", *CD_FLAGS), "canary", "not a published version"),
    ((*F, "canary", "--version", "2", *CD_FLAGS), "canary", "the following arguments are required: --percent"),
    ((*F, "promote", "--version", "$LATEST", *CD_FLAGS), "promote", "argument --version: cannot be $LATEST"),
    ((*F, "promote", "--version", "v2", *CD_FLAGS), "promote", "argument --version: 'v2' is not a published"),
    ((*F, "status", "--minutes", "0"), "status", "argument --minutes: must be between 1 and 1440"),
    ((*F, "status", "--minutes", "1441"), "status", "argument --minutes: must be between 1 and 1440"),
    ((*F, "status", "--minutes", "5m"), "status", "argument --minutes: '5m' is not a whole number"),
    ((*F, "status", "--force"), None, "unrecognized arguments: --force"),
    ((*F, "status", "--alias", "123"), "status", "argument --alias: '123' is not an alias name"),
    ((*F, "status", "--alias", "live now"), "status", "argument --alias: 'live now' is not an alias name"),
    ((*F, "--endpoint-url", "localhost:5000", "status"), None, "argument --endpoint-url: 'localhost:5000'"),
    ((*F, "status", "--endpoint-url", "ftp://127.0.0.1:21"), "status", "argument --endpoint-url"),
    ((*F, "status", "--region", "eu west 1"), "status", "argument --region: 'eu west 1' is not a region"),
    ((*F, "status", "--output", "yaml"), "status", "argument --output: invalid choice: 'yaml'"),
    ((*F, "--json", "status", "--output", "text"), "status", "argument --json: means --output json"),
    (("status",), "status", "no function: pass --function-name or set FUNCTION_NAME"),
    (("--function-name", " ", "status"), "status", "no function: pass --function-name or set FUNCTION_NAME"),
    ((*F, "rollback", "--codedeploy-app", "app"), "rollback", "--codedeploy-app and --codedeploy-group go together"),
    ((*F, "status", "--codedeploy-group", "g"), "status", "--codedeploy-app and --codedeploy-group go together"),
    ((*F, "canary", "--version", "2", "--percent", "10"), "canary", "cannot check for a CodeDeploy deployment"),
    ((*F, "promote"), "promote", "cannot check for a CodeDeploy deployment"),
    ((*F, "rollback"), "rollback", "pass --stack-name (or --codedeploy-app and --codedeploy-group), or --force"),
    ((*F,), None, "the following arguments are required: COMMAND"),
]


@pytest.mark.parametrize(("argv", "command", "fragment"), USAGE_ERRORS)
def test_usage_errors_exit_2_before_any_aws_call(
    offline: Offline, argv: tuple[str, ...], command: str | None, fragment: str
) -> None:
    res = offline(*argv)

    assert res.code == 2
    assert res.out == ""  # table output: nothing on stdout for an error
    usage = "usage: python -m tools.rollout" + (f" {command}" if command else " [-h]")
    assert res.err.startswith(usage), res.err
    assert fragment in res.err
    assert "You must specify a region" not in res.err
    assert "Traceback" not in res.err


# The cases that are not themselves about the output flags.
USAGE_ERRORS_ANY_OUTPUT = [case for case in USAGE_ERRORS if not {"--output", "--json"} & set(case[0])]


@pytest.mark.parametrize(("argv", "command", "fragment"), USAGE_ERRORS_ANY_OUTPUT)
@pytest.mark.parametrize("json_flag", [("--output", "json"), ("--output=json",), ("--json",)])
def test_usage_errors_with_json_output_print_one_json_document(
    offline: Offline, argv: tuple[str, ...], command: str | None, fragment: str, json_flag: tuple[str, ...]
) -> None:
    res = offline(*json_flag, *argv)

    assert res.code == 2
    doc = json.loads(res.out)  # the whole of stdout is one JSON document
    assert sorted(doc) == ["error", "exit_code", "message", "ok"]
    assert (doc["ok"], doc["error"], doc["exit_code"]) == (False, "usage", 2)
    assert fragment in doc["message"]
    assert "usage: python -m tools.rollout" in res.err  # the human message still goes to stderr


def test_env_codedeploy_pair_is_checked_too(offline: Offline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEDEPLOY_APPLICATION", "app")

    res = offline(*F, "status")

    assert res.code == 2
    assert "CODEDEPLOY_DEPLOYMENT_GROUP" in res.err


def test_percent_150_without_a_region_in_a_real_process(tmp_path: Path) -> None:
    """The case from the issue, as an operator types it: exit 2 and argparse's message, no NoRegionError."""
    no_files = {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    res = rollout_cli(*F, "canary", "--version", "2", "--percent", "150", *CD_FLAGS, env=no_files, unset=_AWS_ENV)

    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert "python -m tools.rollout canary: error: argument --percent: 150 is outside [0, 100)" in res.stderr
    assert "NoRegionError" not in res.stderr
    assert "You must specify a region" not in res.stderr


# --- valid arguments, unusable AWS configuration: exit 1, still before any AWS call -----------------


def test_no_region_is_a_configuration_error_exit_1(offline: Offline) -> None:
    res = offline(*F, *CANARY, "--output", "json")

    assert res.code == 1
    assert (res.json["ok"], res.json["error"], res.json["exit_code"]) == (False, "config", 1)
    assert "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION" in res.json["message"]
    assert res.err.startswith("error: no AWS region")


def test_unknown_profile_is_a_configuration_error_not_a_traceback(offline: Offline) -> None:
    res = offline(*F, "--profile", "nope", "status")

    assert res.code == 1
    assert res.out == ""
    assert "The config profile (nope) could not be found" in res.err
    assert "Traceback" not in res.err


def test_region_from_aws_region_like_the_aws_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tools.rollout.clients import Clients

    _no_aws_config(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert Clients().region == "eu-west-1"  # AWS_REGION wins over AWS_DEFAULT_REGION (boto3 ignores it)
    assert Clients(region="ap-south-1").region == "ap-south-1"  # --region wins over both
    monkeypatch.delenv("AWS_REGION")
    assert Clients().region == "us-east-1"


# --- help -----------------------------------------------------------------------------------------


def _all_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = arguments.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"": parser, **subparsers.choices}


@pytest.mark.parametrize("command", sorted(_all_parsers()))
def test_help_renders_single_percent_signs(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*([command] if command else []), "--help"])
    text = capsys.readouterr().out

    assert exc.value.code == 0
    assert text.startswith("usage: python -m tools.rollout")
    assert "%%" not in text
    assert "%(" not in text
    if command in ("", "promote", "rollback", "canary"):
        assert "100%" in text


def test_every_help_string_survives_argparse_formatting() -> None:
    """Also the strings --help shows only in part: every help is %-formatted by argparse."""
    for parser in _all_parsers().values():
        for action in parser._actions:
            if action.help and action.help is not argparse.SUPPRESS:
                rendered = parser._get_formatter()._expand_help(action)
                assert "%%" not in rendered, action.help
        assert "%%" not in (parser.description or "") + (parser.epilog or "")
