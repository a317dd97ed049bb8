"""No-op CloudFormation handlers for the CodeDeploy resources SAM generates.

`DeploymentPreference` makes the SAM transform add an `AWS::CodeDeploy::Application` and an
`AWS::CodeDeploy::DeploymentGroup` (and the alias's CodeDeployLambdaAliasUpdate policy). MiniStack
has no CodeDeploy and refuses the template ("Unrecognized resource types"). Registered here, the two
resources are recorded with a name and nothing else: no deployment ever runs, so the pre-traffic hook
is never invoked and `live` moves to a new version at once, as with `DeploymentType: AllAtOnce`
without hooks. What CodeDeploy does on AWS (traffic shifting, alarms rollback, hooks) is not rehearsed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Attributes = dict[str, Any]
Handler = dict[str, Callable[..., Any]]

APPLICATION = "AWS::CodeDeploy::Application"
DEPLOYMENT_GROUP = "AWS::CodeDeploy::DeploymentGroup"


def _name(props: dict[str, Any], key: str, stack_name: str, logical_id: str) -> str:
    return str(props.get(key) or f"{stack_name}-{logical_id}")


def _application_create(logical_id: str, props: dict[str, Any], stack_name: str) -> tuple[str, Attributes]:
    return _name(props, "ApplicationName", stack_name, logical_id), {}


def _deployment_group_create(logical_id: str, props: dict[str, Any], stack_name: str) -> tuple[str, Attributes]:
    return _name(props, "DeploymentGroupName", stack_name, logical_id), {}


def _delete(physical_id: str, props: dict[str, Any]) -> None:
    """Nothing was created."""


def handlers() -> dict[str, Handler]:
    """Entries for ministack's CloudFormation resource registry (type -> create/delete).

    Without an update handler MiniStack updates by calling create again with the same logical id,
    which returns the same name here."""
    return {
        APPLICATION: {"create": _application_create, "delete": _delete},
        DEPLOYMENT_GROUP: {"create": _deployment_group_create, "delete": _delete},
    }
