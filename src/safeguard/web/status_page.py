"""The console's status page (``/console/status``), registered on the console router from
here: the picture ``safeguard status`` and ``/metrics`` give operators, for leads and admins.
Open cases by kind and SLA class with the oldest waiting and the overdue counts, decisions
per reviewer, webhook deliveries, the stream's lag and dead letters per partition, and the
detector's latency from this server's own metrics registry.

The backlog comes from the service's shared :class:`~safeguard.service.status.StatusReader`,
the reading ``/metrics`` uses (taken at most once per ``[operations] backlog_cache_seconds``),
so opening the page costs no aggregate queries of its own. Viewing is audited
(``view_status``); a role without access gets 403, audited as ``view_refused``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safeguard.cases import service as cases
from safeguard.cases.sla import SLA_LABELS, humane_minutes
from safeguard.service.container import Services
from safeguard.service.metrics import histogram_summary
from safeguard.service.status import Status, StreamStatus
from safeguard.web import routes
from safeguard.web.auth import Identity

# Console roles that may open the page (``web.auth.ROLES``; a lead role would join here).
STATUS_ROLES = ("admin",)
DETECTOR = "safeguard_detector_seconds"


def register(router: APIRouter) -> None:
    """Add the status page to ``router`` (and tell the navigation who may see it)."""
    router.add_api_route("/status", status_page, methods=["GET"])
    routes.templates.globals["status_roles"] = STATUS_ROLES


def may_see_status(user: Identity) -> bool:
    """True when ``user``'s role may open the status page."""
    return user.role in STATUS_ROLES


def waited(seconds: float) -> str:
    """How long something has waited, in the queue's words (``12 min``, ``3 h``, ``2 days``)."""
    return humane_minutes(seconds / 60.0) if seconds > 0 else "none waiting"


def backlog_view(status: Status) -> dict[str, Any]:
    """The backlog of one reading, in words for the template (pure)."""
    kinds = [
        {
            "kind": k.kind,
            "open": k.open,
            "by_age": k.by_age,
            "overdue": k.overdue,
            "oldest": waited(k.oldest_seconds),
        }
        for k in status.cases
    ]
    classes = [
        {
            "kind": s.kind,
            "sla_class": s.sla_class,
            "label": SLA_LABELS.get(s.sla_class, s.sla_class),
            "target": humane_minutes(s.target_minutes),
            "open": s.open,
            "overdue": s.overdue,
            "oldest": waited(s.oldest_seconds),
        }
        for s in status.sla
    ]
    return {
        "at": status.at,
        "open": status.open_cases,
        "overdue": status.overdue_cases,
        "oldest": waited(status.oldest_open_seconds),
        "kinds": kinds,
        "classes": classes,
        "window_hours": f"{status.decisions_window_hours:g}",
        "reviewers": sorted(status.decisions_by_reviewer.items(), key=lambda item: (-item[1], item[0])),
        "webhooks": status.webhooks,
        "webhook_oldest": waited(status.webhooks.oldest_pending_seconds),
    }


def stream_view(stream: StreamStatus | None) -> dict[str, Any] | None:
    """The stream's partitions in words, or None when no stream is configured (pure)."""
    if stream is None:
        return None
    return {
        "prefix": stream.prefix,
        "error": stream.error,
        "dead_letters": stream.dead_letters,
        "live_workers": stream.live_workers,
        "partitions": [
            {
                "partition": p.partition,
                "backlog": p.backlog,
                "pending": p.pending,
                "lag": "?" if p.lag is None else p.lag,
                "oldest": waited(p.oldest_seconds),
            }
            for p in stream.partitions
        ],
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def detector_latency(services: Services) -> dict[str, str] | None:
    """The detector's latency per message from this server's metrics registry (summed over
    its worker processes), or None when no message has been scored yet."""
    summary = histogram_summary(services.metrics.render().decode(), DETECTOR)
    if summary is None:
        return None
    bound = summary["p95_seconds_at_most"]
    return {
        "count": f"{summary['count']:.0f}",
        "mean": _ms(summary["mean_seconds"]),
        "p95": "over 1 s" if bound == float("inf") else f"at most {_ms(bound)}",
    }


def status_page(request: Request) -> Response:
    """The deployment at a glance (admins; the view is audited)."""
    user = routes._identity(request)
    if user is None:
        return routes._login_redirect()
    services = routes._services(request)
    if not may_see_status(user):
        with services.write() as session:
            cases.audit(session, user.actor, "view_refused", None, {"page": "status"})
        return routes._forbidden(request, user, "The status page is for admins.")
    status = services.status.read()
    latency = detector_latency(services)
    with services.write() as session:
        cases.audit(session, user.actor, "view_status", None, {"at": status.at})
    return routes.render(
        request,
        "status.html",
        user=user,
        backlog=backlog_view(status),
        stream=stream_view(status.stream),
        stream_configured=services.settings.stream.url is not None,
        latency=latency,
        cache_seconds=f"{services.settings.operations.backlog_cache_seconds:g}",
    )
