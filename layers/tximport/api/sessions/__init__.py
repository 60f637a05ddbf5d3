"""The import-sessions dialect of the API (the third document): snake_case JSON with no envelope,
amounts as JSON numbers, errors as `{"error": "...", "code": "...", "field": "..."}`, and the
`X-Workspace-ID` header on every route. Routers: `sessions.py`, `staged.py`, `catalog.py`,
`enrichment.py`, `workspaces.py`; shapes in `models.py`, presentation in `views.py`."""

#: the paths of this dialect: errors on them take its shape, never the core envelope
PREFIXES = ("/import-sessions", "/staged-transactions", "/enrichment", "/enrichment-rules", "/workspaces", "/cards",
            "/categories", "/subcategories", "/tags", "/recurring", "/recurring-card-transactions")


def owns(path: str | None) -> bool:
    """True when `path` is a route of this dialect."""
    path = path or ""
    return any(path == p or path.startswith(p + "/") for p in PREFIXES)
