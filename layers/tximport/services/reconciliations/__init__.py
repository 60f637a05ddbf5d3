"""Use cases of reconciliations: create, query, match (the workflow), manual decisions."""
