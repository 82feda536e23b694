"""The on-device matching commands: key, export (full and delta), and a device's match."""

from __future__ import annotations

import json
from pathlib import Path

from client_helpers import random_hashes


def test_export_and_match_full_then_delta(cli, add_to_bank, published, photos: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "keys" / "signing.pem"
    created = cli("client-key", "create", "--out", key)
    assert created.exit_code == 0 and key.exists() and Path(f"{key}.pub").exists()
    assert (key.stat().st_mode & 0o777) == 0o600
    assert cli("client-key", "create", "--out", key).exit_code == 2  # never overwritten silently

    add_to_bank("known", random_hashes(200))
    full = tmp_path / "known.bundle"
    exported = cli("export-client-bundle", "--bank", "known", "--out", full, "--key", key, "--json")
    assert exported.exit_code == 0, exported.stderr
    summary = json.loads(exported.stdout)
    assert summary["kind"] == "full" and summary["hashes"] == 200 and summary["total"] == 200
    version = summary["version"]

    image = photos / "bridge-mods" / "high-contrast.jpg"
    args = ["client", "match", image, "--bundle", full, "--public-key", f"{key}.pub", "--json"]
    miss = cli(*args)
    assert miss.exit_code == 1 and json.loads(miss.stdout)["matched"] is False

    add_to_bank("known", [published["bridge-mods/aaa-orig.jpg"]], prefix="NEW")
    delta = tmp_path / "known.delta"
    made = cli("export-client-bundle", "--bank", "known", "--out", delta, "--key", key, "--since", version)
    assert made.exit_code == 0 and "delta since" in made.stdout
    hit = cli(*args, "--delta", delta, "--sender-id", "acct-7")
    assert hit.exit_code == 0, hit.stderr
    report = json.loads(hit.stdout)
    assert report["matched"] and report["bundle_version"] > version
    assert report["submission"] == {"sender_id": "acct-7", "recipient_ids": [], "pdq": report["pdq"]}
    assert len(delta.read_bytes()) < len(full.read_bytes()) / 10

    stale = cli(*args, "--current-version", version + 5)
    assert stale.exit_code == 2 and "older than the version this device has" in stale.stderr

    tampered = tmp_path / "tampered.bundle"
    data = bytearray(full.read_bytes())
    data[len(data) // 2] ^= 0x40
    tampered.write_bytes(bytes(data))
    refused = cli("client", "match", image, "--bundle", tampered, "--public-key", f"{key}.pub")
    assert refused.exit_code == 2 and "signature does not verify" in refused.stderr


def test_export_errors_are_clear(cli, add_to_bank, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_to_bank("known", random_hashes(3))
    out = tmp_path / "b.bundle"
    missing_key = cli("export-client-bundle", "--bank", "known", "--out", out, "--key", tmp_path / "none.pem")
    assert missing_key.exit_code == 2 and "client-key create" in missing_key.stderr
    key = tmp_path / "k.pem"
    assert cli("client-key", "create", "--out", key).exit_code == 0
    no_bank = cli("export-client-bundle", "--bank", "nope", "--out", out, "--key", key)
    assert no_bank.exit_code == 2 and "no bank named 'nope'" in no_bank.stderr
    bad_since = cli("export-client-bundle", "--bank", "known", "--out", out, "--key", key, "--since", 999)
    assert bad_since.exit_code == 2 and "--since 999" in bad_since.stderr
    assert not out.exists()
