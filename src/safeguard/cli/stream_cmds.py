"""Commands: placeholder, filled in by its capability."""
