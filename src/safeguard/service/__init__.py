"""The service layer every door stands on: the API, the console, the stream workers, the CLI.

:mod:`~safeguard.service.container` wires the store, the detector and the message
engine once (``build_services``), with what runs beside them: webhooks, upkeep
(retention, audit sealing, cases for escalations left without one), metrics,
model warm-up and rate limits. Doors take a :class:`~safeguard.service.container.Services`
and never import each other; :mod:`safeguard.server` composes the HTTP doors.
"""
