"""Pagination cursors as clients see them: the storage layer's cursor, sealed for one tenant's listing
(storage/pagination.CursorSigner), so a forged, changed or borrowed cursor is `InvalidCursor`."""

from __future__ import annotations

from dataclasses import dataclass

from tximport.models import Tenant
from tximport.runtime import container
from tximport.storage.pagination import CursorSigner


@dataclass(frozen=True)
class Pages:
    """Opens the cursor a client sent and seals the next one, for one listing."""

    signer: CursorSigner
    scope: str

    def open(self, cursor: str | None) -> str | None:
        """The storage cursor of the page asked for (None: the first page)."""
        return self.signer.open(cursor, self.scope)

    def seal(self, cursor: str | None) -> str | None:
        """The cursor to hand out for the next page (None: there is none)."""
        return self.signer.seal(cursor, self.scope)


def pages(tenant: Tenant, listing: str, *within: str) -> Pages:
    """The cursors of `listing` (a route's name) for `tenant`, within the resource and filters named
    (an import id, an account id, a status): a cursor is valid for exactly that listing."""
    scope = "\x1f".join((tenant.organisation_id, tenant.company_id, listing, *within))
    return Pages(container().cursors, scope)
