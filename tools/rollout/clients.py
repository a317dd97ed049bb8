"""boto3 clients configured the way the AWS CLI is: --profile, --region, --endpoint-url.

One endpoint URL for every service, as with ``aws --endpoint-url``: that is what a single
moto_server (tests, local rehearsal) needs. Without flags the AWS CLI's resolution applies:
AWS_PROFILE, AWS_ENDPOINT_URL and config files through boto3, and the region from --region, then
AWS_REGION, then AWS_DEFAULT_REGION, then the profile (boto3 alone does not read AWS_REGION).
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from tools.rollout.errors import ConfigError

# Operators wait on these calls; fail fast instead of retrying for minutes.
_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def _service(name: str) -> cached_property[Any]:
    """A ``Clients`` attribute: the client of AWS service ``name``, created on first use, then kept."""
    return cached_property(lambda clients: clients._client(name))


class Clients:
    """The clients the CLI uses, created on first use (status without CodeDeploy needs only two).

    The profile and the region are resolved here, before any AWS call: ConfigError if unusable.
    """

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        # ``session`` lets tests inject botocore event hooks (e.g. a stubbed UpdateAlias error).
        try:
            self._session = session or boto3.Session(profile_name=profile)
        except ProfileNotFound as exc:
            raise ConfigError(f"{exc} (--profile or AWS_PROFILE; see aws configure list-profiles)") from exc
        self.region = region or os.environ.get("AWS_REGION") or self._session.region_name
        if not self.region:
            raise ConfigError(
                "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION, "
                "or a region in the profile (aws configure)"
            )
        self._kwargs: dict[str, Any] = {"config": _CONFIG, "region_name": self.region}
        if endpoint_url:
            self._kwargs["endpoint_url"] = endpoint_url

    def _client(self, name: str) -> Any:
        return self._session.client(name, **self._kwargs)

    lambda_ = _service("lambda")
    codedeploy = _service("codedeploy")
    cloudwatch = _service("cloudwatch")
    cloudformation = _service("cloudformation")
