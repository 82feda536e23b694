"""Store tests: the database helpers shared by every capability."""
