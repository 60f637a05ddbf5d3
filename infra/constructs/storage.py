"""Storage: the files bucket (uploads and staged chunks), its access-log bucket, and the DynamoDB tables
named in `infra.definitions.TABLES`."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.nag import acknowledge
from infra.definitions import STAGING_PREFIX, TABLES, UPLOAD_PREFIX

#: how long S3 server access logs are kept
ACCESS_LOG_DAYS = 365
#: how long a version stays once another replaced it or it was deleted (uploads are pinned by version)
NONCURRENT_VERSION_DAYS = 1


class Storage(Construct):
    """The bucket and the tables.

    Lifecycle, chosen against the import's own clock:
    - `uploads/` (raw files) expire after `upload_retention_days`. A raw file is read again only while
      its import can still be amended, i.e. until the confirmation timeout (7 days by default), so 30
      days is ample and keeps bank statements out of storage once they are parsed and committed.
    - `staging/` (parsed chunks) expire after `staging_retention_days`, which the stack sets to the
      import retention (12 months) plus a margin: DynamoDB TTL deletes the import item up to a few days
      late, and the chunks must never disappear before the import that pages them.
    - incomplete multipart uploads are aborted after a day.
    - noncurrent versions go after a day, and delete markers once nothing is left behind them.

    Encryption is S3-managed (SSE-S3): presigned PUTs then need no KMS grant, and the access-log bucket
    must be SSE-S3 anyway for S3 log delivery. Versioning is on: the presigned URL stays valid after the
    upload, and each PUT over an import's key is a version of its own, so processing pins the version it
    reads and a later upload is caught (tximport.services.pinning). The service deletes every version of
    what it deletes; the noncurrent-version rule only sweeps what a deletion missed, so statements are
    not kept longer than the lifecycle intends.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        cors_allowed_origins: Sequence[str],
        upload_retention_days: int,
        staging_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # S3 delivers access logs under a bucket policy (the feature flag in cdk.json), so ACLs stay off
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(ACCESS_LOG_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
        )
        acknowledge(
            self.access_log_bucket,
            {
                "AwsSolutions-S1": "This bucket is the destination of the files bucket's server access "
                "logs; logging it into itself would loop.",
            },
        )

        self.bucket = s3.Bucket(
            self,
            "Files",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="files/",
            # browsers PUT the statement file straight to a presigned URL: the signature, not the
            # origin, is what authorizes the request, so the origin list is a context setting
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT],
                    allowed_origins=list(cors_allowed_origins),
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-uploads",
                    prefix=UPLOAD_PREFIX,
                    expiration=Duration.days(upload_retention_days),
                ),
                s3.LifecycleRule(
                    id="expire-staged-chunks",
                    prefix=STAGING_PREFIX,
                    expiration=Duration.days(staging_retention_days),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=removal_policy,
        )

        #: the tables by their logical key in `TABLES` ("imports", "ledger")
        self.tables: dict[str, dynamodb.Table] = {}
        for table_def in TABLES:
            self.tables[table_def.key] = dynamodb.Table(
                self,
                f"{table_def.key.capitalize()}Table",
                partition_key=dynamodb.Attribute(
                    name=table_def.partition_key, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(name=table_def.sort_key, type=dynamodb.AttributeType.STRING),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=table_def.ttl_attribute,
                stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if table_def.stream else None,
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                removal_policy=removal_policy,
            )
            for index in table_def.indexes:
                self.tables[table_def.key].add_global_secondary_index(
                    index_name=index.name,
                    partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType[index.projection],
                )
