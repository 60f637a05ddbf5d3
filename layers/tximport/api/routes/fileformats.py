"""`/fileformats`: what the service accepts (no authentication needed), and format detection."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.envelope import answer
from tximport.api.models import DetectRequest
from tximport.errors import NotFound, ValidationFailed
from tximport.formats.detect import DETECT_SAMPLE_SIZE, detect
from tximport.formats.registry import FORMATS, get_format

router = Router()

#: the longest base64 text a DETECT_SAMPLE_SIZE sample encodes to (with padding)
_MAX_BASE64 = (DETECT_SAMPLE_SIZE + 2) // 3 * 4

_FORMATS_EXAMPLE: dict[str, Any] = {"data": [FORMATS["Tabular3column#v1"].to_api()], "links": None, "meta": {},
                                    "error": None}
_DETECT_EXAMPLE = {"data": detect(b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Salary,2500.00\n",
                                  "statement.csv").to_api(), "links": None, "meta": {}, "error": None}


@router.get("/fileformats", summary="List the file formats", tags=["File formats"],
            description="Every statement format the service imports, with its limits. No token needed.",
            responses=schemas.ok(schemas.FileFormatsEnvelope, "The formats", 200, _FORMATS_EXAMPLE, 429))
def list_formats() -> Response[schemas.FileFormatsEnvelope]:
    return answer(schemas.FileFormatsEnvelope.model_validate(
        {"data": [f.to_api() for f in FORMATS.values()], "meta": {}}))


@router.get("/fileformats/<file_format>/template", summary="Download a template", tags=["File formats"],
            description="A template file for a tabular format (header and two example rows). The id holds "
                        "'#': send it as %23 (`/fileformats/Tabular3column%23v1/template`).",
            responses={200: {"description": "The template file", "content": {"text/csv": {"schema": {
                "type": "string", "example": "date,description,amount\n2024-01-31,Salary,2500.00\n"}}}},
                **schemas.errors(404, 429)})
def template(file_format: str) -> Response[str]:
    fmt = get_format(unquote(file_format))  # ids hold '#': clients send it as %23
    if fmt.template is None:
        raise NotFound(f"{fmt.file_format} has no template (only tabular formats do)",
                       code="TemplateNotAvailable", target="fileFormat")
    name, content_type, body = fmt.template
    return Response(status_code=200, content_type=content_type, body=body,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/fileformats/detect", summary="Detect a file's format", tags=["File formats"],
             description="Send the first bytes of a file (at most 65,536 bytes, base64-encoded in "
                         "`data.content`; more is refused with 400 `DetectSampleTooLarge`). The answer names "
                         "the format with a confidence from 0 to 1, the other candidates, and for CSV the "
                         "delimiter, header, column roles, decimal separator and date style with a "
                         "`suggestedMapping` usable as the CSV#mapped#v1 mapping. When several formats fit, "
                         "`ambiguous` is true, `fileFormat` is null and `reasons` say why.",
             responses=schemas.ok(schemas.DetectionEnvelope, "What the file is", 200, _DETECT_EXAMPLE,
                                  400, 401, 429))
def detect_format(body: DetectRequest) -> Response[schemas.DetectionEnvelope]:
    tenant_of(router)  # detection is for signed-in callers, like every other non-catalogue route
    content = body.data.content
    sample = b""
    if len(content) <= _MAX_BASE64:  # never decode more than a sample's worth
        try:
            sample = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("content is not valid base64", code="InvalidContent",
                                   target="data.content") from None
    if len(content) > _MAX_BASE64 or len(sample) > DETECT_SAMPLE_SIZE:
        raise ValidationFailed(f"content holds more than {DETECT_SAMPLE_SIZE} bytes once decoded: send only "
                               "the first bytes of the file", code="DetectSampleTooLarge", target="data.content",
                               details=[{"maxBytes": DETECT_SAMPLE_SIZE}])
    return answer(schemas.DetectionEnvelope.model_validate(
        {"data": detect(sample, body.data.file_name).to_api(), "meta": {}}))
