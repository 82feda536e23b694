"""Hash banks: idempotent imports with counts and reasons, all-or-nothing failures,
NCMEC XML and threatexchange formats, export round trip, and matching with metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from safeguard.errors import InputError
from safeguard.media import banks
from safeguard.media.importers import ImportRow
from safeguard.media.matching import match_hashes
from safeguard.media.models import HashBank, HashBankEntry
from safeguard.store.db import session_scope

ORIG = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"
OTHER = "e64cc9d91e623842f8d1f1d9a398e78c9f199a3bd87924f2b7e11e0bf061b064"
MD5 = "d35c785545392755e7e4164457657269"


def flip_hex(value: str, bits: int) -> str:
    number = int(value, 16)
    for b in range(bits):
        number ^= 1 << (b * 7)
    return f"{number:064x}"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_CSV = f"""hash,signal_type,category,source,external_id
{ORIG},pdq,test-category,list-a,A1
{OTHER},PDQ,test-category,list-a,A2
{MD5},md5,,list-a,A3
{ORIG},pdq,test-category,list-b,B1
"""

BAD_CSV = f"""{ORIG},pdq,cat,src,X1
{ORIG[:-1]},pdq
{"z" * 64},pdq
{MD5},sha1
{MD5}
,md5
{MD5},md5,cat,src,X2,extra
{ORIG},pdq,cat,src,X1
"""


def entry_count(url: str | None = None) -> int:
    with session_scope(url) as session:
        return int(session.scalar(select(func.count()).select_from(HashBankEntry)) or 0)


def test_create_list_remove(any_db: str) -> None:
    with session_scope() as s:
        banks.create_bank(s, "known-images", "benign stand-ins")
        with pytest.raises(InputError, match="already exists"):
            banks.create_bank(s, "known-images")
        with pytest.raises(InputError, match="bank name"):
            banks.create_bank(s, "bad name!")
    with session_scope() as s:
        summary = banks.list_banks(s)
        assert [(b.name, b.description, b.total) for b in summary] == [
            ("known-images", "benign stand-ins", 0)
        ]
        assert banks.remove_bank(s, "known-images") == 0
        with pytest.raises(InputError, match="no bank named 'nope'"):
            banks.remove_bank(s, "nope")


def test_csv_import_is_idempotent_with_counts(any_db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "list.csv", GOOD_CSV)
    with session_scope() as s:
        report = banks.import_file(s, "bank1", path, create=True)
    assert (report.added, report.duplicates, report.rejected_count) == (4, 0, 0)
    with session_scope() as s:
        again = banks.import_file(s, "bank1", path)
    assert (again.added, again.duplicates, again.rejected_count) == (0, 4, 0)
    assert entry_count() == 4
    with session_scope() as s:
        assert banks.list_banks(s)[0].counts == {"pdq": 3, "md5": 1}


def test_bad_rows_are_rejected_with_line_and_reason(media_db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", BAD_CSV)
    with session_scope() as s:
        report = banks.import_file(s, "bank1", path, create=True)
    assert report.added == 1 and report.duplicates == 1
    assert report.rejected == [
        ("line 2", "PDQ hash must be 64 hex characters, got 63"),
        ("line 3", "PDQ hash must be hexadecimal (0-9, a-f)"),
        ("line 4", "unsupported signal type 'sha1' (supported: md5, pdq, sha256, url, url_md5, vpdq)"),
        ("line 5", "expected 2-5 fields (hash, signal_type, category, source, external_id), got 1"),
        ("line 6", "empty hash value"),
        ("line 7", "expected 2-5 fields (hash, signal_type, category, source, external_id), got 6"),
    ]


def test_strict_or_broken_import_leaves_no_partial_bank(media_db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", BAD_CSV)
    strict = r"6 row\(s\) rejected, nothing imported.*line 2"
    with pytest.raises(InputError, match=strict), session_scope() as s:
        banks.import_file(s, "fresh", path, create=True, strict=True)
    broken = write(tmp_path, "broken.csv", f'hash,signal_type\n{ORIG},pdq\n"{MD5},md5\n')
    with pytest.raises(InputError, match=r"broken\.csv"), session_scope() as s:
        banks.import_file(s, "fresh", broken, create=True, fmt="csv")
    unknown = write(tmp_path, "cols.csv", f"hash,signal_type,colour\n{ORIG},pdq,red\n")
    columns = r"cols\.csv, line 1: unknown column\(s\) colour"
    with pytest.raises(InputError, match=columns), session_scope() as s:
        banks.import_file(s, "fresh", unknown, create=True)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(HashBank)) == 0
    assert entry_count() == 0
    with pytest.raises(InputError, match="no bank named 'absent'"), session_scope() as s:
        banks.import_file(s, "absent", write(tmp_path, "ok.csv", GOOD_CSV))


NCMEC_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
    <images count="3" maxTimestamp="2017-10-24T15:10:00Z">
        <image>
            <member id="42">Example Member</member>
            <timestamp>2017-10-24T15:00:00Z</timestamp>
            <id>image1</id>
            <classification>A1</classification>
            <fingerprints>
                <md5>{MD5}</md5>
                <sha1>a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1</sha1>
                <pdq>{ORIG}</pdq>
            </fingerprints>
        </image>
        <image>
            <member id="42">Example Member</member>
            <id>image2</id>
            <classification>B1</classification>
            <fingerprints><md5>not-a-hash</md5></fingerprints>
        </image>
        <deletedImage>
            <member id="43">Example Member2</member>
            <id>image4</id>
        </deletedImage>
    </images>
    <videos count="1" maxTimestamp="2017-10-24T15:20:00Z">
        <video>
            <member id="42">Example Member</member>
            <id>video1</id>
            <fingerprints><md5>b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1</md5></fingerprints>
        </video>
    </videos>
</queryResult>
"""


