"""Tolerant parsers for memos, the ledger, plans and the memory file."""
