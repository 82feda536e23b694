"""Accounts: age bands and assurance, connections, contact permissions, account-level risk, API keys."""
