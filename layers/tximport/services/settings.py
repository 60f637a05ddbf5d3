"""A tenant's settings."""

from __future__ import annotations

from tximport.commands import UpdateSettings
from tximport.models import Tenant, TenantSettings
from tximport.storage.repository import SettingsStore


class SettingsService:
    def __init__(self, settings: SettingsStore) -> None:
        self.settings = settings

    def get(self, tenant: Tenant) -> TenantSettings:
        """The tenant's settings (the defaults until it changes one)."""
        return self.settings.get(tenant)

    def update(self, tenant: Tenant, command: UpdateSettings) -> TenantSettings:
        """Change the settings the command names; the others stay as they are."""
        changes = command.model_dump(exclude_none=True)
        updated = self.settings.get(tenant).model_copy(update=changes)
        self.settings.put(tenant, updated)
        return updated
