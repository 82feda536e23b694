"""On-device matching commands: ``export-client-bundle``, ``client-key create`` and
``client match`` (what a device does, for testing and for platforms without an app SDK).

Exit status of ``client match``: 0 = a match, 1 = no match, 2 = error (a bad,
tampered or stale bundle, a bad key or image).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safeguard.cli.app import app

client_app = typer.Typer(help="On-device matching: check a client bundle as a device would.", no_args_is_help=True)
key_app = typer.Typer(help="Ed25519 keys that sign client bundles.", no_args_is_help=True)
app.add_typer(client_app, name="client")
app.add_typer(key_app, name="client-key")

out = Console(highlight=False, soft_wrap=True)

DEFAULT_KEY_NAME = "client-signing-key.pem"


def _default_key() -> Path:
    from safeguard.config import get_settings

    return get_settings().data_dir / DEFAULT_KEY_NAME


@key_app.command("create")
def key_create(
    out_path: Annotated[Path | None, typer.Option("--out", help=f"Private key file (default: DATA_DIR/{DEFAULT_KEY_NAME}); the public key goes to FILE.pub.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing key.")] = False,
) -> None:
    """Create an Ed25519 signing key pair for client bundles."""
    from safeguard.client.keys import create_key_pair, key_id, load_private_key

    private_path, public_path = create_key_pair(out_path or _default_key(), overwrite=force)
    fingerprint = key_id(load_private_key(private_path).public_key())
    out.print(f"private key {private_path} (keep it secret)\npublic key  {public_path} (ship it with the app)")
    out.print(f"key id      {fingerprint}")


@app.command("export-client-bundle")
def export_client_bundle(
    bank: Annotated[str, typer.Option("--bank", "-b", help="Bank to export.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Bundle file to write.")],
    since: Annotated[int | None, typer.Option("--since", help="Only entries added since this bundle version (a delta).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help=f"Ed25519 private key (default: DATA_DIR/{DEFAULT_KEY_NAME}).")] = None,
    valid_days: Annotated[float, typer.Option("--valid-days", help="Devices refuse the bundle after this many days.")] = 7.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Write a signed snapshot (or delta) of a bank's PDQ hashes and the policy thresholds."""
    from safeguard.client.export import export_bundle
    from safeguard.client.keys import load_private_key
    from safeguard.errors import InputError
    from safeguard.store.db import session_scope

    key_path = key or _default_key()
    if not key_path.exists():
        raise InputError(f"no signing key (create one with 'safeguard client-key create --out {key_path}')", path=str(key_path))
    private_key = load_private_key(key_path)
    with session_scope() as session:
        data, summary = export_bundle(session, bank, private_key, since=since, valid_days=valid_days)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out_path)
    summary["path"] = str(out_path)
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        return
    kind = "delta since " + str(since) if since is not None else "full snapshot"
    out.print(
        f"wrote {out_path}: bank {summary['bank']} version {summary['version']} ({kind}), "
        f"{summary['hashes']:,} of {summary['total']:,} PDQ hashes, {summary['bytes']:,} bytes, "
        f"valid until {summary['valid_until']}"
    )


@client_app.command("match")
def client_match(
    image: Annotated[Path, typer.Argument(help="Image file to hash and match on this machine.")],
    bundle: Annotated[Path, typer.Option("--bundle", help="Client bundle (full snapshot).")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The service's Ed25519 public key (PEM).")],
    delta: Annotated[list[Path] | None, typer.Option("--delta", help="Delta bundles to apply, in order (repeatable).")] = None,
    current_version: Annotated[int | None, typer.Option("--current-version", help="Version this device already has (older bundles are refused).")] = None,
    sender_id: Annotated[str | None, typer.Option("--sender-id", help="Also print the POST /v1/media hash-only body for this sender.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="index (fast) or scan (low memory).")] = "index",
    as_json: Annotated[bool, typer.Option("--json", help="Print the match report as JSON.")] = False,
) -> None:
    """Verify a bundle, hash IMAGE in memory and match it: prints the match report (never the image)."""
    from safeguard.client import ClientMatcher, apply_delta, load_public_key, verify_bundle
    from safeguard.errors import InputError

    def read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=str(path)) from None

    key = load_public_key(public_key)
    snapshot = verify_bundle(read(bundle), key, current_version=current_version)
    for path in delta or []:
        snapshot = apply_delta(snapshot, verify_bundle(read(path), key))
    report = ClientMatcher(snapshot, mode=mode).match_image(read(image))
    body = report.to_dict()
    if sender_id is not None and report.matched:
        body["submission"] = report.to_submission(sender_id)
    if as_json:
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        weak = " (too weak to match)" if report.too_weak else ""
        out.print(f"{image}: pdq={report.pdq} quality={report.pdq_quality}{weak}")
        for m in report.matches:
            out.print(f"  match: bank {report.bank} entry {m.entry_id} distance {m.distance}")
        if not report.matches:
            out.print("  no match")
        if "submission" in body:
            out.print(f"  POST /v1/media {json.dumps(body['submission'])}")
    raise typer.Exit(0 if report.matched else 1)