def test_ncmec_xml_import_and_tombstones(any_db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "entries.xml", NCMEC_XML)
    with session_scope() as s:
        report = banks.import_file(s, "ncmec", path, create=True)
    assert (report.added, report.duplicates, report.removed) == (3, 0, 0)
    assert report.skipped == {"fingerprint type 'sha1' not matched on": 1}
    assert report.rejected == [("entry 2 ('image2') md5", "MD5 must be 32 hex characters, got 10")]
    with session_scope() as s:
        found = match_hashes(s, md5=MD5, banks=["ncmec"])
    assert [(m.external_id, m.category, m.source, m.distance) for m in found] == [
        ("image1", "A1", "ncmec", 0)
    ]
    tombstone = write(
        tmp_path,
        "delete.xml",
        '<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images>'
        "<deletedImage><member id='42'>M</member><id>image1</id></deletedImage>"
        "</images></queryResult>",
    )
    with session_scope() as s:
        removed = banks.import_file(s, "ncmec", tombstone)
    assert removed.removed == 2 and entry_count() == 1


def test_hostile_xml_is_refused(media_db: str, tmp_path: Path) -> None:
    bomb = write(
        tmp_path,
        "bomb.xml",
        '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><queryResult>&b;</queryResult>',
    )
    with pytest.raises(InputError, match=r"bomb\.xml: refused unsafe XML"), session_scope() as s:
        banks.import_file(s, "x", bomb, create=True)
    malformed = write(tmp_path, "cut.xml", "<queryResult><images><image>")
    with pytest.raises(InputError, match=r"cut\.xml.*malformed XML"), session_scope() as s:
        banks.import_file(s, "x", malformed, create=True)


def test_threatexchange_formats(media_db: str, tmp_path: Path) -> None:
    te_file = write(
        tmp_path,
        "signals.txt",
        f"pdq {ORIG}\nvideo_md5 {MD5}\nurl_md5 {'ab' * 16}\nphoto_nonsense 123\nlonely\n",
    )
    with session_scope() as s:
        report = banks.import_file(s, "te", te_file, fmt="te-file", create=True, source="te-local")
    assert report.added == 3
    assert [r for _, r in report.rejected] == [
        "unsupported signal type 'photo_nonsense' (supported: md5, pdq, sha256, url, url_md5, vpdq)",
        "expected '<signal_type> <signal>'",
    ]
    te_csv = write(
        tmp_path,
        "dataset.csv",
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{OTHER},Sample Collab,POSITIVE_CLASS,tag1 tag2\n"
        f"pdq,{ORIG},Sample Collab,NEGATIVE_CLASS,\n",
    )
    with session_scope() as s:
        report = banks.import_file(s, "te", te_csv)
    assert report.added == 1
    assert report.skipped == {"opinion is NEGATIVE_CLASS (marked not a match)": 1}
    with session_scope() as s:
        found = match_hashes(s, pdq=OTHER, banks=["te"])
    assert [(m.source, m.category) for m in found] == [("Sample Collab", "tag1 tag2")]


def test_export_round_trip(media_db: str, tmp_path: Path) -> None:
    import csv
    import io

    with session_scope() as s:
        banks.import_file(s, "b1", write(tmp_path, "l.csv", GOOD_CSV), create=True)
    with session_scope() as s:
        rows = list(banks.export_rows(s, "b1"))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(banks.EXPORT_COLUMNS)
    writer.writerows(rows)
    exported = write(tmp_path, "export.csv", buffer.getvalue())
    with session_scope() as s:
        back = banks.import_file(s, "b2", exported, create=True)
        again = banks.import_file(s, "b1", exported)
    assert (back.added, back.rejected_count) == (4, 0)
    assert (again.added, again.duplicates) == (0, 4)


