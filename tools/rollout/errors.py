"""Exit codes and the errors that map to them (documented in README.md)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_AWS_ERROR = 1  # AWS configuration (region, profile, credentials) or an AWS call failed
EXIT_REFUSED = 2  # usage error, or a change (or the stored routing it would keep) that fails validation
EXIT_CONFLICT = 3  # someone else changed the alias, or CodeDeploy is shifting it


class RolloutError(Exception):
    """Base class: ``kind`` names the error in --output json, ``exit_code`` is the process status."""

    kind = "error"
    exit_code = EXIT_AWS_ERROR


class UsageError(RolloutError):
    kind = "usage"
    exit_code = EXIT_REFUSED


class ValidationError(RolloutError):
    """The proposed routing would be rejected by AWS (or is meaningless); nothing was changed."""

    kind = "validation"
    exit_code = EXIT_REFUSED


class ConflictError(RolloutError):
    """The alias changed under us (RevisionId mismatch or optimistic re-read); nothing was changed."""

    kind = "conflict"
    exit_code = EXIT_CONFLICT


class DeploymentInProgressError(RolloutError):
    """CodeDeploy owns the alias weights right now; nothing was changed."""

    kind = "deployment_in_progress"
    exit_code = EXIT_CONFLICT


class ConfigError(RolloutError):
    """No usable AWS configuration (unknown profile, no region): found before any AWS call."""

    kind = "config"
    exit_code = EXIT_AWS_ERROR


class AwsError(RolloutError):
    """An AWS call failed for a reason we do not interpret (credentials, throttling, not found...)."""

    kind = "aws"
    exit_code = EXIT_AWS_ERROR
