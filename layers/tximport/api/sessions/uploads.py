"""The upload's multipart/form-data body, read with python-multipart. API Gateway hands a multipart
body over base64-encoded; its size is bounded by API Gateway (10 MB) and checked again here."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from python_multipart import create_form_parser
from python_multipart.exceptions import FormParserError

from tximport.errors import DomainError, ValidationFailed
from tximport.models import DateStyle
from tximport.services.sessions.upload import MAX_UPLOAD_BYTES


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "FileTooLarge"


@dataclass(slots=True)
class UploadForm:
    content: bytes
    file_name: str | None
    file_format: str | None
    date_style: DateStyle | None


def read_upload(event: Any) -> UploadForm:
    """The `file` field (required) and the optional `file_format` and `date_style` fields."""
    content_type = str(event.headers.get("content-type") or "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed("send the file as multipart/form-data with the field `file`", code="MultipartRequired",
                               target="file")
    raw = event.body or ""
    if len(raw) > (MAX_UPLOAD_BYTES + 64 * 1024) * 4 // 3 + 4:
        raise PayloadTooLarge(f"the upload is larger than {MAX_UPLOAD_BYTES} bytes", target="file")
    try:
        body = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("latin-1")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValidationFailed("the body could not be decoded", target="file") from None
    files: dict[str, tuple[bytes, str | None]] = {}
    fields: dict[str, str] = {}
    repeated: list[str] = []

    def on_field(field: Any) -> None:
        name = (field.field_name or b"").decode("utf-8", "replace")
        fields[name] = (field.value or b"").decode("utf-8", "replace")

    def on_file(file: Any) -> None:
        name = (file.field_name or b"").decode("utf-8", "replace")
        if name in files:
            repeated.append(name)
        handle = file.file_object
        handle.seek(0)
        files[name] = (handle.read(), (file.file_name or b"").decode("utf-8", "replace") or None)

    try:
        parser = create_form_parser({"Content-Type": content_type.encode("latin-1"),
                                     "Content-Length": str(len(body)).encode()}, on_field, on_file,
                                    config={"MAX_MEMORY_FILE_SIZE": MAX_UPLOAD_BYTES + 1,
                                            "MAX_BODY_SIZE": len(body) + 1})
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError, UnicodeError) as exc:
        raise ValidationFailed(f"the multipart body is malformed: {exc}", code="InvalidMultipart",
                               target="file") from None
    if "file" not in files:
        raise ValidationFailed("the form has no `file` field", code="FileRequired", target="file")
    if "file" in repeated:  # one upload stages one file: a second one would be left out unseen
        raise ValidationFailed("the form has more than one `file` field; upload one file at a time",
                               code="OneFileOnly", target="file")
    content, file_name = files["file"]
    if len(content) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"the file is larger than {MAX_UPLOAD_BYTES} bytes", target="file")
    style = fields.get("date_style") or None
    if style is not None and style not in {s.value for s in DateStyle}:
        raise ValidationFailed("date_style is bigEndian, littleEndian or middleEndian", target="date_style")
    return UploadForm(content, file_name, fields.get("file_format") or None, DateStyle(style) if style else None)
