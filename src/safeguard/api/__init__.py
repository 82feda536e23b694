"""The HTTP API door: FastAPI routes by role, request and response schemas, the message hot path."""
