"""Commands for known-abuse media matching: ``hash``, ``match``, ``bank ...`` and ``url ...``.

Exit status of ``match`` and ``url match``: 0 = at least one match, 1 = no
match, 2 = error (a bad file, hash or bank; other inputs are still reported).
``hash`` exits 2 when any file could not be hashed. ``bank import`` exits 0
when every row was accepted, 1 when some rows were rejected (and listed) and
the rest imported, 2 when the import failed and nothing was written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli.app import app, bank_app
from safeguard.cli.progress import QuietOpt, bars_enabled, counting, iterate
from safeguard.errors import InputError, SafeguardError

url_app = typer.Typer(help="URL lists: import, match URLs or text, normalise.", no_args_is_help=True)
app.add_typer(url_app, name="url")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_PROGRESS_MIN_FILES = 10

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
BankOpt = Annotated[
    list[str] | None, typer.Option("--bank", "-b", help="Bank to match against (repeatable).")
]


def _emit(obj: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _report_error(path: str | None, exc: Exception, as_json: bool) -> None:
    message = str(exc)
    if as_json:
        _emit({"path": path, "error": message})
    else:
        err.print(f"[bold red]error:[/] {message}", markup=True)


def _expand(paths: list[Path]) -> Iterator[tuple[str, Path]]:
    """Each file as given, and the files under each directory (sorted)."""
    for p in paths:
        if p.is_dir():
            for child in sorted(c for c in p.rglob("*") if c.is_file()):
                yield str(child), child
        else:
            yield str(p), p


def _progress_iter(items: list[tuple[str, Path]], label: str) -> Iterator[tuple[str, Path]]:
    enabled = len(items) >= _PROGRESS_MIN_FILES and bars_enabled(err)
    return iterate(items, label, err, enabled=enabled, total=len(items))


@app.command("hash")
def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="Image or video files (or directories).")],
    as_json: JsonOpt = False,
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="Also the PDQ hashes of the 8 rotations/flips.")
    ] = False,
) -> None:
    """Hash images (PDQ + quality, MD5, SHA-256) and videos (vPDQ frames, MD5).

    Only hashes are printed; the media is not kept. PDQ quality below 50 is
    reported as too weak to act on.
    """
    from safeguard.media.hashing import hash_file

    failed = 0
    for label, path in _progress_iter(list(_expand(paths)), "hashing"):
        try:
            result = hash_file(path, dihedral=dihedral)
        except SafeguardError as exc:
            failed += 1
            _report_error(label, exc, as_json)
            continue
        record = {"path": label, **result.to_dict()}
        if as_json:
            _emit(record)
            continue
        if result.kind == "video":
            frames = record["vpdq"]
            out.print(f"{label}  video  frames={len(frames)}  md5={result.md5}")
            for f in frames:
                out.print(f"  {f['timestamp']:8.3f}s  q={f['quality']:3d}  {f['pdq']}")
            continue
        weak = "  TOO WEAK (quality < 50: do not act on PDQ)" if result.too_weak else ""
        out.print(f"{label}  pdq={result.pdq}  quality={result.pdq_quality}{weak}")
        out.print(f"  md5={result.md5}  sha256={result.sha256}")
        for i, h in enumerate(result.pdq_dihedral or ()):
            out.print(f"  dihedral[{i}]={h}")
    if failed:
        raise typer.Exit(2)


def _session():  # type: ignore[no-untyped-def]
    from safeguard.store.db import session_scope

    return session_scope()


@app.command("match")
def match_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Image or video files (or directories).")] = None,
    bank: BankOpt = None,
    all_banks: Annotated[bool, typer.Option("--all", help="Match against every bank.")] = False,
    pdq: Annotated[list[str] | None, typer.Option("--pdq", help="Match a PDQ hash (hex).")] = None,
    md5: Annotated[list[str] | None, typer.Option("--md5", help="Match an MD5 (hex).")] = None,
    sha256: Annotated[list[str] | None, typer.Option("--sha256", help="Match a SHA-256 (hex).")] = None,
    max_distance: Annotated[
        int, typer.Option("--max-distance", min=0, max=64, help="PDQ Hamming distance.")
    ] = 31,
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="Also match rotated/flipped versions of images.")
    ] = False,
    weak: Annotated[bool, typer.Option("--weak", help="Also match PDQ hashes of quality < 50.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Match files or hashes against hash banks (exit 0 match, 1 no match, 2 error)."""
    from safeguard.media.hashing import hash_file
    from safeguard.media.matching import match_hashes, match_media

    if bool(bank) == all_banks:
        raise InputError("choose the banks: --bank NAME (repeatable) or --all")
    banks = None if all_banks else list(bank or [])
    items = list(_expand(paths or []))
    if not items and not (pdq or md5 or sha256):
        raise InputError("nothing to match: give files, or --pdq/--md5/--sha256 hashes")
    matched = failed = 0

    def show(label: str, matches: list, extra: dict[str, object]) -> None:  # type: ignore[type-arg]
        nonlocal matched
        matched += bool(matches)
        if as_json:
            _emit({"path": label, **extra, "matches": [m.to_dict() for m in matches]})
            return
        if not matches:
            out.print(f"{label}  no match{extra.get('note', '')}")
            return
        for m in matches:
            shares = ""
            if m.query_match_percent is not None:
                shares = f"  frames={m.query_match_percent:.0f}%/{m.compared_match_percent:.0f}%"
            out.print(
                f"{label}  MATCH  bank={m.bank}  {m.signal_type}  distance={m.distance}{shares}"
                f"  category={m.category or '-'}  source={m.source or '-'}"
                f"  external_id={m.external_id or '-'}  entry={m.entry_id}"
            )

    with _session() as session:
        for kind, values in (("pdq", pdq), ("md5", md5), ("sha256", sha256)):
            for value in values or []:
                try:
                    found = match_hashes(session, **{kind: value}, banks=banks, max_distance=max_distance)
                except InputError as exc:
                    if "no bank named" in exc.reason:
                        raise
                    failed += 1
                    _report_error(value, InputError(f"{kind} {value!r}: {exc.reason}"), as_json)
                    continue
                show(value, found, {"hash": value, "signal_type": kind})
        for label, path in _progress_iter(items, "matching"):
            try:
                hashes = hash_file(path, dihedral=dihedral)
            except SafeguardError as exc:
                failed += 1
                _report_error(label, exc, as_json)
                continue
            found = match_media(session, hashes, banks=banks, max_distance=max_distance, use_weak_pdq=weak)
            note = ""
            if hashes.kind == "image" and hashes.too_weak and not weak:
                note = " (PDQ quality < 50: too weak, matched on MD5/SHA-256 only)"
            extra: dict[str, object] = {
                "kind": hashes.kind,
                "pdq": hashes.pdq,
                "pdq_quality": hashes.pdq_quality,
                "too_weak": hashes.too_weak,
                "md5": hashes.md5,
                "sha256": hashes.sha256,
                "note": note.strip(" ()"),
            }
            show(label, found, extra if as_json else {"note": note})
    raise typer.Exit(2 if failed else (0 if matched else 1))


