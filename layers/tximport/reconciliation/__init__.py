"""Reconciliations: expected entries matched against an account's ledger (domain models and the engine)."""
