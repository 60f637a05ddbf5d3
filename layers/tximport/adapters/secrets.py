"""Secrets behind a small interface: the deployment's keys, read once per process (cold start).

`SecretsManagerSecrets` is the boto3 implementation the container injects; unit tests pass any object
with the same method.
"""

from __future__ import annotations

from typing import Any, Protocol


class Secrets(Protocol):
    def secret_string(self, secret_id: str) -> str:
        """The current value of a secret (an ARN or a name)."""
        ...


class SecretsManagerSecrets:
    """`Secrets` on AWS Secrets Manager (a boto3 `secretsmanager` client)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def secret_string(self, secret_id: str) -> str:
        return str(self.client.get_secret_value(SecretId=secret_id)["SecretString"])
