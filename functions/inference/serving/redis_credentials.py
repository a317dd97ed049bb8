"""Redis credentials from AWS Secrets Manager, through Powertools Parameters.

The secret holds JSON ``{"password": "...", "username": "..."}`` (username optional: the ElastiCache
user, or the default user with AUTH). redis-py asks a credential provider on every NEW connection,
so pooled connections cost nothing; Powertools caches the secret for ``max_age`` seconds. After a
rotation the old password fails once: the cache then asks for a refresh (one forced fetch) and
reconnects. Imported only when ``REDIS_SECRET_ARN`` is set, so local runs need neither boto3 nor AWS.
"""

from __future__ import annotations

import threading
from typing import Any

from redis.credentials import CredentialProvider


class SecretCredentialsError(ValueError):
    """The secret exists but does not hold Redis credentials (the message never holds its value)."""


class SecretsManagerCredentials(CredentialProvider):
    def __init__(self, secret_id: str, max_age_seconds: int = 3600) -> None:
        self.secret_id = secret_id
        self._max_age = max_age_seconds
        self._force_next = False
        self._lock = threading.Lock()

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        from aws_lambda_powertools.utilities import parameters

        with self._lock:
            force, self._force_next = self._force_next, False
        secret: Any = parameters.get_secret(self.secret_id, transform="json", max_age=self._max_age, force_fetch=force)
        if not isinstance(secret, dict) or not isinstance(secret.get("password"), str) or not secret["password"]:
            raise SecretCredentialsError(f"secret {self.secret_id} must be JSON with a non-empty string 'password'")
        username = secret.get("username")
        if username is None:
            return (secret["password"],)
        if not isinstance(username, str) or not username:
            raise SecretCredentialsError(f"secret {self.secret_id}: 'username' must be a non-empty string")
        return (username, secret["password"])

    def refresh(self) -> None:
        """Fetch the secret again on the next connection (after an authentication failure)."""
        with self._lock:
            self._force_next = True

    def __repr__(self) -> str:  # never the credentials
        return f"SecretsManagerCredentials({self.secret_id!r})"
