"""Read the alias, validate a proposed routing the way AWS does, and update it with RevisionId.

moto stores whatever routing it is given (weight 1.5, unknown versions, $LATEST, the alias's
own version, two extra versions) and never changes RevisionId, so every rule AWS enforces is
checked here (``routing_problems``) before any write, and the write is guarded twice: an optimistic
re-read and the RevisionId precondition that real Lambda enforces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from tools.rollout.errors import ConflictError

MODEL_ENV_VAR = "DEFAULT_MODEL_VERSION"
LATEST = "$LATEST"


@dataclass(frozen=True)
class Routing:
    """Where the alias sends traffic: a primary version plus additional versions and their weights."""

    primary: str
    weights: Mapping[str, float] = field(default_factory=dict)

    @property
    def primary_weight(self) -> float:
        return 1.0 - sum(self.weights.values())

    @property
    def canary(self) -> tuple[str, float] | None:
        """The single additional version and its weight, if there is exactly one."""
        if len(self.weights) != 1:
            return None
        ((version, weight),) = self.weights.items()
        return version, weight

    def shares(self) -> list[tuple[str, float]]:
        """(version, weight) for every version behind the alias, primary first."""
        return [(self.primary, self.primary_weight), *sorted(self.weights.items())]

    def describe(self) -> str:
        return " + ".join(f"version {v} ({percent(w)})" for v, w in self.shares())

    def to_json(self) -> dict[str, Any]:
        return {
            "primary_version": self.primary,
            "additional_version_weights": dict(self.weights),
            "versions": [{"version": v, "weight": w} for v, w in self.shares()],
        }


@dataclass(frozen=True)
class AliasState:
    function_name: str
    alias: str
    routing: Routing
    revision_id: str

    @property
    def qualified_name(self) -> str:
        return f"{self.function_name}:{self.alias}"


@dataclass(frozen=True)
class VersionConfig:
    """The parts of a published version's configuration that routing and status care about."""

    version: str
    model_version: str | None
    role: str | None
    dead_letter_target: str | None


def percent(weight: float) -> str:
    return f"{round(weight * 100, 4):g}%"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _state_from_response(function_name: str, alias: str, resp: Mapping[str, Any]) -> AliasState:
    weights = (resp.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return AliasState(
        function_name=function_name,
        alias=alias,
        routing=Routing(primary=str(resp["FunctionVersion"]), weights={str(k): float(v) for k, v in weights.items()}),
        revision_id=str(resp.get("RevisionId", "")),
    )


def read_alias(lambda_client: Any, function_name: str, alias: str) -> AliasState:
    resp = lambda_client.get_alias(FunctionName=function_name, Name=alias)
    return _state_from_response(function_name, alias, resp)


def version_config(lambda_client: Any, function_name: str, version: str) -> VersionConfig | None:
    """The version's configuration, or None when no such version is published."""
    try:
        cfg = lambda_client.get_function_configuration(FunctionName=function_name, Qualifier=version)
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    env = (cfg.get("Environment") or {}).get("Variables") or {}
    return VersionConfig(
        version=str(cfg.get("Version", version)),
        model_version=env.get(MODEL_ENV_VAR),
        role=cfg.get("Role"),
        dead_letter_target=(cfg.get("DeadLetterConfig") or {}).get("TargetArn"),
    )


def is_published_version(version: str) -> bool:
    # AWS: AdditionalVersionWeights keys match [0-9]+; aliases must point at published versions.
    return version.isascii() and version.isdigit()


def versions_to_look_up(routing: Routing) -> list[str]:
    """Versions whose configuration validation needs (only plausible version numbers)."""
    return [v for v in (routing.primary, *routing.weights) if is_published_version(v)]


def routing_problems(routing: Routing, configs: Mapping[str, VersionConfig | None]) -> list[str]:
    """Every reason AWS would reject ``routing`` (empty when it is acceptable).

    ``configs`` maps each version looked up to its configuration, or None if it does not exist.
    """
    problems: list[str] = []

    def check_version(version: str, what: str) -> bool:
        if version == LATEST:
            problems.append(f"{what} cannot be $LATEST: an alias routes only to published versions")
        elif not is_published_version(version):
            problems.append(f"{what} {version!r} is not a published version number")
        elif configs.get(version) is None:
            problems.append(f"{what} {version} does not exist (no such published version)")
        else:
            return True
        return False

    primary_ok = check_version(routing.primary, "primary version")
    if len(routing.weights) > 1:
        listed = ", ".join(sorted(routing.weights))
        problems.append(
            f"at most one additional version is allowed (AWS routes an alias to two versions); got {listed}"
        )
    for version, weight in sorted(routing.weights.items()):
        if version == routing.primary:
            problems.append(
                f"version {version} is the alias's own primary version; it cannot also be the additional version"
            )
            continue
        if not (math.isfinite(weight) and 0.0 <= weight < 1.0):
            problems.append(f"weight {weight} for version {version} is outside [0, 1) (percent must be in [0, 100))")
        if check_version(version, "additional version") and primary_ok:
            primary_cfg, extra_cfg = configs[routing.primary], configs[version]
            assert primary_cfg is not None
            assert extra_cfg is not None
            # AWS also requires both versions to share the execution role and dead-letter config.
            if primary_cfg.role != extra_cfg.role:
                problems.append(f"versions {routing.primary} and {version} have different execution roles")
            if primary_cfg.dead_letter_target != extra_cfg.dead_letter_target:
                problems.append(f"versions {routing.primary} and {version} have different dead-letter queues")
    return problems


def version_configs(lambda_client: Any, function_name: str, *routings: Routing) -> dict[str, VersionConfig | None]:
    """The configuration of every version the routings name (None: not published), each looked up once."""
    versions = dict.fromkeys(v for routing in routings for v in versions_to_look_up(routing))
    return {v: version_config(lambda_client, function_name, v) for v in versions}


def ensure_unchanged(before: AliasState, now: AliasState) -> None:
    """Optimistic check: refuse if the alias moved since the operator's read.

    Needed on top of RevisionId because moto (local rehearsal, tests) never changes RevisionId.
    """
    if before.routing != now.routing or before.revision_id != now.revision_id:
        raise ConflictError(
            f"refused: {before.qualified_name} changed since it was read "
            f"(was {before.routing.describe()}, now {now.routing.describe()}); "
            "someone else is changing it. Run status and decide again."
        )


def update_alias(lambda_client: Any, before: AliasState, routing: Routing) -> AliasState:
    """Write ``routing`` only if the alias still has ``before.revision_id``."""
    try:
        resp = lambda_client.update_alias(
            FunctionName=before.function_name,
            Name=before.alias,
            FunctionVersion=routing.primary,
            # An empty map clears the routing config (promote/rollback).
            RoutingConfig={"AdditionalVersionWeights": dict(routing.weights)},
            RevisionId=before.revision_id,
        )
    except ClientError as exc:
        code = _error_code(exc)
        if code == "PreconditionFailedException":
            raise ConflictError(
                f"refused by Lambda: {before.qualified_name} changed since it was read "
                f"(RevisionId {before.revision_id} is stale); another operator or CodeDeploy updated it. "
                "Nothing was changed. Run status and decide again."
            ) from exc
        if code == "ResourceConflictException":
            raise ConflictError(f"Lambda reports a concurrent update of {before.qualified_name}: {exc}") from exc
        raise
    return _state_from_response(before.function_name, before.alias, resp)
