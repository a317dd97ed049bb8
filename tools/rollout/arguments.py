"""The command line: the argparse parser and every check that needs no AWS call.

``parse`` either returns arguments that are valid as far as can be told without AWS, or raises
``UsageExit`` (exit 2, argparse-style message). Nothing here creates a client or reads the alias,
so a usage mistake is reported the same way with or without a region, credentials or network.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

PROG = "python -m tools.rollout"
DEFAULT_ALIAS = "live"
OUTPUT_FORMATS = ("table", "text", "json")
DEFAULT_OUTPUT = "table"  # what the CLI has always printed: an aligned, human table
MAX_MINUTES = 1440
CHANGE_COMMANDS = ("canary", "promote", "rollback")

_VERSION = re.compile(r"[1-9][0-9]*")  # as Lambda numbers published versions
_ALIAS = re.compile(r"[a-zA-Z0-9_-]{1,128}")  # Lambda's alias name pattern (and not all digits)
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")  # botocore's region check

EPILOG = """\
output (--output, like the AWS CLI):
  table  aligned human table (default)
  text   tab-separated records, one per line, first field the record type
  json   one JSON document on stdout, also for errors (--json is the same as --output json)
warnings and error messages always go to stderr.

exit codes:
  0  done, or nothing to change
  1  AWS configuration (region, profile, credentials) or an AWS call failed
  2  usage error, or refused by validation: nothing was changed
  3  refused: the alias changed under us, or a CodeDeploy deployment is in progress
"""


class UsageExit(Exception):
    """A usage error, raised instead of argparse's print-and-exit so ``main`` controls the streams."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message

    def render(self) -> str:
        """The message argparse itself would print on stderr."""
        return f"{self.parser.format_usage()}{self.parser.prog}: error: {self.message}\n"


class Parser(argparse.ArgumentParser):
    # Sub-parsers are created with the parent's class, so every level raises UsageExit.
    def error(self, message: str) -> NoReturn:
        raise UsageExit(self, message)


def _h(text: str) -> str:
    """A help string as argparse needs it: help strings are %-formatted, so a literal % is %%."""
    return text.replace("%", "%%")


# --- argument types: argparse reports their errors as "argument --x: <message>" --------------------


def percent_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (a percent such as 10 or 2.5)") from None
    if not (math.isfinite(value) and 0.0 <= value < 100.0):
        raise argparse.ArgumentTypeError(
            f"{text} is outside [0, 100): a canary takes 0 to less than 100% (use promote for 100%)"
        )
    return value


def version_arg(text: str) -> str:
    if text == "$LATEST":
        raise argparse.ArgumentTypeError("cannot be $LATEST: an alias routes only to published versions (1, 2, ...)")
    if not _VERSION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a published version number (1, 2, ...)")
    return text


def minutes_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of minutes") from None
    if not 1 <= value <= MAX_MINUTES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_MINUTES} (got {value})")
    return value


def alias_arg(text: str) -> str:
    if not _ALIAS.fullmatch(text) or text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an alias name (1-128 of a-z A-Z 0-9 - _, not only digits)")
    return text


def region_arg(text: str) -> str:
    if not _REGION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a region name (e.g. eu-west-1)")
    return text


def endpoint_arg(text: str) -> str:
    # The check botocore makes when it builds a client (a ValueError there, i.e. a traceback).
    valid = is_valid_endpoint_url(text) or is_valid_ipv6_endpoint_url(text)
    if not (valid and text.lower().startswith(("http://", "https://"))):
        raise argparse.ArgumentTypeError(f"{text!r} is not an endpoint URL (e.g. http://127.0.0.1:5000)")
    return text


# --- the parser -----------------------------------------------------------------------------------


