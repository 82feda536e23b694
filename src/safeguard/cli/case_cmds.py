"""Commands: `report cybertipline|nca|transparency`, `audit verify|checkpoint|init-key`,
`cases purge|export-feedback|legal-hold`, `console-user create|list|disable|enable|set-role`."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safeguard.cli.app import app

if TYPE_CHECKING:
    from safeguard.reports.context import ReportContext

report_app = typer.Typer(
    help="Reports from cases: NCMEC CyberTipline, UK NCA, transparency.", no_args_is_help=True
)
audit_app = typer.Typer(help="The tamper-evident evidence and audit chain.", no_args_is_help=True)
cases_app = typer.Typer(
    help="Case store upkeep: retention purge, legal holds, reviewer feedback.", no_args_is_help=True
)
console_user_app = typer.Typer(help="Moderator console users (argon2 password hashes).", no_args_is_help=True)
app.add_typer(report_app, name="report")
app.add_typer(audit_app, name="audit")
app.add_typer(cases_app, name="cases")
app.add_typer(console_user_app, name="console-user")

CaseIdArg = Annotated[str, typer.Argument(metavar="CASE_ID", help="A case id (a decision's case_id).")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


def _date(value: str, name: str) -> date:
    from safeguard.errors import InputError

    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InputError("use YYYY-MM-DD", field=name) from None


@contextmanager
def _case_report(case_id: str, report: str) -> Iterator[ReportContext]:
    """The case's report context inside one transaction (the export is audited)."""
    from safeguard.config import get_settings
    from safeguard.reports import context
    from safeguard.store.db import session_scope

    with session_scope() as session:
        yield context.load(session, get_settings(), case_id, actor=_actor(), report=report)


@report_app.command("cybertipline")
def report_cybertipline(case_id: CaseIdArg, out: OutOpt = None) -> None:
    """NCMEC CyberTipline report XML for a case (stdout by default)."""
    from safeguard.reports import cybertipline

    with _case_report(case_id, "cybertipline") as ctx:
        document = cybertipline.to_xml(ctx)
    for warning in cybertipline.warnings():
        typer.echo(f"warning: {warning}", err=True)
    _emit(document, out)


