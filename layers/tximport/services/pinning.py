"""The file an import commits is the file it reviewed.

The presigned URL stays valid after the upload, so a client can PUT another file over the import's key.
The bucket is versioned: processing pins the one version it found (its VersionId and ETag, on the
import) and reads only that version; any other version of the key is a later upload. Before the
import is confirmed, a later upload fails the import loudly (status error, `FileChanged`); once a client's
confirm has won it (or the commit has begun, or is done), the later version is removed, so the stored file stays
the one in the ledger.
A deleted import keeps no version at all.
"""

from __future__ import annotations

import logging
from typing import Literal

from tximport.errors import Conflict
from tximport.models import ErrorDetail, Import, ImportStatus
from tximport.services.lifecycle import Lifecycle
from tximport.storage.objects import ObjectStore, ObjectVersion

log = logging.getLogger(__name__)

FILE_CHANGED = "FileChanged"
FILE_CHANGED_MESSAGE = ("another file was uploaded over this import's file (a second PUT to its upload URL): an "
                        "import only ever imports the one file it read and showed for review; create a new "
                        "import for the new file")

#: statuses a later upload fails: the reviewed lines are not in the ledger yet
_BEFORE_COMMIT = frozenset({ImportStatus.QUEUED, ImportStatus.PROCESSING, ImportStatus.AWAITING_CONFIRMATION})
#: statuses whose ledger lines are (being) written from the pinned version: a later upload is removed
_COMMITTED = frozenset({ImportStatus.FINAL_PROCESSING, ImportStatus.COMPLETE})

#: what a later upload event did
LaterUpload = Literal["duplicate", "fileChanged", "removed"]


def file_changed(message: str = FILE_CHANGED_MESSAGE) -> ErrorDetail:
    return ErrorDetail(code=FILE_CHANGED, message=message, target="File")


class UploadedFiles:
    """Pins an import's uploaded object and catches any other version of its key."""

    def __init__(self, objects: ObjectStore, lifecycle: Lifecycle) -> None:
        self.objects = objects
        self.lifecycle = lifecycle

    def pin(self, imp: Import) -> ObjectVersion | None:
        """The version processing reads: the key's only version, which must be the one pinned on `imp`
        when one is (a first run pins it on `imp`; the caller saves it). None when the key holds another
        version too, or instead, or none at all."""
        versions = self.objects.versions(imp.s3_key)
        if len(versions) != 1:
            return None
        only = versions[0]
        if imp.file_version_id not in (None, only.version_id) or imp.file_etag not in (None, only.etag):
            return None
        imp.file_version_id, imp.file_etag = only.version_id, only.etag
        return only

    def changed(self, imp: Import) -> bool:
        """True when the import's key holds anything but its pinned version."""
        return self.pin(imp.model_copy()) is None

    def on_later_upload(self, imp: Import) -> LaterUpload:
        """An upload event for an import past awaitingFileUpload. Before the commit a version other than
        the pinned one fails the import (FileChanged); once committing, it is removed; a deleted import's
        key is emptied. A concurrent action that wins the import first is read again and handled."""
        for _ in range(3):
            try:
                return self._later_upload(imp)
            except Conflict:
                imp = self.lifecycle.imports.get(imp.tenant, imp.id)
        return self._later_upload(imp)

    def _later_upload(self, imp: Import) -> LaterUpload:
        if imp.status == ImportStatus.DELETED:
            return "removed" if self.objects.delete_versions(imp.s3_key) else "duplicate"
        if imp.file_version_id is None or not self.changed(imp):
            # nothing pinned yet (processing sees every version when it starts), or the pinned upload's
            # own event again
            return "duplicate"
        if imp.status in _BEFORE_COMMIT:
            self.fail(imp)
            return "fileChanged"
        if imp.status in _COMMITTED:
            self.keep_pinned(imp)
            return "removed"
        return "duplicate"  # in error already: it stays as it failed

    def keep_pinned(self, imp: Import) -> None:
        """Remove every version of the import's key but its pinned one (a confirmed import's later uploads)."""
        removed = self.objects.delete_versions(imp.s3_key, keep=imp.file_version_id)
        log.warning("import %s is %s: %d later upload(s) over its file removed", imp.id, imp.status.value, removed)

    def fail(self, imp: Import) -> None:
        """Status error with FileChanged, accounts released. An import awaiting confirmation gives up its
        parked token in the same conditional write (a confirm, amend or delete that won first makes this
        Conflict) and then ends the wait."""
        if imp.status == ImportStatus.AWAITING_CONFIRMATION and imp.task_token:
            self.lifecycle.take_token(imp, "fileChanged", ImportStatus.ERROR,
                                      error_details=[file_changed(), *imp.error_details])
            self.lifecycle.release(imp)
            if imp.token_taken:  # a token that no longer waits changes nothing: the import ended either way
                self.lifecycle.resume(imp.token_taken.token, {"action": "fileChanged"})
            return
        self.lifecycle.fail(imp, [file_changed()])