def test_match_hashes_distances_metadata_and_cache(any_db: str, tmp_path: Path) -> None:
    with session_scope() as s:
        banks.import_file(s, "b1", write(tmp_path, "l.csv", GOOD_CSV), create=True)
        banks.create_bank(s, "empty")
    near = flip_hex(ORIG, 10)
    with session_scope() as s:
        found = match_hashes(s, pdq=near, md5=MD5)
    assert [(m.bank, m.signal_type, m.distance, m.source, m.external_id) for m in found] == [
        ("b1", "md5", 0, "list-a", "A3"),
        ("b1", "pdq", 10, "list-a", "A1"),
        ("b1", "pdq", 10, "list-b", "B1"),
    ]
    assert found[1].category == "test-category" and found[1].value == ORIG
    with session_scope() as s:
        assert match_hashes(s, pdq=flip_hex(ORIG, 32)) == []
        assert len(match_hashes(s, pdq=flip_hex(ORIG, 32), max_distance=32)) == 2
    # New entries reach the cached index (added incrementally)...
    extra = flip_hex(OTHER, 20)
    with session_scope() as s:
        banks.import_rows(s, "b1", [ImportRow("line 1", "pdq", extra, external_id="N1")])
    with session_scope() as s:
        assert [m.external_id for m in match_hashes(s, pdq=extra, max_distance=0)] == ["N1"]
    # ...and removals too (the index is rebuilt and swapped).
    with session_scope() as s:
        s.execute(HashBankEntry.__table__.delete().where(HashBankEntry.external_id == "B1"))
    with session_scope() as s:
        assert [m.external_id for m in match_hashes(s, pdq=ORIG, banks=["b1"])] == ["A1"]
        with pytest.raises(InputError, match="no bank named 'missing'"):
            match_hashes(s, pdq=ORIG, banks=["missing"])
        with pytest.raises(InputError, match="64 hex characters"):
            match_hashes(s, pdq="abc")
        with pytest.raises(InputError, match="hexadecimal"):
            match_hashes(s, md5="x" * 32)


def test_vpdq_bank_matching(media_db: str, tmp_path: Path, videos: dict[str, Path]) -> None:
    from safeguard.media.hashing import hash_file
    from safeguard.media.matching import match_media

    clip = hash_file(videos["clip"])
    rows = [
        ImportRow("line 1", "vpdq", clip.to_signal(), category="c", external_id="V1"),
        ImportRow("line 2", "vpdq", "[]", external_id="V2"),
    ]
    with session_scope() as s:
        report = banks.import_rows(s, "videos", rows, create=True)
    assert report.added == 1 and report.rejected[0][0] == "line 2"
    with session_scope() as s:
        found = match_media(s, hash_file(videos["recoded"]))
        assert [(m.external_id, m.signal_type) for m in found] == [("V1", "vpdq")]
        assert found[0].query_match_percent >= 80
        assert match_media(s, hash_file(videos["other"])) == []


def test_index_refresh_does_not_block_other_matches(
    media_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from safeguard.media import matching

    with session_scope() as s:
        banks.import_file(s, "b1", write(tmp_path, "l.csv", GOOD_CSV), create=True)
    with session_scope() as s:
        assert len(match_hashes(s, pdq=ORIG)) == 2  # builds and caches the index
    with session_scope() as s:
        banks.import_rows(s, "b1", [ImportRow("line 1", "pdq", ORIG, external_id="N1")])

    release = threading.Event()
    refreshing = threading.Event()
    real_refresh = matching._IndexCache._refresh

    def slow_refresh(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        refreshing.set()
        assert release.wait(30), "the test never released the rebuild"
        return real_refresh(self, *args, **kwargs)

    monkeypatch.setattr(matching._IndexCache, "_refresh", slow_refresh)
    results: dict[str, list] = {}

    def run(name: str) -> None:
        with session_scope() as s:
            results[name] = [m.external_id for m in match_hashes(s, pdq=ORIG)]

    rebuilder = threading.Thread(target=run, args=("rebuilder",))
    rebuilder.start()
    assert refreshing.wait(30)
    reader = threading.Thread(target=run, args=("reader",))
    reader.start()
    reader.join(30)
    release.set()
    rebuilder.join(30)
    # The reader answered from the previous index while the refresh was held up;
    # the refreshing caller sees the new entry.
    assert sorted(results["reader"]) == ["A1", "B1"]
    assert sorted(results["rebuilder"]) == ["A1", "B1", "N1"]
