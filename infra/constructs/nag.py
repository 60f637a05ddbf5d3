"""cdk-nag acknowledgements in one shape: every finding is named exactly and carries its reason.

cdk-nag v3 acknowledges through CDK's own `Validations.of(scope).acknowledge(...)`; a finding with a
detail (IAM5 wildcards) has to be named with that detail, e.g. `AwsSolutions-IAM5[Action::s3:List*]`,
so an acknowledgement never silences more than the finding it was written for.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, findings: Mapping[str, str]) -> None:
    """Acknowledge each cdk-nag finding id on `scope` (and its children) with its own reason."""
    for finding, reason in findings.items():
        if not reason.strip():
            raise ValueError(f"acknowledgement of {finding} needs a reason")
        Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))
