"""Import sessions (the third document the service follows): workspaces, sessions of staged
transactions, the catalog they refer to (cards, invoices, categories, tags, recurring items, enrichment
rules) and the pure rules between them (sign rule, statuses, balances, enrichment, binding).

Nothing in this package touches AWS: storage lives in `tximport.storage.sessions`, use cases in
`tximport.services.sessions`, the HTTP presentation in `tximport.api.sessions`.
"""
