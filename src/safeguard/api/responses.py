"""A fast JSON response (orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class JSON(JSONResponse):
    """JSONResponse rendered with orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
