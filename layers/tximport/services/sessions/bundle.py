"""Every import-session use case over one set of dependencies (what the container hands the routes)."""

from __future__ import annotations

from functools import cached_property

from tximport.services.sessions.bind import BindService
from tximport.services.sessions.catalog import CatalogService
from tximport.services.sessions.commit import CommitService
from tximport.services.sessions.deps import Deps
from tximport.services.sessions.enrich import EnrichService
from tximport.services.sessions.recurring import RecurringSlots
from tximport.services.sessions.sessions import SessionService
from tximport.services.sessions.staged import StagedService
from tximport.services.sessions.upload import UploadService
from tximport.services.sessions.workspaces import WorkspaceService


class SessionsUseCases:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @cached_property
    def workspaces(self) -> WorkspaceService:
        return WorkspaceService(self.deps.repo)

    @cached_property
    def catalog(self) -> CatalogService:
        return CatalogService(self.deps)

    @cached_property
    def recurring(self) -> RecurringSlots:
        return RecurringSlots(self.deps)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self.deps)

    @cached_property
    def staged(self) -> StagedService:
        return StagedService(self.deps)

    @cached_property
    def upload(self) -> UploadService:
        return UploadService(self.deps)

    @cached_property
    def enrich(self) -> EnrichService:
        return EnrichService(self.deps)

    @cached_property
    def bind(self) -> BindService:
        return BindService(self.deps)

    @cached_property
    def commit(self) -> CommitService:
        return CommitService(self.deps)
