"""boto3 implementations of the reconciliation ports for S3 and Step Functions."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from typing import Any

from tximport.reconciliation.models import MatchStatus, Reconciliation, ResultChunks
from tximport.reconciliation.records import EntryRecord

ALL = "ALL"


def _encode(records: Iterable[EntryRecord]) -> bytes:
    text = "".join(r.model_dump_json(by_alias=True, exclude_defaults=True) + "\n" for r in records)
    return gzip.compress(text.encode(), compresslevel=5)


def _decode(body: bytes) -> list[EntryRecord]:
    return [EntryRecord.model_validate_json(line) for line in gzip.decompress(body).splitlines() if line.strip()]


class S3ResultObjects:
    """Records as gzip JSON lines under `reconciliations/<org>/<company>/<id>/r<run>/<LISTING>-<n>.jsonl.gz`."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def put_entries(self, key: str, records: Iterable[EntryRecord]) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=_encode(records), ContentType="application/x-ndjson",
                           ContentEncoding="gzip")

    def entries(self, key: str) -> Iterator[EntryRecord]:
        yield from self.chunk(key)

    def chunk(self, key: str) -> list[EntryRecord]:
        return _decode(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def write_results(self, prefix: str, records: list[EntryRecord], chunk_size: int, run: int) -> ResultChunks:
        out = ResultChunks(run=run, chunk_size=chunk_size)
        listings: dict[str, list[EntryRecord]] = {ALL: records}
        for status in (MatchStatus.MATCHED, MatchStatus.UNMATCHED):
            listings[status.value] = [r for r in records if r.status == status]
        for name, items in listings.items():
            out.counts[name] = len(items)
            out.firsts[name] = [items[k].index for k in range(0, len(items), chunk_size)]
            if name != ALL and len(items) == len(records):
                out.keys[name] = out.keys[ALL]  # every entry is in this listing: share the chunks
                continue
            out.keys[name] = []
            for number, start in enumerate(range(0, len(items), chunk_size), start=1):
                key = f"{prefix}r{run}/{name}-{number:05d}.jsonl.gz"
                self.put_entries(key, items[start:start + chunk_size])
                out.keys[name].append(key)
        return out

    def delete_prefix(self, prefix: str) -> None:
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})


class StepFunctionsExecutions:
    """Starts `statemachines/reconcile.asl.json` with ids only (execution name `<id>-run<N>`)."""

    def __init__(self, sfn: Any, state_machine_arn: str | None) -> None:
        self.sfn, self.arn = sfn, state_machine_arn

    def start(self, rec: Reconciliation, run: int) -> str:
        if not self.arn:
            raise RuntimeError("RECONCILE_STATE_MACHINE_ARN is not configured")
        payload = {"reconciliationId": rec.id, "run": run,
                   "tenant": {"organisationId": rec.organisation_id, "companyId": rec.company_id}}
        answer = self.sfn.start_execution(stateMachineArn=self.arn, name=f"{rec.id}-run{run}",
                                          input=json.dumps(payload))
        return str(answer["executionArn"])
