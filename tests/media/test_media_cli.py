"""The media commands: output shapes, exit statuses, and errors that name the input."""

from __future__ import annotations

import json
from pathlib import Path

ORIG = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_hash_json_one_object_per_file(run_cli, conformance: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    args = [
        "hash",
        "--json",
        conformance / "bridge-mods" / "aaa-orig.jpg",
        conformance / "misc" / "small.jpg",
        empty,
    ]
    result = run_cli(*args)
    assert result.exit_code == 2
    records = lines(result.stdout)
    assert [r["path"] for r in records] == [str(a) for a in args[2:]]
    first, weak, failed = records
    assert {"path", "pdq", "pdq_quality", "md5", "sha256"} <= set(first)
    assert first["pdq_quality"] == 100 and first["too_weak"] is False and len(first["pdq"]) == 64
    assert weak["too_weak"] is True and weak["pdq_quality"] < 50
    assert failed["error"] == f"{empty}: empty file"


def test_hash_dihedral_and_directory(run_cli, conformance: Path) -> None:
    result = run_cli("hash", "--json", "--dihedral", conformance / "dih")
    assert result.exit_code == 0
    records = lines(result.stdout)
    assert len(records) == 8 and all(len(r["pdq_dihedral"]) == 8 for r in records)


def test_bank_and_match_exit_statuses(run_cli, media_db: str, conformance: Path, tmp_path: Path) -> None:
    bank_csv = tmp_path / "bank.csv"
    bank_csv.write_text(f"{ORIG},pdq,test,demo-list,E1\nnot-a-hash,pdq\n", "utf-8")
    assert run_cli("bank", "create", "demo").exit_code == 0
    imported = run_cli("bank", "import", "demo", bank_csv, "--json")
    assert imported.exit_code == 1
    report = lines(imported.stdout)[0]
    assert (report["added"], report["duplicates"], report["rejected"]) == (1, 0, 1)
    assert report["rejections"][0]["where"] == "line 2"
    again = run_cli("bank", "import", "demo", bank_csv, "--strict")
    assert again.exit_code == 2 and "nothing imported" in again.stderr
    listed = lines(run_cli("bank", "list", "--json").stdout)
    assert listed == [
        {
            "name": "demo",
            "description": "",
            "created_at": listed[0]["created_at"],
            "entries": 1,
            "counts": {"pdq": 1},
        }
    ]

    edit = conformance / "bridge-mods" / "sharpen-a-lot.jpg"
    hit = run_cli("match", edit, "--bank", "demo", "--json")
    assert hit.exit_code == 0
    match = lines(hit.stdout)[0]["matches"][0]
    assert match["bank"] == "demo" and match["external_id"] == "E1" and match["distance"] <= 31
    assert match["source"] == "demo-list" and match["category"] == "test"
    miss = run_cli("match", conformance / "misc" / "wee.jpg", "--all")
    assert miss.exit_code == 1 and "no match" in miss.stdout
    rotated = conformance / "dih" / "bridge-2-rotate-90.jpg"
    assert run_cli("match", rotated, "--all").exit_code == 1
    assert run_cli("match", rotated, "--all", "--dihedral").exit_code == 0
    assert run_cli("match", "--pdq", ORIG, "--all").exit_code == 0
    bad = run_cli("match", "--pdq", ORIG[:-2], "--all")
    assert bad.exit_code == 2 and "64 hex characters, got 62" in bad.stderr
    assert run_cli("match", edit).exit_code == 2  # neither --bank nor --all
    assert run_cli("match", edit, "--bank", "nope").exit_code == 2

    exported = run_cli("bank", "export", "demo")
    assert exported.stdout.splitlines()[0] == "hash,signal_type,category,source,external_id,added_at"
    assert exported.stdout.splitlines()[1].startswith(f"{ORIG},pdq,test,demo-list,E1,")
    assert run_cli("bank", "remove", "demo", "--yes").exit_code == 0
    missing = run_cli("bank", "export", "demo")
    assert missing.exit_code == 2 and missing.stdout == ""
    assert lines(run_cli("bank", "list", "--json").stdout) == []


def test_url_commands(run_cli, media_db: str, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("https://www.listed.example/page/\n", "utf-8")
    assert run_cli("url", "import", "url-list", urls, "--create").exit_code == 0
    text = tmp_path / "chat.txt"
    text.write_text("look at http://listed.example/page?, cool", "utf-8")
    found = run_cli("url", "match", "--text", text, "--json")
    assert found.exit_code == 0
    assert lines(found.stdout)[0]["normalised"] == "listed.example/page"
    assert run_cli("url", "match", "https://clean.example/").exit_code == 1
    assert run_cli("url", "match", "http://").exit_code == 2
    normal = run_cli("url", "normalise", "HTTPS://WWW.Listed.Example:443/page/")
    assert normal.stdout.split("\t")[0] == "listed.example/page"