@report_app.command("nca")
def report_nca(case_id: CaseIdArg, out: OutOpt = None) -> None:
    """UK National Crime Agency report payload (JSON) for a case."""
    from safeguard.reports import nca

    with _case_report(case_id, "nca") as ctx:
        payload = nca.build(ctx)
    _emit(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", out)


@report_app.command("transparency")
def report_transparency(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day (inclusive), YYYY-MM-DD.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write the CSV and HTML.")] = Path("."),
) -> None:
    """Transparency statistics: transparency-FROM-TO.csv and a self-contained .html with charts."""
    from safeguard.config import get_settings
    from safeguard.reports import transparency
    from safeguard.store.db import session_scope

    first, last = _date(start, "--from"), _date(end, "--to")
    transparency.check_range(first, last, names=("--from", "--to"))
    with session_scope() as session:
        stats = transparency.compute(session, get_settings(), first, last)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"transparency-{first.isoformat()}-{last.isoformat()}"
    csv_path, html_path = stem.with_suffix(".csv"), stem.with_suffix(".html")
    csv_path.write_text(transparency.to_csv(stats), encoding="utf-8")
    html_path.write_text(transparency.to_html(stats), encoding="utf-8")
    typer.echo(f"{stats.total} cases; wrote {csv_path} and {html_path}")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Signed checkpoints (JSON lines) to check the chain against (default: audit.checkpoint_path, if it exists).",
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The Ed25519 public key (PEM) that signed them (default: audit.public_key_path, else the signing key).",
        ),
    ] = None,
) -> None:
    """Check the chain, every signed checkpoint, and the cases and message_decisions tables.

    Exit 0 when intact, 1 naming each failed check, 2 when a file cannot be used.
    """
    from safeguard.config import get_settings
    from safeguard.errors import InputError
    from safeguard.evidence.audit import audit, verification_inputs
    from safeguard.store.db import session_scope

    try:
        path, checkpoints, key = verification_inputs(get_settings(), checkpoint, public_key)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with session_scope() as session:
        report = audit(session, checkpoints, key)
    if checkpoints:
        typer.echo(f"checkpoints: {path}")
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        typer.echo(f"failed checks: {', '.join(report.failed_checks())}")
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Digest due message decisions and append a signed checkpoint of the chain's head.

    The checkpoint goes to audit.checkpoint_path (and to webhook targets subscribed to
    audit_checkpoint); the service does this every audit.checkpoint_interval_seconds.
    """
    from safeguard.config import get_settings
    from safeguard.errors import SafeguardError
    from safeguard.service.upkeep import seal
    from safeguard.store.db import get_sessionmaker

    settings = get_settings()
    try:
        result = seal(get_sessionmaker(), settings, actor=_actor())
    except SafeguardError as exc:
        typer.echo(f"REFUSED: {exc}", err=True)
        raise typer.Exit(1) from None
    written = result.checkpoint
    assert written is not None
    if written.key_created:
        typer.echo(f"created the audit signing key (key {written.checkpoint.key_id})")
    typer.echo(
        f"{len(result.digest_seqs)} decision digests appended; checkpoint of record {written.checkpoint.seq} "
        f"signed by key {written.checkpoint.key_id}, appended to {written.path}"
    )


@audit_app.command("init-key")
def audit_init_key() -> None:
    """Create the Ed25519 audit signing key (mode 0600) and its public key, unless they exist."""
    from safeguard.config import get_settings
    from safeguard.errors import InputError
    from safeguard.evidence import keys

    settings = get_settings()
    try:
        key, created = keys.ensure_signing_key(settings)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    state = "created" if created else "exists"
    typer.echo(f"audit signing key {state}: {keys.key_path(settings)} (key {keys.key_id(key.public_key())})")
    typer.echo(f"public key for verifiers: {keys.public_key_path(settings)}")


@cases_app.command("purge")
def cases_purge(
    days: Annotated[
        int | None, typer.Option(help="Retention in days (default: retention.escalations_days).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be purged.")] = False,
) -> None:
    """Purge evidence past retention (not under legal hold); logs what it removed."""
    from safeguard.config import get_settings
    from safeguard.evidence.retention import purge
    from safeguard.store.db import session_scope

    with session_scope() as session:
        result = purge(session, get_settings(), days=days, dry_run=dry_run, actor=_actor())
    typer.echo(json.dumps(result.to_dict(), indent=2))


@cases_app.command("legal-hold")
def cases_legal_hold(
    case_id: CaseIdArg,
    release: Annotated[bool, typer.Option("--release", help="Lift the hold instead.")] = False,
) -> None:
    """Place (or lift) a legal hold: held evidence is never purged."""
    from safeguard.cases.service import set_legal_hold
    from safeguard.config import get_settings
    from safeguard.store.db import session_scope

    with session_scope() as session:
        set_legal_hold(session, get_settings(), case_id, hold=not release, actor=_actor())
    typer.echo(f"legal hold {'lifted' if release else 'placed'} on {case_id}")


@cases_app.command("export-feedback")
def cases_export_feedback(
    out: OutOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="csv (for `safeguard train`) or jsonl.")] = "csv",
) -> None:
    """Reviewer outcomes as labelled examples (id,text,label,...) for `safeguard train`."""
    from safeguard.cases import feedback
    from safeguard.errors import InputError
    from safeguard.store.db import session_scope

    if fmt not in ("csv", "jsonl"):
        raise InputError("must be csv or jsonl", field="--format")
    with session_scope() as session:
        items = list(feedback.examples(session))
    _emit(feedback.to_csv(items) if fmt == "csv" else feedback.to_jsonl(items), out)


@console_user_app.command("create")
def console_user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="reviewer or admin")] = "reviewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a console user (or reset their password and role)."""
    from safeguard.store.db import session_scope
    from safeguard.web.auth import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_scope() as session:
        user = create_user(session, username, password, role, actor=_actor())
        state = " [disabled: `console-user enable` to let them log in]" if user.disabled_at else ""
        typer.echo(f"console user {user.username} ({user.role}) saved{state}")


UserArg = Annotated[str, typer.Argument(metavar="NAME", help="A console user's login name.")]


def _user_change(change: str, username: str, role: str | None = None) -> None:
    """Apply one change to a console user (audited); exit 2 naming the problem when refused."""
    from safeguard.errors import InputError
    from safeguard.store.db import session_scope
    from safeguard.web import users

    try:
        with session_scope() as session:
            if change == "set-role":
                assert role is not None
                changed = users.set_role(session, username, role, actor=_actor())
            else:
                changed = users.set_disabled(session, username, change == "disable", actor=_actor())
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    done = {"disable": "disabled (sessions ended)", "enable": "enabled", "set-role": f"now {role}"}[change]
    typer.echo(f"console user {username} {done}" if changed else f"console user {username}: no change")


@console_user_app.command("list")
def console_user_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per user.")] = False,
) -> None:
    """List console users: role, enabled or disabled, live sessions, created."""
    from safeguard.store.db import session_scope
    from safeguard.web.users import list_users

    with session_scope() as session:
        listed = list_users(session)
    for user in listed:
        if as_json:
            typer.echo(json.dumps(user.to_dict()))
            continue
        state = "enabled" if user.enabled else f"disabled {user.disabled_at:%Y-%m-%d %H:%M}"
        created = f"{user.created_at:%Y-%m-%d}" if user.created_at else "-"
        typer.echo(f"{user.username:<24} {user.role:<9} {state:<27} {user.sessions:>3} sessions  {created}")


@console_user_app.command("disable")
def console_user_disable(username: UserArg) -> None:
    """Disable a user: they cannot log in and their sessions end (never the last enabled admin)."""
    _user_change("disable", username)


@console_user_app.command("enable")
def console_user_enable(username: UserArg) -> None:
    """Enable a disabled user again."""
    _user_change("enable", username)


@console_user_app.command("set-role")
def console_user_set_role(
    username: UserArg,
    role: Annotated[str, typer.Argument(metavar="ROLE", help="reviewer or admin")],
) -> None:
    """Change a user's role (never demoting the last enabled admin)."""
    _user_change("set-role", username, role)
