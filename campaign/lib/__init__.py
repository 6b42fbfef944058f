"""Mechanisms every app shares: the ledger, the mail outbox, abuse checks, caching, locks and languages."""
