"""The MiniStack version this launcher was written against, and its three small patches.

Each patch replaces one module attribute with a wrapper around the original and says why. They are
checked against this exact version: another ministack version fails loudly at start-up (update the
pin in requirements-ministack.txt and re-check each patch against the new source).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

PINNED_VERSION = "1.5.33"

ANY_METHOD_KEY = "x-amazon-apigateway-any-method"


class UnsupportedVersion(RuntimeError):
    pass


def check_version() -> str:
    installed = importlib.metadata.version("ministack")
    if installed != PINNED_VERSION:
        raise UnsupportedVersion(
            f"ministack {installed} is installed, local/ministack was written against {PINNED_VERSION}: "
            "re-check local/ministack/patches.py against the new version, then update PINNED_VERSION and "
            "requirements-ministack.txt"
        )
    return installed


def restore_any_method() -> None:
    """OpenAPI import: keep `x-amazon-apigateway-any-method` as method ANY.

    Why: ministack 1.5.33 imports only the seven plain HTTP methods of each path item
    (`apigateway_v1._OPENAPI_HTTP_METHODS`) and silently drops API Gateway's ANY extension, which SAM
    writes for `Method: ANY` and this template's DefinitionBody uses for "/" and "/{proxy+}". Every
    request then answers 403 "Missing Authentication Token". Its export already maps ANY back to that
    key; this makes the import the inverse: the path item is imported as usual, then the ANY
    operation through the same `_import_operation` with method "ANY".
    """
    from ministack.services import apigateway_v1

    original: Callable[..., Any] = apigateway_v1._import_path_item

    def import_path_item(api_id: str, path: str, path_item: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = original(api_id, path, path_item, *args, **kwargs)
        operation = path_item.get(ANY_METHOD_KEY)
        if operation is not None:
            resource_id = next(
                rid for rid, res in apigateway_v1._resources.get(api_id, {}).items() if res.get("path") == path
            )
            apigateway_v1._import_operation(api_id, resource_id, "ANY", operation, *args, **kwargs)
        return result

    apigateway_v1._import_path_item = import_path_item


def warm_pool_per_version() -> None:
    """Docker executor: one warm container pool per function version, as on Lambda.

    Why: ministack 1.5.33 keys its pool of warm containers by function name and CodeSha256 only
    (`lambda_svc._warm_pool_key`). It empties the function's pool when $LATEST's code or configuration
    changes, so the newest version starts fresh after a deploy; but versions with the same code share
    one pool. After a configuration-only deploy (version 3 = version 2's code with LogLevel=INFO),
    invoking version 2 (a rollback of `live`, a qualified invoke) was answered by the warm container
    started for version 3, with version 3's environment. Lambda never shares an execution environment
    between versions; the rehearsal invokes version 2 after version 3 to check it.
    """
    from ministack.services import lambda_svc

    original: Callable[[str, dict[str, Any]], str] = lambda_svc._warm_pool_key

    def warm_pool_key(func_name: str, config: dict[str, Any]) -> str:
        return f"{original(func_name, config)}:version:{config.get('Version', '$LATEST')}"

    lambda_svc._warm_pool_key = warm_pool_key


def accept_metric_math_alarms() -> None:
    """CloudFormation: record an `AWS::CloudWatch::Alarm` on metric math (`Metrics`) instead of failing.

    Why: ministack 1.5.33 refuses such an alarm ("Properties.Metrics (metric math) is not supported")
    and so rolls back the whole stack; the template's steady-state alarms (ratios such as 5XXError /
    Count) are metric math. The alarm is stored with its `Metrics`, threshold and actions but without a
    single metric, so MiniStack never evaluates it (its evaluator skips alarms without MetricName):
    these alarms are deployed, not exercised. Plain metric alarms take MiniStack's own path unchanged.
    """
    from ministack.services.cloudformation import provisioners

    original: Callable[[str, dict[str, Any]], dict[str, Any]] = provisioners._cw_metric_alarm_record

    def metric_alarm_record(name: str, props: dict[str, Any]) -> dict[str, Any]:
        if not props.get("Metrics"):
            return original(name, props)
        # MiniStack's own record (validation, state, actions), built with a placeholder metric, then
        # the placeholder swapped for the metric math.
        single = {key: value for key, value in props.items() if key != "Metrics"}
        alarm = original(name, single | {"MetricName": "-", "Namespace": "-"})
        alarm.update(MetricName=None, Namespace=None, Statistic=None, Metrics=props["Metrics"])
        return alarm

    provisioners._cw_metric_alarm_record = metric_alarm_record


def apply_all() -> None:
    check_version()
    restore_any_method()
    warm_pool_per_version()
    accept_metric_math_alarms()
