"""Exit codes and the errors that map to them (documented in README.md)."""

from __future__ import annotations

from typing import Any, ClassVar

EXIT_OK = 0
EXIT_AWS_ERROR = 1  # AWS configuration (region, profile, credentials) or an AWS call failed
EXIT_REFUSED = 2  # usage error, or a change (or the stored routing it would keep) that fails validation
EXIT_CONFLICT = 3  # someone else changed the alias, or CodeDeploy is shifting it


class RolloutError(Exception):
    """Base class: ``kind`` names the error in --output json, ``exit_code`` is the process status.

    Each subclass states both in its class line: ``class XError(RolloutError, kind="x", exit_code=EXIT_...)``.
    """

    kind: ClassVar[str] = "error"
    exit_code: ClassVar[int] = EXIT_AWS_ERROR

    def __init_subclass__(cls, *, kind: str, exit_code: int, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = kind
        cls.exit_code = exit_code


class UsageError(RolloutError, kind="usage", exit_code=EXIT_REFUSED):
    """The command line is wrong or not enough (missing or conflicting options, --force needed); nothing was changed."""


class ValidationError(RolloutError, kind="validation", exit_code=EXIT_REFUSED):
    """The proposed routing would be rejected by AWS (or is meaningless); nothing was changed."""


class ConflictError(RolloutError, kind="conflict", exit_code=EXIT_CONFLICT):
    """The alias changed under us (RevisionId mismatch or optimistic re-read); nothing was changed."""


class DeploymentInProgressError(RolloutError, kind="deployment_in_progress", exit_code=EXIT_CONFLICT):
    """CodeDeploy owns the alias weights right now; nothing was changed."""


class ConfigError(RolloutError, kind="config", exit_code=EXIT_AWS_ERROR):
    """No usable AWS configuration (unknown profile, no region): found before any AWS call."""


class AwsError(RolloutError, kind="aws", exit_code=EXIT_AWS_ERROR):
    """An AWS call failed for a reason we do not interpret (credentials, throttling, not found...)."""