def _add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    # Global flags are accepted before or after the command, as with the AWS CLI. Sub-parsers
    # default to SUPPRESS so an option given before the command is not reset after it.
    g = parser.add_argument_group("global options")

    def option(flag: str, text: str, *, env: str | None = None, default: Any = None, **kwargs: Any) -> None:
        """``env``: the environment variable the option defaults to (named in its help, read now)."""
        if env is not None:
            text, default = f"{text} (env {env})", os.environ.get(env)
        g.add_argument(flag, default=default if top_level else argparse.SUPPRESS, help=_h(text), **kwargs)

    option("--function-name", "function name or ARN", env="FUNCTION_NAME")
    option("--alias", f"alias to manage (default: {DEFAULT_ALIAS})", type=alias_arg, default=DEFAULT_ALIAS)
    option("--endpoint-url", "override the AWS endpoint (e.g. moto_server)", type=endpoint_arg)
    option("--profile", "AWS named profile (env AWS_PROFILE)")
    option("--region", "AWS region (env AWS_REGION, AWS_DEFAULT_REGION, or the profile's region)", type=region_arg)
    option("--stack-name", "SAM stack: finds the CodeDeploy app/group", env="STACK_NAME")
    option("--codedeploy-app", "CodeDeploy application", env="CODEDEPLOY_APPLICATION")
    option("--codedeploy-group", "CodeDeploy deployment group", env="CODEDEPLOY_DEPLOYMENT_GROUP")
    formats = ", ".join(OUTPUT_FORMATS)
    option("--output", f"output format: {formats} (default: {DEFAULT_OUTPUT})", choices=OUTPUT_FORMATS)
    option("--json", "the same as --output json", action="store_true", default=False)


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Show and change the weights of the function's live alias (canary, promote, rollback).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        # ``help`` is %-formatted by argparse, ``description`` is printed as it is.
        p = sub.add_parser(name, help=_h(summary), description=summary)
        _add_global_options(p, top_level=False)
        p.set_defaults(command_parser=p)
        return p

    st = command("status", "versions behind the alias: weight, model version, invocations, errors, latency")
    st.add_argument(
        "--minutes", type=minutes_arg, default=15, help=_h(f"metrics window in minutes, 1-{MAX_MINUTES} (default 15)")
    )

    can = command("canary", "start a canary, or set its percent")
    can.add_argument(
        "--version", required=True, type=version_arg, help=_h("published version number to send traffic to")
    )
    can.add_argument(
        "--percent",
        required=True,
        type=percent_arg,
        help=_h("share of traffic for that version: 0 <= P < 100 (100% is promote)"),
    )

    pro = command("promote", "send 100% to the canary version and clear the routing")
    pro.add_argument(
        "--version",
        type=version_arg,
        help=_h("refuse unless this is the canary version (or already the primary at 100%: nothing to change)"),
    )

    rb = command("rollback", "drop the canary: 100% to the primary version")

    for p in (can, pro, rb):
        p.add_argument(
            "--force",
            action="store_true",
            help=_h("change the alias even while a CodeDeploy deployment is in progress, or without checking"),
        )
    return parser


# --- checks across arguments (still no AWS call) --------------------------------------------------


def _check(args: argparse.Namespace) -> None:
    fail = args.command_parser.error
    if args.json and args.output not in (None, "json"):
        fail(f"argument --json: means --output json; it conflicts with --output {args.output}")
    args.output = "json" if args.json else (args.output or DEFAULT_OUTPUT)
    if not (args.function_name or "").strip():
        fail("no function: pass --function-name or set FUNCTION_NAME")
    if bool(args.codedeploy_app) != bool(args.codedeploy_group):
        fail(
            "--codedeploy-app and --codedeploy-group go together (or env CODEDEPLOY_APPLICATION and "
            "CODEDEPLOY_DEPLOYMENT_GROUP); give both"
        )
    can_check_codedeploy = bool(args.stack_name or args.codedeploy_app)
    if args.command in CHANGE_COMMANDS and not (can_check_codedeploy or args.force):
        fail(
            "cannot check for a CodeDeploy deployment in progress: pass --stack-name "
            "(or --codedeploy-app and --codedeploy-group), or --force to change the alias without the check"
        )


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and check ``argv``; ``args.output`` is resolved to one of OUTPUT_FORMATS."""
    args = build_parser().parse_args(argv)
    _check(args)
    return args


def wants_json(argv: Sequence[str]) -> bool:
    """Whether ``argv`` asks for JSON, read leniently: used when ``parse`` itself failed."""
    pre = Parser(add_help=False)
    pre.add_argument("--output")
    pre.add_argument("--json", action="store_true")
    try:
        known, _ = pre.parse_known_args(list(argv))
    except UsageExit:
        return False
    # --json with another --output is itself the usage error: then nothing is sure to parse it.
    return known.output == "json" or (known.json and known.output is None)
