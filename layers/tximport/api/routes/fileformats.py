"""`/fileformats`: what the service accepts (no authentication needed)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tximport.api.envelope import envelope
from tximport.errors import NotFound
from tximport.formats.registry import FORMATS, get_format

router = Router()


@router.get("/fileformats", summary="List the file formats", tags=["File formats"],
            description="Every statement format the service imports, with its limits. No token needed.")
def list_formats() -> Response[dict[str, Any]]:
    return envelope([f.to_api() for f in FORMATS.values()])


@router.get("/fileformats/<file_format>/template", summary="Download a template", tags=["File formats"],
            description="A template file for a tabular format (header and two example rows).")
def template(file_format: str) -> Response[str]:
    fmt = get_format(unquote(file_format))  # ids hold '#': clients send it as %23
    if fmt.template is None:
        raise NotFound(f"{fmt.file_format} has no template (only tabular formats do)",
                       code="TemplateNotAvailable", target="fileFormat")
    name, content_type, body = fmt.template
    return Response(status_code=200, content_type=content_type, body=body,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
