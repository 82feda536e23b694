"""`safeguard demo`: what `make run` does on the embedded default.

Scans the bundled example conversations and prints the risk report, then seeds
the configured database (SQLite under the data directory by default): the demo
accounts, a console reviewer ``demo-reviewer`` with a freshly generated password
(printed; each run sets a new one), and the bundled conversations sent through
the service's message path (``MessageEngine``, as ``POST /v1/messages`` does),
so their escalations open real cases in the console's queue. Seeding is
idempotent: the messages' keys replay their stored decisions, so a second run
adds no decision and no case. Then it starts the safety service and prints its
URL and the console's (``--no-serve`` stops after seeding, ``--no-seed`` skips it).
The demo is served over plain HTTP, so its console cookies go without ``Secure``
(a development setting, ``SAFEGUARD_CONSOLE_SECURE_COOKIES=false``, unless the
environment sets it).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from safeguard.cli.app import app

if TYPE_CHECKING:
    from safeguard.config import Settings
    from safeguard.policy.events import Detector, MessageEvent

DEMO_REVIEWER = "demo-reviewer"
KNOWN_BANDS = ("child", "teen", "adult")


def bundled_examples() -> Path:
    """Path of the bundled example conversations (JSONL)."""
    return Path(str(resources.files("safeguard.data.examples") / "conversations.jsonl"))


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What seeding did: the reviewer's login, the messages decided for the first time, the
    demo conversations' open cases."""

    reviewer: str
    password: str
    new_messages: int
    open_cases: int


def _rows(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def demo_messages(path: Path) -> tuple[list[MessageEvent], dict[str, str]]:
    """The bundled conversations as the API's message events (each message goes to the
    conversation's other participants), and the participants' stated age bands."""
    from safeguard.policy.events import MessageBody

    rows = list(_rows(path))
    people: dict[str, dict[str, str]] = {}
    for row in rows:
        people.setdefault(row["conversation_id"], {})[row["sender_id"]] = row.get("sender_age_band") or ""
    events = [
        MessageBody(
            **row, recipient_ids=[p for p in people[row["conversation_id"]] if p != row["sender_id"]]
        ).to_event()
        for row in rows
    ]
    bands = {p: band for members in people.values() for p, band in members.items() if band in KNOWN_BANDS}
    return events, bands


def seed_demo(settings: Settings, detector: Detector, path: Path | None = None) -> DemoSeed:
    """Demo accounts, the demo reviewer and the bundled conversations' cases (idempotent)."""
    from sqlalchemy import func, select

    from safeguard.accounts import service as accounts
    from safeguard.cases.models import CaseRow
    from safeguard.service.container import build_services
    from safeguard.service.demo import load_demo_data
    from safeguard.web.auth import create_user

    events, bands = demo_messages(path or bundled_examples())
    services = build_services(settings, detector=detector)
    try:
        with services.write() as session:
            load_demo_data(session)
            for account_id, band in sorted(bands.items()):
                if accounts.get_account(session, account_id) is None:
                    accounts.upsert_account(session, account_id, age_band=band, settings=settings)
        outcomes = services.engine.process_many(events)
        password = secrets.token_urlsafe(12)
        with services.write() as session:
            create_user(session, DEMO_REVIEWER, password, "reviewer", actor="cli:demo")
            conversations = sorted({e.conversation_id for e in events})
            open_cases = session.execute(
                select(func.count())
                .select_from(CaseRow)
                .where(CaseRow.conversation_id.in_(conversations), CaseRow.status == "open")
            ).scalar_one()
    finally:
        services.engine.close()
    return DemoSeed(DEMO_REVIEWER, password, sum(o.created for o in outcomes), int(open_cases))


@app.command()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the service after seeding.")
    ] = True,
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Load demo accounts, reviewer and cases first.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface for the service.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the service.")] = 8000,
    fast: Annotated[bool, typer.Option("--fast", help="Skip the embedding stage in the report.")] = False,
) -> None:
    """Scan the bundled example conversations, seed demo data and open cases, then serve."""
    from safeguard.cli.text_cmds import _print_table
    from safeguard.config import get_settings
    from safeguard.text import load_detector
    from safeguard.text.pipeline import InputSpec, scan_input

    console = Console()
    path = bundled_examples()
    console.print(f"[bold]Safeguard demo[/]: scanning the bundled example conversations ({path.name})")
    detector = load_detector(embeddings=False if fast else None)
    results = list(scan_input(detector, InputSpec(path=str(path), fmt="jsonl")))
    _print_table(results, early=True, top=len(results), threshold=detector.threshold)
    os.environ.setdefault("SAFEGUARD_CONSOLE_SECURE_COOKIES", "false")
    settings = get_settings()
    if seed:
        done = seed_demo(settings, detector, path)
        console.print(
            f"\n[bold]Demo data[/] in {settings.resolved_database_url()}: {done.new_messages} new messages "
            f"decided, {done.open_cases} open demo cases."
            f"\nConsole reviewer: [cyan]{done.reviewer}[/]  password: [cyan]{done.password}[/]"
            "  (a new password every run)"
        )
    if not serve:
        return
    from safeguard.server.serve import run

    console.print(
        f"\n[bold green]Safety service[/] on http://{host}:{port}  (OpenAPI docs: http://{host}:{port}/docs)"
        f"\nReview console: [bold]http://{host}:{port}/console[/]"
        f"\nData: {settings.resolved_database_url()}  |  create an API key: "
        "[cyan]safeguard keys create --scope ingest --scope review[/]  |  Ctrl-C stops it."
        "\n[yellow]Development mode[/]: console cookies are sent over plain HTTP (not Secure)."
    )
    run(host=host, port=port, log_level="warning")
