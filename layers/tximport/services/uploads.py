"""An uploaded file starts the import's workflow."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Literal
from urllib.parse import unquote_plus

from pydantic import ValidationError

from tximport.adapters.workflow import StartRefused, WorkflowEngine
from tximport.errors import Conflict, NotFound
from tximport.models import ErrorDetail, ImportStatus, Tenant
from tximport.services.lifecycle import Lifecycle
from tximport.services.pinning import LaterUpload, UploadedFiles
from tximport.tasks import StartInput, TenantRef, process_timeout

log = logging.getLogger(__name__)

_KEY = re.compile(r"^uploads/(?P<org>[^/]+)/(?P<company>[^/]+)/(?P<import_id>[^/]+)$")


class UploadService:
    def __init__(self, *, lifecycle: Lifecycle, workflow: WorkflowEngine, files: UploadedFiles,
                 confirmation_timeout: int, queue_timeout: int) -> None:
        self.lifecycle = lifecycle
        self.imports = lifecycle.imports
        self.workflow = workflow
        self.files = files
        self.confirmation_timeout = confirmation_timeout
        self.queue_timeout = queue_timeout

    def on_object_created(self, raw_key: str, size: int | None) -> Literal["started", "ignored"] | LaterUpload:
        """Start the workflow for the import the object belongs to. S3 events arrive at least once and
        their keys URL-encoded (`uploads%2Forg...`, spaces as `+`): decode, and let the execution name
        (the import id) make a repeated event start nothing new. An upload over a file whose import is
        past awaitingFileUpload is caught (services/pinning.py). Answers what happened."""
        key = unquote_plus(raw_key)
        match = _KEY.match(key)
        if not match:
            log.warning("ignoring object outside the upload layout: %s", key)
            return "ignored"
        try:
            tenant = Tenant(organisation_id=match["org"], company_id=match["company"])
            imp = self.imports.get(tenant, match["import_id"])
        except (NotFound, ValidationError):  # no import, or no tenant of ours could own that key
            log.warning("no import for uploaded object %s", key)
            return "ignored"
        if imp.status != ImportStatus.AWAITING_FILE_UPLOAD:
            outcome = self.files.on_later_upload(imp)
            log.info("import %s is %s: upload event %s", imp.id, imp.status.value, outcome)
            return outcome
        payload = StartInput(import_id=imp.id, tenant_ref=TenantRef.of(tenant),
                             confirmation_timeout_seconds=self.confirmation_timeout,
                             queue_timeout_seconds=self.queue_timeout,
                             process_timeout_seconds=process_timeout(size)).payload()
        try:
            execution_arn = self.workflow.start(imp.id, payload)
        except StartRefused:
            self.lifecycle.fail(imp, [ErrorDetail(code="ProcessingError",
                                                  message="the import workflow could not be started")])
            raise
        if execution_arn is None:
            return "duplicate"
        with contextlib.suppress(Conflict):  # the workflow's claim may have got there first
            self.lifecycle.transition(imp, ImportStatus.PROCESSING, file_uploaded=True, file_size=size,
                                      execution_arn=execution_arn)
        return "started"