@bank_app.command("create")
def bank_create(
    name: Annotated[str, typer.Argument(help="Bank name (letters, digits, _ . -).")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
) -> None:
    """Create an empty hash bank."""
    from safeguard.media.banks import create_bank

    with _session() as session:
        create_bank(session, name, description)
    out.print(f"created bank {name}")


@bank_app.command("list")
def bank_list(as_json: JsonOpt = False) -> None:
    """List hash banks with entry counts per signal type."""
    from safeguard.media.banks import list_banks

    with _session() as session:
        banks = list_banks(session)
    if as_json:
        for b in banks:
            _emit(
                {
                    "name": b.name,
                    "description": b.description,
                    "created_at": b.created_at,
                    "entries": b.total,
                    "counts": b.counts,
                }
            )
        return
    if not banks:
        out.print("no banks (create one with 'safeguard bank create NAME')")
        return
    table = Table("bank", "entries", "by type", "created", "description")
    for b in banks:
        by_type = ", ".join(f"{k}={v}" for k, v in sorted(b.counts.items())) or "-"
        table.add_row(b.name, str(b.total), by_type, b.created_at[:19], b.description)
    out.print(table)


@bank_app.command("import")
def bank_import(
    name: Annotated[str, typer.Argument(help="Bank to import into.")],
    file: Annotated[Path, typer.Argument(help="List file.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="auto, csv (hash,signal_type[,category,source,external_id]), ncmec-xml, "
            "te-csv (threatexchange dataset --csv), te-file ('<type> <signal>' lines), urls.",
        ),
    ] = "auto",
    create: Annotated[bool, typer.Option("--create", help="Create the bank if missing.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Import nothing if any row is rejected.")] = False,
    source: Annotated[str, typer.Option("--source", help="Source list for rows without one.")] = "",
    category: Annotated[str, typer.Option("--category", help="Category for rows without one.")] = "",
    signal_type: Annotated[str, typer.Option("--signal-type", help="te-file: type of bare signals.")] = "",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Import a hash list (idempotent); reports added, duplicate and rejected rows."""
    from safeguard.media.banks import import_file
    from safeguard.media.importers import FORMATS

    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    with (
        _session() as session,
        counting("importing", err, enabled=bars_enabled(err, quiet), unit="rows") as counter,
    ):
        report = import_file(
            session,
            name,
            file,
            fmt=fmt,
            create=create,
            strict=strict,
            source=source,
            category=category,
            signal_type=signal_type,
            on_progress=counter,
        )
    _print_report(report, str(file), as_json)
    raise typer.Exit(1 if report.rejected_count else 0)


def _print_report(report, label: str, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        _emit({"file": label, **report.to_dict()})
        return
    out.print(
        f"{label} -> bank {report.bank}: added {report.added}, duplicates {report.duplicates}, "
        f"rejected {report.rejected_count}" + (f", removed {report.removed}" if report.removed else "")
    )
    for reason, count in sorted(report.skipped.items()):
        out.print(f"  skipped {count}: {reason}")
    for where, reason in report.rejected:
        err.print(f"  rejected {label}, {where}: {reason}")
    if report.rejected_count > len(report.rejected):
        err.print(f"  ... and {report.rejected_count - len(report.rejected)} more rejected rows")


@bank_app.command("export")
def bank_export(
    name: Annotated[str, typer.Argument(help="Bank to export.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file (default: stdout).")] = None,
) -> None:
    """Export a bank as CSV (hash,signal_type,category,source,external_id,added_at)."""
    import csv

    from safeguard.media.banks import EXPORT_COLUMNS, export_rows, get_bank

    with _session() as session:
        get_bank(session, name)
        handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            count = 0
            for row in export_rows(session, name):
                writer.writerow(row)
                count += 1
        finally:
            if output:
                handle.close()
    if output:
        out.print(f"exported {count} entries from {name} to {output}")


@bank_app.command("remove")
def bank_remove(
    name: Annotated[str, typer.Argument(help="Bank to delete with all its entries.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a hash bank and its entries."""
    from safeguard.media.banks import get_bank, remove_bank

    with _session() as session:
        get_bank(session, name)
    if not yes and not typer.confirm(f"Delete bank {name!r} and all its entries?"):
        raise typer.Exit(1)
    with _session() as session:
        count = remove_bank(session, name)
    out.print(f"removed bank {name} ({count} entries)")


@url_app.command("import")
def url_import(
    name: Annotated[str, typer.Argument(help="URL bank to import into.")],
    file: Annotated[Path, typer.Argument(help="One URL, or MD5 of a normalised URL, per line.")],
    md5: Annotated[str, typer.Option("--md5", help="auto (32-hex lines are MD5s), true or false.")] = "auto",
    create: Annotated[bool, typer.Option("--create", help="Create the bank if missing.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Import nothing if any row is rejected.")] = False,
    source: Annotated[str, typer.Option("--source")] = "",
    category: Annotated[str, typer.Option("--category")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Import a URL list (plain URLs or URL MD5s) into a bank; idempotent."""
    from safeguard.media.banks import import_rows
    from safeguard.media.importers import url_list

    if md5 not in ("auto", "true", "false"):
        raise InputError("--md5 must be auto, true or false")
    with _session() as session:
        try:
            report = import_rows(
                session,
                name,
                url_list.read(file, source=source, category=category, md5=md5),
                create=create,
                strict=strict,
                source=source,
                category=category,
                signal_types=frozenset({"url", "url_md5"}),
            )
        except InputError as exc:
            if exc.path is None:
                raise InputError(exc.reason, path=str(file)) from None
            raise
    _print_report(report, str(file), as_json)
    raise typer.Exit(1 if report.rejected_count else 0)


@url_app.command("match")
def url_match(
    urls: Annotated[list[str] | None, typer.Argument(help="URLs to check.")] = None,
    text: Annotated[
        Path | None, typer.Option("--text", help="Check every URL in this text file ('-' = stdin).")
    ] = None,
    bank: BankOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Match URLs, or every URL in a text, against URL banks (exit 0 match, 1 none, 2 error)."""
    from safeguard.media.urls import extract_urls, match_urls, normalise_url

    candidates = list(urls or [])
    if text is not None:
        if str(text) == "-":
            body = sys.stdin.read()
        else:
            if not text.is_file():
                raise InputError("no such file", path=str(text))
            body = text.read_text(encoding="utf-8", errors="replace")
        candidates += extract_urls(body)
    if not candidates and text is None:
        raise InputError("nothing to match: give URLs or --text FILE")
    failed = 0
    for u in urls or []:
        try:
            normalise_url(u)
        except InputError as exc:
            failed += 1
            _report_error(u, exc, as_json)
    with _session() as session:
        matches = match_urls(session, candidates, list(bank) if bank else None)
    for m in matches:
        if as_json:
            _emit(m.to_dict())
        else:
            how = "exact" if m.exact else f"under {m.matched}"
            out.print(
                f"{m.url}  MATCH  bank={m.bank}  {m.signal_type}  ({how})"
                f"  category={m.category or '-'}  source={m.source or '-'}"
                f"  external_id={m.external_id or '-'}"
            )
    if not matches and not as_json:
        out.print(f"no match ({len(candidates)} URL(s) checked)")
    raise typer.Exit(2 if failed else (0 if matches else 1))


@url_app.command("normalise")
def url_normalise(urls: Annotated[list[str], typer.Argument(help="URLs.")]) -> None:
    """Print the normal form and its MD5 (the url_md5 signal) of each URL."""
    from safeguard.media.urls import normalise_url, url_md5

    failed = 0
    for u in urls:
        try:
            sys.stdout.write(f"{normalise_url(u)}\t{url_md5(u)}\n")
        except InputError as exc:
            failed += 1
            _report_error(u, exc, False)
    if failed:
        raise typer.Exit(2)
