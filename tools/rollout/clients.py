"""boto3 clients configured the way the AWS CLI is: --profile, --region, --endpoint-url.

One endpoint URL for every service, as with ``aws --endpoint-url``: that is what a single
moto_server (tests, local rehearsal) needs. Without flags boto3's own resolution applies
(AWS_PROFILE, AWS_REGION/AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, config files).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

# Operators wait on these calls; fail fast instead of retrying for minutes.
_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


class Clients:
    """The clients the CLI uses, created on first use (status without CodeDeploy needs only two)."""

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        # ``session`` lets tests inject botocore event hooks (e.g. a stubbed UpdateAlias error).
        self._session = session or boto3.Session(profile_name=profile, region_name=region)
        self._kwargs: dict[str, Any] = {"config": _CONFIG}
        if region:
            self._kwargs["region_name"] = region
        if endpoint_url:
            self._kwargs["endpoint_url"] = endpoint_url

    def _client(self, name: str) -> Any:
        return self._session.client(name, **self._kwargs)

    @cached_property
    def lambda_(self) -> Any:
        return self._client("lambda")

    @cached_property
    def codedeploy(self) -> Any:
        return self._client("codedeploy")

    @cached_property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    @cached_property
    def cloudformation(self) -> Any:
        return self._client("cloudformation")
