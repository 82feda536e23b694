"""The composition root: one process serving the HTTP API and the moderator console.

:func:`~safeguard.server.app.create_app` builds the services once
(:func:`safeguard.service.container.build_services`) and mounts both doors on them;
:func:`~safeguard.server.serve.run` serves that app with uvicorn (``safeguard serve``).
Nothing imports this package but the CLI and the tests.
"""

from safeguard.server.app import create_app
from safeguard.server.serve import run

__all__ = ["create_app", "run"]
