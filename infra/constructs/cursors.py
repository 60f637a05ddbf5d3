"""The key that signs the API's pagination cursors: a Secrets Manager secret the stack generates (64
random characters), read by the api function once per execution environment (at cold start) and by
nothing else. Its value never appears in the template or the function's environment, only its ARN."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.nag import acknowledge

#: the setting that names the secret to the api function (tximport.config.Settings.cursor_key_secret)
SETTING = "CURSOR_KEY_SECRET"


class CursorKey(Construct):
    """The cursor signing key."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="tximport: signs the API's pagination cursors (HMAC-SHA256)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=removal_policy,
        )
        acknowledge(
            self.secret,
            {
                "AwsSolutions-SMG4": "The key signs pagination cursors only, which live as long as a client pages "
                "through a listing; rotating it would only send clients paging at that moment back to the first "
                "page, so it is replaced by redeploying rather than by a rotation function.",
            },
        )
