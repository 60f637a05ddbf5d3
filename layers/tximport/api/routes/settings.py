"""`/settings`: what a tenant decides for itself."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.envelope import answer
from tximport.api.models import UpdateSettingsRequest
from tximport.models import TenantSettings
from tximport.runtime import container

router = Router()


class SettingsOut(schemas.Wire):
    auto_create_accounts: bool
    placeholder_bank_id: str
    placeholder_country_code: str


class SettingsEnvelope(schemas.Envelope[SettingsOut, schemas.EmptyMeta]):
    """The tenant's settings."""


def _view(settings: TenantSettings) -> SettingsEnvelope:
    return SettingsEnvelope(data=SettingsOut(
        auto_create_accounts=settings.auto_create_accounts, placeholder_bank_id=settings.placeholder_bank_id,
        placeholder_country_code=settings.placeholder_country_code), meta=schemas.EmptyMeta())


@router.get("/settings", summary="The tenant's settings", tags=["Settings"],
            description="`autoCreateAccounts` (default true): an accountIdentifier posted to "
                        "/api/public/v1/transactions that no bank account has creates a placeholder account "
                        "(bank placeholderBankId; country the IBAN's, else placeholderCountryCode).",
            responses=schemas.ok(SettingsEnvelope, "The settings", 200, None, 401, 429))
def get_settings() -> Response[SettingsEnvelope]:
    return answer(_view(container().settings_service.get(tenant_of(router))))


@router.patch("/settings", summary="Change the tenant's settings", tags=["Settings"],
              responses=schemas.ok(SettingsEnvelope, "The settings as changed", 200, None, 400, 401, 429))
def update_settings(body: UpdateSettingsRequest) -> Response[SettingsEnvelope]:
    return answer(_view(container().settings_service.update(tenant_of(router), body.data.to_command())))
